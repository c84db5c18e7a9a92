"""Reader for OpenSLO `openslo/v1`, `openslo.com/v2alpha` (and Sloth's `openslo/v1alpha`) SLO documents.

Supported: SLOs with a `ratioMetric` (good/total or bad/total) over Prometheus queries, an inline
`indicator` or an `indicatorRef` to an SLI document, a rolling `timeWindow`, `Occurrences` budgeting.
Other budgeting methods, calendar windows and threshold metrics are refused with a message naming the
field, never silently approximated.

v2alpha (the OpenSLO Go SDK's pkg/openslo/v2alpha) is v1 renamed where it maps: `sli`/`sliRef` for
`indicator`/`indicatorRef`, each metric `{dataSourceRef | dataSourceSpec, spec: {query}}` without
`metricSource` (the source's type from `dataSourceSpec.type` or the referenced DataSource object),
Kubernetes-style labels (one string each), durations in m, h, d and w only. Composite objectives (an
objective's own `sli`/`sliRef`) are refused, as in v1.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import promql_parser

from slokit import names, promql
from slokit.spec import common, openslo_alerts, openslo_slices
from slokit.spec.model import SLI, SLO, EventsSLI, Source
from slokit.spec.source import MAX_SECONDS, Doc, Fields, Path
from slokit.windows import Calendar
from slokit.windows import table as scaled_table

V1, V1ALPHA, V2ALPHA = "openslo/v1", "openslo/v1alpha", "openslo.com/v2alpha"
VERSIONS = (V1, V1ALPHA, V2ALPHA)
KINDS = ("SLO", "SLI", "Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400, "Q": 91 * 86400, "y": 365 * 86400}
_V2_UNITS = "mhdw"  # v2alpha's duration shorthand
_V1ALPHA_UNITS = {"Second": 1, "Minute": 60, "Hour": 3600, "Day": 86400, "Week": 7 * 86400, "Month": 30 * 86400,
                  "Quarter": 91 * 86400, "Year": 365 * 86400}
_PROMETHEUS_SOURCES = ("prometheus", "thanos", "cortex", "mimir", "victoriametrics")


@dataclass
class Item:
    """One OpenSLO object with the document it sits in."""

    doc: Doc
    kind: str
    name: str

    @property
    def v2(self) -> bool:
        return bool(self.doc.data.get("apiVersion") == V2ALPHA)


@dataclass(frozen=True)
class Keys:
    """The field names of one OpenSLO version where v2alpha renamed v1's."""

    sli: str
    ref: str
    units: str

    @staticmethod
    def of(v2: bool) -> Keys:
        return Keys("sli", "sliRef", _V2_UNITS) if v2 else Keys("indicator", "indicatorRef", "".join(_UNITS))


def items(doc: Doc) -> list[Item]:
    """The objects of a document: a single object, or a list of them (as oslo accepts)."""
    if isinstance(doc.data, list):
        out = []
        for i in range(len(doc.data)):
            out.extend(items(doc.sub(i)))
        return out
    keys = ("apiVersion", "kind", "metadata", "spec")
    f = Fields(doc, (), doc.data, keys, required=keys)
    version = f.str("apiVersion")
    if version not in VERSIONS:
        hint = f" (OpenSLO v2alpha's apiVersion is {V2ALPHA})" if version == "openslo/v2alpha" else ""
        doc.error(f.at("apiVersion"), f"unsupported {version!r}: expected {V1}, {V2ALPHA} (or {V1ALPHA}){hint}")
        return []
    kind = f.str("kind", "")
    if kind not in KINDS:
        doc.error(f.at("kind"), f"unknown OpenSLO kind {kind!r} (one of {', '.join(KINDS)})")
        return []
    meta_keys = ("name", "labels", "annotations") if version == V2ALPHA else ("name", "displayName", "labels",
                                                                              "annotations")
    m = Fields(doc, f.at("metadata"), f.raw("metadata", {}), meta_keys, required=("name",))
    name = m.str("name", "")
    if name and not _DNS_LABEL.fullmatch(name):
        # OpenSLO asks for a DNS label, but oslo's own valid examples break it: warn, and let the
        # stricter name check below refuse it where it becomes a label value (SLO names).
        doc.warn(m.at("name"), f"{name!r} is not a DNS label (lowercase letters, digits and '-', at most 63)")
        if kind in ("SLO", "SLI"):
            common.check_name(doc, m.at("name"), name)
    if kind == "Service":
        s = Fields(doc, f.at("spec"), f.raw("spec", {}), ("description",))
        s.str("description")
    if kind == "DataSource" and version == V2ALPHA:
        Fields(doc, f.at("spec"), f.raw("spec", {}), ("description", "type", "connectionDetails"), required=("type",))
    return [Item(doc, kind, name)]


