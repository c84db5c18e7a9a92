"""Pyrra's CRD (pyrra.dev/v1alpha1 ServiceLevelObjective): fields, queries and alert windows as Pyrra's."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from slokit import promql
from slokit.generate import rules
from slokit.generate.files import rule_files
from slokit.spec import SpecError, load, pyrra
from slokit.spec.model import EventsSLI, Guard
from tests.conftest import require
from tests.instrument_helpers import all_rules, ratio_series

DAY = 86400


def slo_file(write_spec, spec: str, metadata: str = "name: api-errors\n  namespace: monitoring") -> str:
    return str(write_spec(f"apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n  {metadata}\n"
                          f"spec:\n{spec}"))


def problems(path: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load([path])
    return [str(p) for p in exc.value.problems]


# Pyrra's own expectations: slo/rules_test.go (Test_windows for 28d; the 14d and 7d objectives' alerts).
@pytest.mark.parametrize("period,expected", [
    (28 * DAY, [("page", "5m", "1h", 14), ("page", "30m", "6h", 7), ("ticket", "2h", "1d", 2),
                ("ticket", "6h", "4d", 1)]),
    (14 * DAY, [("page", "3m", "30m", 14), ("page", "15m", "3h", 7), ("ticket", "1h", "12h", 2),
                ("ticket", "3h", "2d", 1)]),
    (7 * DAY, [("page", "1m", "15m", 14), ("page", "8m", "1h30m", 7), ("ticket", "30m", "6h", 2),
               ("ticket", "1h30m", "1d", 1)]),
])
def test_the_window_table_is_pyrras(period, expected):
    table = pyrra.window_table(period)
    assert [(c.severity, c.short.name, c.long.name, c.factor) for c in table.conditions] == expected


def test_a_ratio_slo_reads_into_the_model(write_spec):
    path = slo_file(write_spec, """
  target: "99.5"
  window: 4w
  description: API requests succeed.
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{job="api",code=~"5.."}'}
      total: {metric: 'http_requests_total{job="api"}'}
      grouping: [route, method]
""", 'name: api-errors\n  namespace: monitoring\n  labels: {prometheus: k8s, "pyrra.dev/team": payments}\n'
     '  annotations: {"pyrra.dev/runbook": "https://runbooks/api"}')
    spec = load([path])
    assert spec.warnings == ()
    (slo,) = spec.slos
    assert slo.key == ("monitoring", "api-errors") and slo.objective == 99.5 and slo.period == 28 * DAY
    assert slo.sli == EventsSLI('sum by (method, route) (rate(http_requests_total{job="api",code=~"5.."}'
                                '[{{.window}}]))',
                                'sum by (method, route) (rate(http_requests_total{job="api"}[{{.window}}]))')
    assert slo.group_by == ("route", "method") and slo.labels == {"team": "payments"}
    assert slo.description == "API requests succeed."
    alerting = slo.alerting
    assert alerting and alerting.name == "ErrorBudgetBurn" and alerting.annotations == {"runbook": "https://runbooks/api"}
    assert alerting.page.labels == {"severity": "critical"} and alerting.ticket.labels == {"severity": "warning"}
    assert slo.table == pyrra.window_table(28 * DAY)
    # Each row waits Pyrra's own `for` (slo/rules.go Windows: 2m, 15m, 1h, 3h at 28d), so the tiers have none.
    assert alerting.page.for_ is None and alerting.ticket.for_ is None
    assert [c.for_ for c in slo.table.conditions] == [120, 900, 3600, 3 * 3600]
    # Pyrra's absent alert (on by default) is the no-data guard, with Pyrra's name, severity label and wait.
    assert alerting.no_data == Guard(enabled=True, severity="page", for_="6m", name="SLOMetricAbsent",
                                     labels={"severity": "critical"})


def test_latency_native_and_bool_gauge_queries(write_spec):
    latency = slo_file(write_spec, """
  target: "95"
  window: 1w
  indicator:
    latency:
      success: {metric: 'http_request_duration_seconds_bucket{job="api",le="0.5"}'}
      total: {metric: 'http_request_duration_seconds_count{job="api"}'}
