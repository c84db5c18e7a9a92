// slokit's SLO dashboards as a jsonnet library (a monitoring-mixin style object).
//
// Everything is a hidden field that reads `self`, so a user overrides one piece and every dashboard
// that uses it changes:
//
//   local slokit = import 'slokit.libsonnet';
//   function(model) (slokit + {
//     config+:: { refresh: '30s' },
//     sloPanels(slo):: super.sloPanels(slo) + [self.panel.timeseries('Pods', [self.target('up', '{{pod}}')])],
//   }).dashboards(model)
//
// `model` comes from slokit (slokit/generate/dashboards.py: model()): SLOs with their windows, burn
// thresholds, selectors and ready-made queries, plus the names of the recorded series. Nothing here
// recomputes what the rules define.
{
  config:: {
    datasource: { type: 'prometheus', uid: '${datasource}' },
    schemaVersion: 39,
    refresh: '1m',
    time: { from: 'now-7d', to: 'now' },
    timezone: 'browser',
    tags: ['slokit'],
    colors: { ok: 'green', ticket: 'orange', page: 'red', warn: 'yellow' },
    width: 24,  // Grafana's grid
    burnUnit: 'suffix:x',  // burn rates read as multiples of the budget: 14.4x
  },

  // ---------------------------------------------------------------- building blocks

  // One query; refIds are assigned by the panel constructors.
  target(expr, legend='', instant=false):: {
    datasource: $.config.datasource,
    editorMode: 'code',
    expr: expr,
    legendFormat: legend,
    range: !instant,
    instant: instant,
  } + (if instant then { format: 'table' } else {}),

  withRefIds(targets):: std.mapWithIndex(function(i, t) t { refId: std.char(65 + i) }, targets),

  // Threshold steps from a base colour and [value, colour] pairs.
  steps(base, pairs):: {
    mode: 'absolute',
    steps: [{ color: base, value: null }] + [{ color: p[1], value: p[0] } for p in pairs],
  },

  // Burn-rate colours: above 1 the budget runs out before the period ends; the table's factors above that.
  burnSteps(factors)::
    local top = std.foldl(std.max, factors, 0);
    $.steps($.config.colors.ok, [[1, $.config.colors.warn]] + [
      [f, if f == top then $.config.colors.page else $.config.colors.ticket]
      for f in std.set(factors)
      if f > 1
    ]),

  panel:: {
    base(type, title, targets, w, h, description=''):: {
      type: type,
      title: title,
      description: description,
      datasource: $.config.datasource,
      gridPos: { w: w, h: h },
      targets: $.withRefIds(targets),
    },

    timeseries(title, targets, unit='short', w=12, h=8, description='', thresholds=null, min=null, max=null)::
      self.base('timeseries', title, targets, w, h, description) {
        fieldConfig: {
          defaults: {
            unit: unit,
            color: { mode: 'palette-classic' },
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 10,
              showPoints: 'never',
              spanNulls: true,
              thresholdsStyle: { mode: if thresholds == null then 'off' else 'line+area' },
            },
            thresholds: if thresholds == null then $.steps($.config.colors.ok, []) else thresholds,
          } + (if min == null then {} else { min: min }) + (if max == null then {} else { max: max }),
          overrides: [],
        },
        options: {
          legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
      },

    stat(title, targets, unit='short', thresholds=null, w=6, h=4, description='', decimals=null)::
      self.base('stat', title, targets, w, h, description) {
        fieldConfig: {
          defaults: {
            unit: unit,
            color: { mode: 'thresholds' },
            thresholds: if thresholds == null then $.steps($.config.colors.ok, []) else thresholds,
            mappings: [],
          } + (if decimals == null then {} else { decimals: decimals }),
          overrides: [],
        },
        options: {
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
          colorMode: 'value',
          graphMode: 'area',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
        },
      },

    // A state timeline with named states: mapping = { value: [text, colour] }.
    states(title, targets, mapping, w=12, h=6, description='')::
      self.base('state-timeline', title, targets, w, h, description) {
        fieldConfig: {
          defaults: {
            color: { mode: 'thresholds' },
            thresholds: $.steps($.config.colors.ok, []),
            mappings: [{
              type: 'value',
              options: {
                [k]: { text: mapping[k][0], color: mapping[k][1], index: std.parseInt(k) }
                for k in std.objectFields(mapping)
              },
            }],
          },
          overrides: [],
        },
        options: { showValue: 'auto', mergeValues: true, rowHeight: 0.9, legend: { showLegend: false } },
      },

    // A table of instant queries merged on their labels: columns = [[refId title, unit, thresholds]].
    table(title, targets, columns, sortBy, w=24, h=9, description='')::
      self.base('table', title, targets, w, h, description) {
        fieldConfig: {
          defaults: { custom: { align: 'auto', cellOptions: { type: 'auto' } } },
          overrides: [
            {
              matcher: { id: 'byName', options: c[0] },
              properties: [{ id: 'unit', value: c[1] }] + (
                if c[2] == null then [] else [
                  { id: 'thresholds', value: c[2] },
                  { id: 'custom.cellOptions', value: { type: 'color-background' } },
                ]
              ),
            }
            for c in columns
          ],
        },
        options: { showHeader: true, sortBy: [{ displayName: sortBy, desc: false }] },
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: { slo_service: 'Service', slo_name: 'SLO' } + {
                ['Value #' + std.char(65 + i)]: columns[i][0]
                for i in std.range(0, std.length(columns) - 1)
              },
              indexByName: { slo_service: 0, slo_name: 1 } + {
                ['Value #' + std.char(65 + i)]: i + 2
                for i in std.range(0, std.length(columns) - 1)
              },
            },
          },
          { id: 'sortBy', options: { fields: {}, sort: [{ field: sortBy, desc: false }] } },
        ],
      },

    row(title, description=''):: { type: 'row', title: title, collapsed: false, panels: [], gridPos: { w: 24, h: 1 } },
  },

  // Place panels left to right, wrapping at the grid width; rows start a new line. Ids follow order.
  layout(panels)::
    local width = $.config.width;
    local step(st, p) =
      local w = p.gridPos.w, h = p.gridPos.h;
      local wrap = p.type == 'row' || st.x + w > width;
      local x = if wrap then 0 else st.x;
      local y = if wrap then st.y + st.rowH else st.y;
      {
        x: x + w,
        y: y,
        rowH: if wrap then h else std.max(st.rowH, h),
        out: st.out + [p { id: std.length(st.out) + 1, gridPos: { x: x, y: y, w: w, h: h } }],
      };
    std.foldl(step, panels, { x: 0, y: 0, rowH: 0, out: [] }).out,

  // ---------------------------------------------------------------- template variables and annotations

  variable:: {
    datasource: {
      name: 'datasource',
      label: 'Data source',
      type: 'datasource',
      query: 'prometheus',
      regex: '',
      hide: 0,
      current: {},
      options: [],
      refresh: 1,
    },
    // A query variable; `definition` is the label_values(...) text Grafana shows.
    query(name, label, definition, multi=true, current=null):: {
      name: name,
      label: label,
      type: 'query',
      datasource: $.config.datasource,
      definition: definition,
      query: { query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
      refresh: 2,
      regex: '',
      sort: 1,
      hide: 0,
      multi: multi,
      includeAll: multi,
      options: [],
      current: if current == null then (if multi then { text: ['All'], value: ['$__all'] } else {}) else current,
    },
    custom(name, label, values):: {
      name: name,
      label: label,
      type: 'custom',
      query: std.join(',', values),
      hide: 0,
      multi: false,
      includeAll: false,
      current: { text: values[0], value: values[0] },
      options: [{ text: v, value: v, selected: v == values[0] } for v in values],
    },
  },

  annotation:: {
    builtIn: {
      builtIn: 1,
      datasource: { type: 'grafana', uid: '-- Grafana --' },
      enable: true,
      hide: true,
      iconColor: 'rgba(0, 211, 255, 1)',
      name: 'Annotations & Alerts',
      type: 'dashboard',
    },
    // Runtime decisions posted by `slokit.apply.grafana.annotate` (breaker opened, switch degraded).
    decisions(tag):: {
      datasource: { type: 'grafana', uid: '-- Grafana --' },
      enable: true,
      hide: false,
      iconColor: $.config.colors.ticket,
      name: 'slokit decisions',
      target: { type: 'tags', tags: [tag], matchAny: false, limit: 100 },
    },
    alerts(selector):: {
      datasource: $.config.datasource,
      enable: true,
      hide: false,
      iconColor: $.config.colors.page,
      name: 'SLO alerts firing',
      expr: 'ALERTS{alertstate="firing",' + std.lstripChars(selector, '{'),
      step: '1m',
      titleFormat: '{{alertname}} ({{slo_severity}})',
      textFormat: '{{slo_service}} / {{slo_name}}',
      tagKeys: 'slo_service,slo_name,slo_severity',
      useValueForTime: false,
    },
  },

  dashboard(model, uid, title, panels, variables, annotations, description=''):: {
    uid: uid,
    title: title,
    description: description,
    tags: $.config.tags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: $.config.schemaVersion,
    refresh: $.config.refresh,
    time: $.config.time,
    timezone: $.config.timezone,
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    version: 1,
    templating: { list: [$.variable.datasource] + variables },
    annotations: { list: [$.annotation.builtIn] + annotations },
    links: [{
      type: 'dashboards',
      title: 'SLO dashboards',
      tags: [model.tag],
      asDropdown: true,
      includeVars: false,
      keepTime: true,
      icon: 'external link',
      targetBlank: false,
      tooltip: '',
      url: '',
    }],
    panels: $.layout(panels),
  },

  // ---------------------------------------------------------------- queries over the recorded series

  q:: {
    m(model):: model.metrics,
    // `{slo_service="a",slo_name="b"}` of an SLO, or a selector over variables.
    sli(model, slo, window):: '1 - ' + model.metrics.sli_error + window + slo.selector,
    burn(model, slo, window):: model.metrics.sli_error + window + slo.selector + ' / ' + slo.error_budget_literal,
    series(model, name, selector):: model.metrics[name] + selector,
    bySlo(expr):: 'max by (slo_service, slo_name) (' + expr + ')',
    // The period SLI for SLOs of any period: period burn x budget is the period error ratio.
    periodSli(model, selector)::
      '1 - max by (slo_service, slo_name) (' + model.metrics.period_burn + selector
      + ' * on (slo_service, slo_name) ' + model.metrics.error_budget + selector + ')',
    alertsFiring(selector):: 'ALERTS{alertstate="firing",' + std.lstripChars(selector, '{'),
    // Firing alerts per SLO, 0 for SLOs without any (so table rows line up).
    alertsBySlo(model, selector)::
      'count by (slo_service, slo_name) (' + self.alertsFiring(selector) + ')\nor\n'
      + '0 * max by (slo_service, slo_name) (' + model.metrics.info + selector + ')',
  },

  // ---------------------------------------------------------------- panels; each a function users can replace

  // The SLO table: one row per SLO, worst (least budget left) first.
  sloTable(model, selector, title='SLOs, worst first')::
    local pct = 'percentunit';
    $.panel.table(
      title,
      [
        $.target($.q.bySlo($.q.series(model, 'objective', selector)), instant=true),
        $.target($.q.periodSli(model, selector), instant=true),
        $.target($.q.bySlo($.q.series(model, 'budget_remaining', selector)), instant=true),
        $.target($.q.bySlo($.q.series(model, 'current_burn', selector)), instant=true),
        $.target($.q.alertsBySlo(model, selector), instant=true),
      ],
      [
        ['Objective', pct, null],
        ['SLI over period', pct, null],
        ['Budget remaining', pct, $.steps($.config.colors.page, [[0, $.config.colors.ticket], [0.25, $.config.colors.warn], [0.5, $.config.colors.ok]])],
        ['Current burn', $.config.burnUnit, $.burnSteps(model.burn_thresholds)],
        ['Alerts firing', 'short', $.steps($.config.colors.ok, [[1, $.config.colors.page]])],
      ],
      'Budget remaining',
      description='Objective, SLI over each SLO\'s own period, error budget left, burn rate over the shortest alert window and firing SLO alerts. Sorted by budget remaining, lowest first.',
    ),

  overviewPanels(model, selector):: [
    $.panel.row('All SLOs'),
    $.panel.stat('SLOs', [$.target('count(' + $.q.series(model, 'info', selector) + ')')],
                 description='SLOs with recorded rules in this data source.'),
    $.panel.stat('Budget exhausted', [$.target('count(' + $.q.series(model, 'budget_remaining', selector) + ' <= 0) or vector(0)')],
                 thresholds=$.steps($.config.colors.ok, [[1, $.config.colors.page]]),
                 description='SLOs that spent their whole error budget for the current period.'),
    $.panel.stat('Burning too fast', [$.target('count(' + $.q.series(model, 'current_burn', selector) + ' > 1) or vector(0)')],
                 thresholds=$.steps($.config.colors.ok, [[1, $.config.colors.warn]]),
                 description='SLOs whose current burn rate (shortest alert window) would spend the budget before the period ends.'),
    $.panel.stat('SLO alerts firing', [$.target('count(' + $.q.alertsFiring(selector) + ') or vector(0)')],
                 thresholds=$.steps($.config.colors.ok, [[1, $.config.colors.page]]),
                 description='Page and ticket burn-rate alerts firing now.'),
    $.sloTable(model, selector),
    $.panel.timeseries('Error budget remaining', [$.target($.q.series(model, 'budget_remaining', selector), '{{slo_service}} / {{slo_name}}')],
                       unit='percentunit', thresholds=$.steps($.config.colors.page, [[0, 'transparent']]),
                       description='Share of each SLO\'s error budget left over its period; below 0 the objective is missed.'),
    $.panel.timeseries('Current burn rate', [$.target($.q.series(model, 'current_burn', selector), '{{slo_service}} / {{slo_name}}')],
                       unit=$.config.burnUnit, thresholds=$.burnSteps(model.burn_thresholds),
                       description='Error ratio over the shortest alert window divided by the error budget: 1x spends the budget exactly over the period.'),
  ],

  overview(model)::
    local selector = '{slo_service=~"$service",slo_name=~"$slo"}';
    $.dashboard(
      model,
      model.overview_uid,
      'SLOs / Overview',
      self.overviewPanels(model, selector),
      [
        $.variable.query('service', 'Service', 'label_values(' + model.metrics.info + ', slo_service)'),
        $.variable.query('slo', 'SLO', 'label_values(' + model.metrics.info + '{slo_service=~"$service"}, slo_name)'),
      ],
      [$.annotation.decisions(model.tag)],
      description='Every SLO generated by slokit: objective, SLI, error budget and burn.',
    ),

  // Per-SLO rows of the service dashboard. Numbers in text come formatted from the model (`*_text`, as
  // jsonnet's '%g' prints them): the same text whichever jsonnet engine runs, and no std.format cost.
  conditionText(slo, severity)::
    std.join(' or ', [
      c.short + ' and ' + c.long + ' > ' + c.factor_text + 'x'
      for c in slo.conditions
      if c.severity == severity
    ]),

  burnPanel(model, slo, severity)::
    local conds = [c for c in slo.conditions if c.severity == severity];
    local used = std.flattenArrays([[c.short, c.long] for c in conds]);
    local ws = [w for w in slo.windows if std.member(used, w)];  // shortest first
    $.panel.timeseries(
      'Burn rate: ' + severity + ' windows',
      [$.target($.q.burn(model, slo, w), w) for w in ws],
      unit=$.config.burnUnit,
      thresholds=$.steps('transparent', [[f, $.config.colors[severity]] for f in std.set([c.factor for c in conds])]),
      description='Error ratio per ' + severity + ' alert window divided by the error budget ('
                  + slo.error_budget_text + '). The ' + severity + ' fires when ' + $.conditionText(slo, severity) + '.',
    ),

  sloPanels(model, slo)::
    local pct = 'percentunit';
    local objective = slo.objective_ratio;
    [
      $.panel.row(slo.name + ': ' + slo.objective_text + '% over ' + slo.period_text + ' (' + slo.sli_kind + ' SLI)', slo.description),
      $.panel.stat('SLI over ' + slo.period_text, [$.target($.q.sli(model, slo, slo.period))], pct, decimals=3, w=5,
                   thresholds=$.steps($.config.colors.page, [[objective, $.config.colors.ok]]),
                   description='Good events over the whole period; red below the objective (' + slo.objective_text + '%).'),
      $.panel.stat('Error budget remaining', [$.target($.q.series(model, 'budget_remaining', slo.selector))], pct, w=5,
                   thresholds=$.steps($.config.colors.page, [[0, $.config.colors.ticket], [0.25, $.config.colors.ok]]),
                   description='Share of the error budget (' + slo.error_budget_text + ' of events over ' + slo.period_text + ') not yet spent.'),
      $.panel.stat('Current burn rate', [$.target($.q.series(model, 'current_burn', slo.selector))], $.config.burnUnit, w=5,
                   thresholds=$.burnSteps([c.factor for c in slo.conditions]),
                   description='Burn over ' + slo.shortest + ' (the shortest alert window); 1x spends the budget exactly over ' + slo.period_text + '.'),
      $.panel.stat('Alerts firing', [$.target('count(' + $.q.alertsFiring(slo.selector) + ') or vector(0)')],
                   thresholds=$.steps($.config.colors.ok, [[1, $.config.colors.page]]), w=4,
                   description=if slo.alert_name == null then 'This SLO has no alerts.' else 'Firing ' + slo.alert_name + ' alerts (page or ticket).'),
      $.panel.stat('Budget exhausted in', [$.target($.q.series(model, 'time_to_exhaustion', slo.selector))], 's',
                   thresholds=$.steps($.config.colors.page, [[86400, $.config.colors.ticket], [7 * 86400, $.config.colors.ok]]), w=5,
                   description='At the pace of the period so far, the error budget left lasts this long (empty: no data).'),
      $.panel.timeseries('SLI vs objective', [
        $.target($.q.sli(model, slo, slo.shortest), 'SLI (' + slo.shortest + ')'),
        $.target($.q.sli(model, slo, slo.period), 'SLI (' + slo.period_text + ')'),
        $.target($.q.series(model, 'objective', slo.selector), 'objective'),
      ], pct, thresholds=$.steps($.config.colors.page, [[objective, 'transparent']]),
         description='The SLI over the shortest alert window and over the period, against the objective.'),
      $.panel.timeseries('Error budget remaining over ' + slo.period_text, [
        $.target($.q.series(model, 'budget_remaining', slo.selector), 'budget remaining'),
      ], pct, thresholds=$.steps($.config.colors.page, [[0, 'transparent']]),
         description='1 - period burn rate: how much of the budget is left; below 0 the objective is missed.'),
      $.burnPanel(model, slo, 'page'),
      $.burnPanel(model, slo, 'ticket'),
    ]
    + (if slo.events == null then [] else [
         $.panel.timeseries('Requests and bad events', [
           $.target(slo.events.total, 'all events/s'),
           $.target(slo.events.errors, 'bad events/s'),
         ], 'reqps', description='Rates of all events and of those the SLI counts as bad, straight from the SLI queries.'),
       ])
    + (if slo.latency == null then [] else [
         $.panel.timeseries('Latency vs threshold (' + slo.latency.threshold_text + 's)',
                            [$.target(q.expr, q.legend) for q in slo.latency.queries], 's',
                            thresholds=$.steps('transparent', [[slo.latency.threshold, $.config.colors.page]]),
                            description='Latency quantiles from the histogram; the ' + slo.objective_text + '% quantile must stay under '
                                        + slo.latency.threshold_text + 's.'),
       ]),

  runtimePanels(model):: [
    $.panel.row('Runtime decisions', 'What the slokit runtime did about the burn: breakers, degrade switches, transitions.'),
    $.panel.states('Circuit breakers', [$.target('max by (breaker) (' + model.metrics.breaker_state + '{breaker=~"$breaker"})', '{{breaker}}')],
                   { '0': ['closed', $.config.colors.ok], '1': ['open', $.config.colors.page], '2': ['half-open', $.config.colors.warn] },
                   description='Breaker state exported by the runtime (' + model.metrics.breaker_state + '): closed, open, half-open.'),
    $.panel.states('Degrade switches', [$.target('max by (switch) (' + model.metrics.switch_enabled + '{switch=~"$switch"})', '{{switch}}')],
                   { '0': ['degraded', $.config.colors.ticket], '1': ['on', $.config.colors.ok] },
                   description='Feature switches (' + model.metrics.switch_enabled + '): on, or turned off to shed load.'),
    $.panel.timeseries('Decision transitions', [
      $.target('sum by (target, to_state) (increase(' + model.metrics.transitions + '[$__rate_interval]))', '{{target}} -> {{to_state}}'),
    ], description='Breaker and switch transitions per interval; each is also a structured log line and, when configured, an annotation.'),
    $.panel.timeseries('In-process burn rate', [
      $.target('max by (slo_name, slo_window) (' + model.metrics.runtime_burn + '{slo_service="$service",slo_name=~"$slo"})', '{{slo_name}} {{slo_window}}'),
    ], $.config.burnUnit, description='Burn rates the runtime computed itself; they should track the recorded rules above.'),
  ],

  service(model, service)::
    local slos = service.slos;
    local selector = '{slo_service="$service",slo_name=~"$slo"}';
    $.dashboard(
      model,
      service.uid,
      'SLOs / ' + service.name,
      [$.panel.row('Summary'), $.sloTable(model, selector, 'SLOs of ' + service.name)]
      + std.flattenArrays([self.sloPanels(model, s) for s in slos])
      + self.runtimePanels(model),
      [
        $.variable.custom('service', 'Service', [service.name]),
        $.variable.query('slo', 'SLO', 'label_values(' + model.metrics.info + '{slo_service="$service"}, slo_name)'),
        $.variable.query('breaker', 'Breaker', 'label_values(' + model.metrics.breaker_state + ', breaker)'),
        $.variable.query('switch', 'Switch', 'label_values(' + model.metrics.switch_enabled + ', switch)'),
      ] + [
        // Grouped SLOs: one variable per group label, over the recorded ratios that carry it.
        $.variable.query('group_' + label, label, 'label_values({__name__=~"' + model.metrics.sli_error
                         + '.+",slo_service="$service"}, ' + label + ')')
        for label in service.group_labels
      ],
      [$.annotation.decisions(model.tag), $.annotation.alerts('{slo_service="$service"}')],
      description='SLOs of ' + service.name + ': SLI, error budget, burn per alert window, traffic, latency and runtime decisions.',
    ),

  // Every dashboard: the overview, then one per service.
  dashboards(model):: [self.overview(model)] + [self.service(model, s) for s in model.services],
}