def read(all_items: list[Item]) -> list[SLO]:
    """SLOs from every OpenSLO object read, so `indicatorRef` can point across files."""
    slis = {(it.v2, it.name): it for it in all_items if it.kind == "SLI"}
    alert_objects = {(it.kind, it.name): it for it in all_items if it.kind in ("AlertPolicy", "AlertCondition")}
    sources = {it.name: it for it in all_items if it.kind == "DataSource" and it.v2}
    slos = []
    for it in all_items:
        if it.kind == "SLO":
            slos.extend(_slo(it, slis, alert_objects, sources))
    return slos


def _slo(it: Item, slis: dict[tuple[bool, str], Item], alert_objects: openslo_alerts.Objects,
         sources: dict[str, Item]) -> list[SLO]:
    doc = it.doc
    alpha = doc.data.get("apiVersion") == V1ALPHA
    if alpha:
        return _slo_v1alpha(it)
    keys = Keys.of(it.v2)
    s = Fields(doc, ("spec",), doc.data.get("spec"),
               ("description", "service", keys.sli, keys.ref, "timeWindow", "budgetingMethod",
                "objectives", "alertPolicies"), required=("service", "timeWindow", "budgetingMethod", "objectives"))
    if not s.ok:
        return []
    service = common.check_name(doc, s.at("service"), s.str("service"))
    method = s.str("budgetingMethod")
    if method and method != "Occurrences" and method not in openslo_slices.METHODS:
        doc.error(s.at("budgetingMethod"), f"{method!r} is unknown (one of Occurrences, "
                                           f"{', '.join(openslo_slices.METHODS)})")
    period, calendar = _time_window(doc, s, keys)
    if s.has(keys.sli):
        sli = _indicator(doc, s.at(keys.sli), s.raw(keys.sli), sources if it.v2 else None)
    elif s.has(keys.ref):
        ref = s.str(keys.ref, "")
        target = slis.get((it.v2, ref))
        if target is None:
            known = sorted(name for v2, name in slis if v2 == it.v2)
            doc.error(s.at(keys.ref), f"no SLI named {ref!r} in the files read"
                      + (f" (known: {', '.join(known)})" if known else ""))
            sli = None
        else:
            data = target.doc.data
            sli = _indicator(target.doc, (), {"metadata": data.get("metadata"), "spec": data.get("spec")},
                             sources if it.v2 else None)
    else:
        doc.error(s.at(keys.sli), f"needs {keys.sli} or {keys.ref}")
        sli = None
    objectives = s.list("objectives")
    alerting, table = openslo_alerts.read(doc, s, alert_objects, common.alerting(
        doc, s.at("alertPolicies"), {}, ("page", "ticket"), "enabled", common.alert_name(service, it.name)), period)
    meta = doc.data.get("metadata")
    labels = _labels(doc, meta.get("labels") if isinstance(meta, dict) else None)
    out = []
    for i, obj in enumerate(objectives):
        o = Fields(doc, s.at("objectives") + (i,), obj,
                   ("displayName", "op", "value", "target", "targetPercent", "timeSliceTarget", "timeSliceWindow",
                    keys.sli, keys.ref, "compositeWeight") + (("labels",) if it.v2 else ()))
        for key in (keys.sli, keys.ref, "compositeWeight"):
            if o.has(key):
                doc.error(o.at(key), "composite SLOs (an objective's own SLI or weight) are not supported yet")
        objective_sli: SLI | None = sli
        if method in openslo_slices.METHODS:
            shortest = (table or scaled_table(period)).shortest.seconds
            objective_sli = openslo_slices.sli(doc, o, sli, method or "", shortest) if sli else None
        elif o.has("timeSliceWindow") or o.has("timeSliceTarget"):
            doc.warn(o.at("timeSliceWindow" if o.has("timeSliceWindow") else "timeSliceTarget"),
                     "slices count with budgetingMethod Timeslices or RatioTimeslices; ignored")
        if o.has("target"):
            objective = (o.num("target") or 0) * 100
        elif o.has("targetPercent"):
            objective = o.num("targetPercent") or 0
        else:
            doc.error(o.at("target"), "is required (a ratio such as 0.999, or targetPercent)")
            continue
        common.check_objective(doc, o.at("target"), objective)
        name = it.name if len(objectives) == 1 else f"{it.name}-{i}"
        if objective_sli is None or doc.errors:
            continue
        out.append(SLO(
            service=service, name=name, objective=round(objective, 10), period=period, sli=objective_sli,
            alerting=replace(alerting, name=common.alert_name(service, name)), window_table=table, calendar=calendar,
            description=s.str("description", "") or "", labels=labels,
            source=Source(doc.file, doc.line(()), V2ALPHA if it.v2 else V1),
        ))
    return out