""")
    (slo,) = load([latency]).slos
    total = 'sum(rate(http_request_duration_seconds_count{job="api"}[{{.window}}]))'
    assert slo.sli == EventsSLI(f'{total}\n-\nsum(rate(http_request_duration_seconds_bucket{{job="api",le="0.5"}}'
                                '[{{.window}}]))', total)
    native = slo_file(write_spec, """
  target: "99"
  window: 2w
  indicator:
    latencyNative:
      latency: 200ms
      total: {metric: 'connect_server_requests_duration_seconds{job="pyrra"}'}
""", "name: connect-latency")
    (slo,) = load([native]).slos
    histogram = 'sum(rate(connect_server_requests_duration_seconds{job="pyrra"}[{{.window}}]))'
    assert slo.key == ("default", "connect-latency")  # no namespace: Kubernetes' default
    assert slo.sli == EventsSLI(f"histogram_count({histogram})\n*\n(1 - histogram_fraction(0, 0.2, {histogram}))",
                                f"histogram_count({histogram})")
    gauge = slo_file(write_spec, """
  target: "99"
  window: 7d
  indicator:
    bool_gauge: {metric: probe_success, grouping: [target]}
""", "name: probes")
    (slo,) = load([gauge]).slos
    count = "sum by (target) (count_over_time(probe_success[{{.window}}]))"
    assert slo.sli == EventsSLI(count + "\n-\nsum by (target) (sum_over_time(probe_success[{{.window}}]))", count)


# Pyrra's own expectations for the absent alert's `for` (slo/rules_test.go: 99% over 28d waits 10m, 99.9% 3m):
# the fastest row's detection of 100% errors (14 x budget x 1h) plus its `for` (2m), rounded to the minute.
@pytest.mark.parametrize("target,period,expected", [(99, 28 * DAY, "10m"), (99.9, 28 * DAY, "3m"),
                                                    (99.5, 28 * DAY, "6m"), (99, 7 * DAY, "3m")])
def test_the_absent_alert_waits_pyrras_absent_duration(target, period, expected):
    assert promql.format_duration(pyrra.absent_for(target, period)) == expected


def test_alerting_switches_and_severities(write_spec):
    base = """
  target: "99"
  window: 7d
  indicator:
    ratio: {errors: {metric: 'x_total{code="500"}'}, total: {metric: x_total}}
"""
    # Burn rates off keeps Pyrra's absent alert (its default), as Pyrra does; both off: recording rules only.
    for off in ("{burnrates: false}", "{disabled: true}"):
        alerting = load([slo_file(write_spec, base + f"  alerting: {off}\n")]).slos[0].alerting
        assert alerting and not alerting.page.enabled and not alerting.ticket.enabled
        assert alerting.no_data.enabled and alerting.no_data.name == "SLOMetricAbsent"
    both_off = slo_file(write_spec, base + "  alerting: {burnrates: false, absent: false}\n")
    assert load([both_off]).slos[0].alerting is None
    no_absent = load([slo_file(write_spec, base + "  alerting: {absent: false}\n")]).slos[0].alerting
    assert no_absent and not no_absent.no_data.enabled and no_absent.page.enabled
    path = slo_file(write_spec, base + "  alerting:\n    name: APIBudgetBurn\n    absentName: APIMetricAbsent\n"
                    "    severities: {fastBurn: page, mediumBurn: high, slowBurn: ticket, absent: info}\n")
    spec = load([path])
    alerting = spec.slos[0].alerting
    assert alerting and alerting.name == "APIBudgetBurn"
    assert alerting.page.labels == {"severity": "page"} and alerting.ticket.labels == {"severity": "ticket"}
    assert (alerting.no_data.name, alerting.no_data.labels) == ("APIMetricAbsent", {"severity": "info"})
    assert spec.warnings == (
        f"{path}:15: warning: spec.alerting.severities.mediumBurn: slokit's alert tiers carry one severity: "
        "fastBurn's",
    )
    bad = slo_file(write_spec, base + "  alerting: {absentName: 'no such-name'}\n")
    assert problems(bad) == [f"{bad}:12: spec.alerting.absentName: 'no such-name' is not a valid alert name "
                             "([a-zA-Z_][a-zA-Z0-9_]*)"]


def test_what_pyrra_refuses_is_refused(write_spec):
    path = slo_file(write_spec, """
  target: "high"
  window: 4w
  indicatr: {}
  indicator:
    ratio:
      errors: {metric: 'sum(rate(x_total{code="500"}[5m]))'}
      total: {metric: x_total}
    latency:
      success: {metric: 'x_bucket{job="a"}'}
      total: {metric: x_count}
""")
    assert problems(path) == [
        f"{path}:8: spec.target: 'high' is not a number (a percentage such as '99.9')",
        f"{path}:10: warning: spec.indicatr: unknown field (did you mean 'indicator'?); ignored",
        f"{path}:11: spec.indicator: needs exactly one of ratio, latency, latencyNative, bool_gauge, got ratio, "
        "latency",
        f"{path}:13: spec.indicator.ratio.errors.metric: must be a plain selector such as "
        'http_requests_total{job="api",code=~"5.."} (Pyrra adds rate() and the window)',
    ]
    path = slo_file(write_spec, """
  target: "0.99"
  window: 4w
  indicator:
    latency:
      success: {metric: 'x_bucket{job="a"}'}
      total: {metric: x_count}
""")
    assert problems(path) == [
        f"{path}:8: warning: spec.target: target is from 0-100 (99), not 0-1 (0.99)",
        f"{path}:12: spec.indicator.latency.success.metric: must match one bucket with an le label, e.g. "
        '..._bucket{le="0.5"}',
    ]


def test_the_prometheus_rule_keeps_the_objects_namespace_and_labels(write_spec):
    path = slo_file(write_spec, """
  target: "99"
  window: 7d
  indicator:
    ratio: {errors: {metric: 'x_total{code="500"}'}, total: {metric: x_total}}