def _time_window(doc: Doc, s: Fields, keys: Keys) -> tuple[int, Calendar | None]:
    """The period, and its calendar for a calendar-aligned window (`isRolling: false` with `calendar`)."""
    windows = s.list("timeWindow")
    if len(windows) != 1:
        doc.error(s.at("timeWindow"), "needs exactly one time window")
        return names.DEFAULT_PERIOD, None
    w = Fields(doc, s.at("timeWindow") + (0,), windows[0], ("duration", "isRolling", "calendar"),
               required=("duration",))
    rolling = w.bool("isRolling", not w.has("calendar"))  # v2alpha: omitted means false when calendar is given
    if rolling and w.has("calendar"):
        doc.error(w.at("calendar"), "a rolling window (isRolling: true) has no calendar")
    if not rolling:
        if not w.has("calendar"):
            doc.error(w.at("isRolling"), "a calendar-aligned window (isRolling: false) needs calendar: {startTime, "
                                         "timeZone}")
            return names.DEFAULT_PERIOD, None
        c = Fields(doc, w.at("calendar"), w.raw("calendar"), ("startTime", "timeZone"), required=("startTime",))
        found = common.calendar(doc, (w.at("duration"), w.str("duration", "")), (c.at("startTime"), c.raw("startTime")),
                                (c.at("timeZone"), c.str("timeZone")))
        return found if found else (names.DEFAULT_PERIOD, None)
    text = w.str("duration", "")
    match = re.fullmatch(rf"([0-9]{{1,9}})([{keys.units}])", text)  # ASCII digits: `\d` takes "٣d" too
    if not match:
        doc.error(w.at("duration"), f"{text!r} is not an OpenSLO duration like 28d, 4w"
                                    + (" (v2alpha's units: m, h, d, w)" if keys.units == _V2_UNITS else " or 1M"))
        return names.DEFAULT_PERIOD, None
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    return common.check_period_seconds(doc, w.at("duration"), min(seconds, MAX_SECONDS + 1), names.DEFAULT_PERIOD), None


def _indicator(doc: Doc, path: Path, value: object, sources: dict[str, Item] | None) -> EventsSLI | None:
    """An SLI's ratio metric as events; `sources`: v2alpha's DataSource objects by name (None: v1)."""
    f = Fields(doc, path, value, ("metadata", "spec"), required=("spec",))
    s = Fields(doc, f.at("spec"), f.raw("spec", {}), ("description", "thresholdMetric", "ratioMetric"))
    if s.has("thresholdMetric"):
        doc.error(s.at("thresholdMetric"), "threshold metrics are not supported yet; use ratioMetric")
        return None
    r = Fields(doc, s.at("ratioMetric"), s.raw("ratioMetric"), ("counter", "good", "bad", "total", "rawType", "raw"),
               required=("total",))
    if not r.ok:
        return None
    if r.has("raw"):
        doc.error(r.at("raw"), "raw ratio metrics are not supported yet; use good/total or bad/total")
        return None
    counter = r.bool("counter", True)
    if r.has("good") == r.has("bad"):
        doc.error(r.path, "needs exactly one of good or bad, beside total")
        return None
    side = "good" if r.has("good") else "bad"
    read = _query if sources is None else _v2_query_reader(sources)
    part = read(doc, r.at(side), r.raw(side), counter)
    total = read(doc, r.at("total"), r.raw("total"), counter)
    if part is None or total is None:
        return None
    if side == "bad":
        return EventsSLI(part, total)
    return EventsSLI(f"({total})\n-\n({part})", total)