""", "name: api\n  namespace: monitoring\n  labels: {prometheus: k8s, role: alert-rules}")
    files, _ = rule_files(load([path]), "prometheus-operator")
    meta = yaml.safe_load(files["rules/monitoring.yml"])["metadata"]
    assert meta == {"name": "slokit-monitoring", "namespace": "monitoring",
                    "labels": {"prometheus": "k8s", "role": "alert-rules", "app.kubernetes.io/managed-by": "slokit",
                               "slokit.dev/service": "monitoring"}}


def test_alerts_fire_at_pyrras_thresholds_in_promtool(write_spec, tmp_path):
    """A 99% / 28d Pyrra SLO pages when the 5m and 1h error ratios pass 14 x 1% (after Pyrra's `for: 2m`), not at
    13.5x; it tickets when 2h and 1d pass 2 x 1% (after `for: 1h`). The recorded ratios (the 1h rates) are fed
    directly."""
    path = slo_file(write_spec, """
  target: "99"
  window: 4w
  indicator:
    ratio: {errors: {metric: 'http_requests_total{code="500"}'}, total: {metric: http_requests_total}}
""", "name: api\n  namespace: monitoring")
    spec = load([path])
    files, _ = rule_files(spec)
    (tmp_path / "rules.yml").write_text(all_rules(files))

    def ratios(value: float, *windows: str) -> list[dict[str, str]]:
        return ratio_series(spec.slos[0], windows, f"{value}x70")

    def firing(severity: str, at: str, expected: bool) -> dict[str, object]:
        query = f'count(ALERTS{{alertname="ErrorBudgetBurn",alertstate="firing",slo_severity="{severity}"}})'
        return {"expr": query, "eval_time": at, "exp_samples": [{"labels": "{}", "value": 1}] if expected else []}

    tests = [
        {"interval": "1m", "input_series": ratios(0.145, "5m", "1h"),
         "promql_expr_test": [firing("page", "1m", False), firing("page", "3m", True)]},
        {"interval": "1m", "input_series": ratios(0.135, "5m", "1h"),
         "promql_expr_test": [firing("page", "10m", False)]},
        {"interval": "1m", "input_series": ratios(0.021, "2h", "1d"),
         "promql_expr_test": [firing("ticket", "59m", False), firing("ticket", "61m", True),
                              firing("page", "61m", False)]},
    ]
    (tmp_path / "test.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                                                        "tests": tests}))
    result = subprocess.run([require("promtool"), "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_row_waits_its_own_for_and_the_absent_alert_fires_in_promtool(write_spec, tmp_path):
    """Pyrra's rows wait their own `for`: at 7.5x (above the 6h/30m row's 7x, below the 1h/5m row's 14x) the
    page fires after that row's 15m, not the fastest row's 2m, labelled with its windows as Pyrra's is. When the
    SLI's series stop, Pyrra's absent alert (`SLOMetricAbsent`, severity critical) fires after Pyrra's 10m."""
    path = slo_file(write_spec, """
  target: "99"
  window: 4w
  indicator:
    ratio: {errors: {metric: 'http_requests_total{code="500"}'}, total: {metric: http_requests_total}}
""", "name: api\n  namespace: monitoring")
    spec = load([path])
    files, _ = rule_files(spec)
    alerts = [r for g in yaml.safe_load(files["rules/monitoring.yml"])["groups"] for r in g["rules"] if "alert" in r]
    assert [(r["alert"], r.get("for"), r["labels"].get("long"), r["labels"].get("short")) for r in alerts] == [
        ("ErrorBudgetBurn", "2m", "1h", "5m"), ("ErrorBudgetBurn", "15m", "6h", "30m"),
        ("ErrorBudgetBurn", "1h", "1d", "2h"), ("ErrorBudgetBurn", "3h", "4d", "6h"),
        ("SLOMetricAbsent", "10m", None, None), ("ErrorBudgetBurnSLIInvalid", "5m", None, None)]
    (tmp_path / "rules.yml").write_text(all_rules(files))

    def firing(alert: str, at: str, labels: str | None, extra: str = "") -> dict[str, object]:
        query = f'count by (long, short, severity) (ALERTS{{alertname="{alert}",alertstate="firing"{extra}}})'
        return {"expr": query, "eval_time": at, "exp_samples": [{"labels": labels, "value": 1}] if labels else []}

    ratios = ratio_series(spec.slos[0], ("5m", "30m", "1h", "6h"), "0.075x40")
    counters = [{"series": 'http_requests_total{code="500"}', "values": "0+1x30 _x40"},
                {"series": 'http_requests_total{code="200"}', "values": "0+99x30 _x40"}]
    tests = [
        {"interval": "1m", "input_series": ratios, "promql_expr_test": [
            firing("ErrorBudgetBurn", "3m", None, ',slo_severity="page"'),  # pending since 0m
            firing("ErrorBudgetBurn", "14m", None, ',slo_severity="page"'),
            firing("ErrorBudgetBurn", "15m", '{long="6h",short="30m",severity="critical"}', ',slo_severity="page"')]},
        {"interval": "1m", "input_series": counters, "promql_expr_test": [
            firing("SLOMetricAbsent", "30m", None), firing("SLOMetricAbsent", "40m", None),
            firing("SLOMetricAbsent", "47m", '{severity="critical"}')]},
    ]
    (tmp_path / "test.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                                                        "group_eval_order": rules.eval_order(spec.slos),
                                                        "tests": tests}))
    result = subprocess.run([require("promtool"), "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    # The generated scenarios agree: the page by its fastest row's wait, no data under Pyrra's alert name.
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    generated = subprocess.run([require("promtool"), "test", "rules", "rules/tests/monitoring.test.yml"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert 'alertname=\\"SLOMetricAbsent\\"' in files["rules/tests/monitoring.test.yml"]