def _query(doc: Doc, path: Path, value: object, counter: bool) -> str | None:
    f = Fields(doc, path, value, ("metricSource",), required=("metricSource",))
    m = Fields(doc, f.at("metricSource"), f.raw("metricSource", {}), ("metricSourceRef", "type", "spec"))
    if not _prometheus(doc, m.at("type"), m.str("type")):
        return None
    return _promql(doc, m, counter)


def _v2_query_reader(sources: dict[str, Item]) -> Callable[[Doc, Path, object, bool], str | None]:
    def read(doc: Doc, path: Path, value: object, counter: bool) -> str | None:
        """v2alpha's metric: `dataSourceSpec` inline or `dataSourceRef` to a DataSource object, and `spec`."""
        m = Fields(doc, path, value, ("dataSourceRef", "dataSourceSpec", "spec"), required=("spec",))
        if not m.ok:
            return None
        if m.has("dataSourceRef") == m.has("dataSourceSpec"):
            doc.error(path, "needs exactly one of dataSourceRef or dataSourceSpec")
            return None
        if m.has("dataSourceSpec"):
            d = Fields(doc, m.at("dataSourceSpec"), m.raw("dataSourceSpec"),
                       ("description", "type", "connectionDetails"), required=("type",))
            kind, at = d.str("type"), d.at("type")
        else:
            ref = m.str("dataSourceRef", "")
            source = sources.get(ref)
            if source is None:
                doc.error(m.at("dataSourceRef"), f"no DataSource named {ref!r} in the files read (slokit needs its "
                                                 "type: a Prometheus-compatible source)"
                          + (f"; known: {', '.join(sorted(sources))}" if sources else ""))
                return None
            spec = source.doc.data.get("spec")
            kind, at = (spec.get("type") if isinstance(spec, dict) else None), m.at("dataSourceRef")
        if not _prometheus(doc, at, kind if isinstance(kind, str) else None):
            return None
        return _promql(doc, m, counter)

    return read


def _prometheus(doc: Doc, path: Path, kind: str | None) -> bool:
    """Whether a metric source is one slokit reads (Prometheus-compatible); a problem at `path` if not."""
    if (kind or "").lower() in _PROMETHEUS_SOURCES:
        return True
    doc.error(path, f"metric source {kind!r} is not supported: slokit reads Prometheus-compatible sources "
                    f"({', '.join(_PROMETHEUS_SOURCES)})")
    return False


def _promql(doc: Doc, m: Fields, counter: bool) -> str | None:
    """The PromQL of a metric's `spec` (query or promql): as written with {{.window}}, else a counter's rate."""
    q = Fields(doc, m.at("spec"), m.raw("spec", {}), ("query", "promql"))
    key = "query" if q.has("query") else "promql"
    query = q.str(key)
    if not query:
        doc.error(q.at("query"), "is required")
        return None
    if promql.has_window(query):
        return common.check_query(doc, q.at(key), query)
    if not counter:
        doc.error(q.at(key), "a gauge query (counter: false) needs the {{.window}} placeholder to be averaged")
        return None
    rewritten = rate_of(query)
    if rewritten is None:
        problem = promql.check_query(query)
        doc.error(q.at(key), f"invalid PromQL: {problem}" if problem else
                  "a counter query without {{.window}} must be a selector, optionally in one aggregation "
                  "(e.g. sum(http_requests_total{code=~\"5..\"})); otherwise write rate(...[{{.window}}]) yourself")
    return rewritten


def rate_of(query: str) -> str | None:
    """`sum(x{a="b"})` -> `sum(rate(x{a="b"}[{{.window}}]))`: OpenSLO counter queries as window rates."""
    try:
        expr = promql_parser.parse(query)
    except (ValueError, TypeError):
        return None
    window = promql.WINDOW_PLACEHOLDER

    def rate(selector: object) -> str:
        text = re.sub(r"\{\}(?=$|\s)", "", str(selector))  # the parser prints `x` as `x{}`
        return f"rate({text}[{window}])"

    if isinstance(expr, promql_parser.VectorSelector):
        return rate(expr)
    if isinstance(expr, promql_parser.AggregateExpr) and isinstance(expr.expr, promql_parser.VectorSelector) \
            and expr.param is None:
        modifier = str(expr.modifier or "")
        return f"{expr.op} {modifier} ({rate(expr.expr)})" if modifier else f"{expr.op}({rate(expr.expr)})"
    return None


def _labels(doc: Doc, value: object) -> dict[str, str]:
    """OpenSLO labels are lists of strings; a one-element list becomes a Prometheus label."""
    out: dict[str, str] = {}
    if not isinstance(value, dict):
        return out
    for k, v in value.items():
        values = v if isinstance(v, list) else [v]
        if promql.is_label_name(str(k)) and str(k) not in names.RESERVED_LABELS:
            out[str(k)] = ",".join(str(x) for x in values)
    return out


def _slo_v1alpha(it: Item) -> list[SLO]:
    """openslo/v1alpha as Sloth reads it: ratioMetrics with good/total queries that carry {{.window}}."""
    doc = it.doc
    s = Fields(doc, ("spec",), doc.data.get("spec"),
               ("description", "service", "indicator", "timeWindows", "budgetingMethod", "objectives"),
               required=("service", "objectives"))
    service = common.check_name(doc, s.at("service"), s.str("service"))
    period = names.DEFAULT_PERIOD
    windows = s.list("timeWindows")
    if windows:
        w = Fields(doc, s.at("timeWindows") + (0,), windows[0], ("count", "unit", "isRolling", "calendar"))
        unit = w.str("unit", "Day")
        if unit not in _V1ALPHA_UNITS:
            doc.error(w.at("unit"), f"unknown unit {unit!r} (one of {', '.join(_V1ALPHA_UNITS)})")
        else:
            count = w.num("count", 30)
            if count < 1 or count != int(count):
                doc.error(w.at("count"), f"must be a whole number of at least 1, got {count:g}")
            else:
                period = common.check_period_seconds(doc, w.at("count"), min(count * _V1ALPHA_UNITS[unit],
                                                                               MAX_SECONDS + 1), period)
    out = []
    objectives = s.list("objectives")
    for i, obj in enumerate(objectives):
        o = Fields(doc, s.at("objectives") + (i,), obj, ("displayName", "op", "value", "target", "ratioMetrics"),
                   required=("target", "ratioMetrics"))
        r = Fields(doc, o.at("ratioMetrics"), o.raw("ratioMetrics", {}), ("good", "bad", "total", "counter"),
                   required=("total",))
        queries = {}
        for side in ("good", "bad", "total"):
            if r.has(side):
                q = Fields(doc, r.at(side), r.raw(side), ("source", "queryType", "query", "metadata"),
                           required=("query",))
                queries[side] = common.check_query(doc, q.at("query"), q.str("query"))
        if "total" not in queries or ("good" in queries) == ("bad" in queries):
            doc.error(r.path, "needs total and exactly one of good or bad")
            continue
        error = queries.get("bad") or f"({queries['total']})\n-\n({queries['good']})"
        objective = (o.num("target") or 0) * 100
        common.check_objective(doc, o.at("target"), objective)
        name = it.name if len(objectives) == 1 else f"{it.name}-{i}"
        out.append(SLO(
            service=service, name=name, objective=round(objective, 10), period=period,
            sli=EventsSLI(error, queries["total"]),
            alerting=common.alerting(doc, s.at("objectives"), {}, ("page", "ticket"), "enabled",
                                     common.alert_name(service, name)),
            description=s.str("description", "") or "", source=Source(doc.file, doc.line(()), V1ALPHA),
        ))
    return out
