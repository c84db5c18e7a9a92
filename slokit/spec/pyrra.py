"""Reader for Pyrra's CRD: `apiVersion: pyrra.dev/v1alpha1`, `kind: ServiceLevelObjective`.

Field names and checks follow Pyrra's kubernetes/api/v1alpha1 (servicelevelobjective_types.go, its
`validate` and `Internal`); the queries and the alert windows follow its slo/rules.go, so an SLO alerts
when Pyrra's would:

- indicators: `ratio` (errors / total), `latency` (total - success buckets) over counters, `latencyNative`
  (1 - histogram_fraction of a native histogram), `bool_gauge` (the share of 0 samples of a 0/1 gauge);
  each metric is a plain selector, and `grouping` splits the SLO into one budget per group (SLO.group_by);
- windows: Pyrra's table, a fixed burn factor per row (14, 7 page; 2, 1 ticket) over windows that are a
  fixed share of the period (1h, 6h, 1d, 4d for 28d), rounded to the minute, each row with its own `for`
  (2m, 15m, 1h, 3h for 28d): one alert per row, labelled `long` and `short` as Pyrra's;
- absent alerts (`alerting.absent`, on by default): the SLO's no-data guard, named `SLOMetricAbsent` (or
  `absentName`), severity label `critical` (or `severities.absent`), waiting Pyrra's AbsentDuration;
- identity: the namespace is the service (Pyrra's SLOs are namespaced; none means Kubernetes' "default"),
  metadata.name the SLO; `pyrra.dev/`-prefixed labels and annotations become the rules' labels and the
  alerts' annotations, as Pyrra propagates them.
"""

from __future__ import annotations

import math
from fractions import Fraction

from slokit import names, promql, windows
from slokit.spec import common, k8s
from slokit.spec.model import SLO, Alerting, EventsSLI, Guard, ObjectMeta, Source, Tier
from slokit.spec.source import Doc, Fields, Path

VERSION, KIND = "pyrra.dev/v1alpha1", "ServiceLevelObjective"
PROPAGATE = "pyrra.dev/"  # Pyrra's slo.PropagationLabelsPrefix
DEFAULT_ALERT, DEFAULT_ABSENT = "ErrorBudgetBurn", "SLOMetricAbsent"
_INDICATORS = ("ratio", "latency", "latencyNative", "bool_gauge")
_DAY = 86400
# Pyrra's slo.Windows for a 28d period: severity, long, short, `for`, burn factor; other periods scale.
_WINDOWS_28D = (
    ("page", 3600, 300, 120, 14),
    ("page", 6 * 3600, 1800, 900, 7),
    ("ticket", _DAY, 2 * 3600, 3600, 2),
    ("ticket", 4 * _DAY, 6 * 3600, 3 * 3600, 1),
)


def _minutes(seconds_at_28d: int, period: int) -> int:
    """A 28d window scaled to `period`, rounded to the minute as Go's Duration.Round (halves away from zero)."""
    minutes = Fraction(seconds_at_28d * period, 28 * _DAY * 60)
    return max(1, math.floor(minutes + Fraction(1, 2))) * 60


def window_table(period: int) -> windows.WindowTable:
    """Pyrra's windows for a period, as a window table (the factor stays, the budget share follows), each row
    with Pyrra's `for`."""
    rows: list[windows.Row] = []
    for severity, long, short, for_, factor in _WINDOWS_28D:
        long_s = _minutes(long, period)
        rows.append((severity, long_s, _minutes(short, period), factor * long_s / period, _minutes(for_, period)))
    return windows.custom(period, rows)


def absent_for(target: float, period: int) -> int:
    """Pyrra's AbsentDuration (slo/slo.go): the time its fastest row needs to detect 100% errors, plus that
    row's `for`, rounded to the minute; in Pyrra's float arithmetic (target as a ratio), so it is its figure."""
    _, long, _, for_, factor = _WINDOWS_28D[0]
    detect = int(factor * (1 - target / 100) * float(_minutes(long, period)))  # Go truncates to whole seconds
    return _minutes_of(detect + _minutes(for_, period))


def _minutes_of(seconds: int) -> int:
    """Go's Duration.Round(time.Minute): halves away from zero."""
    return math.floor(Fraction(seconds, 60) + Fraction(1, 2)) * 60


def read(doc: Doc) -> list[SLO]:
    meta, top = k8s.read(doc)
    s = Fields(doc, top.at("spec"), top.raw("spec", {}),
               ("description", "target", "window", "indicator", "alerting", "partial_response_strategy",
                "performanceOverAccuracy", "ruleOutput"), required=("target", "window", "indicator"))
    if not s.ok or not meta.name:
        return []
    for key in ("partial_response_strategy", "performanceOverAccuracy", "ruleOutput"):
        if s.raw(key) not in (None, False, "", "abort"):
            doc.warn(s.at(key), "Pyrra's rule-output tuning has no slokit equivalent; ignored")
    service = common.check_name(doc, ("metadata", "namespace"), meta.namespace or "default")
    name = common.check_name(doc, ("metadata", "name"), meta.name)
    period = common.check_period(doc, s.at("window"), s.str("window"), names.DEFAULT_PERIOD)
    sli, group_by = _indicator(doc, s.at("indicator"), s.raw("indicator"))
    labels = {k.removeprefix(PROPAGATE): v for k, v in meta.labels.items() if k.startswith(PROPAGATE)}
    objective = _target(doc, s)
    return [SLO(
        service=service,
        name=name,
        objective=objective,
        period=period,
        sli=sli,
        alerting=_alerting(doc, s.at("alerting"), s.raw("alerting", {}), meta, absent_for(objective, period)),
        description=s.str("description", ""),
        labels=common.check_labels(doc, ("metadata", "labels"), labels),
        group_by=group_by,
        window_table=window_table(period),
        k8s=meta,
        source=Source(doc.file, doc.line(()), VERSION),
    )]


def _target(doc: Doc, s: Fields) -> float:
    """Pyrra's target is a string percentage ("99.9"); a number reads too."""
    value = s.raw("target")
    try:
        target = float(str(value))
    except ValueError:
        doc.error(s.at("target"), f"{value!r} is not a number (a percentage such as '99.9')")
        return 0.0
    if 0 < target < 1:
        doc.warn(s.at("target"), f"target is from 0-100 ({100 * target:g}), not 0-1 ({target:g})")
    return common.check_objective(doc, s.at("target"), target)


def _indicator(doc: Doc, path: Path, value: object) -> tuple[EventsSLI, tuple[str, ...]]:
    f = Fields(doc, path, value, _INDICATORS)
    given = [k for k in _INDICATORS if f.has(k)]
    if f.ok and len(given) != 1:
        doc.error(path, f"needs exactly one of {', '.join(_INDICATORS)}" + (f", got {', '.join(given)}" if given
                                                                             else ""))
    if not given:
        return EventsSLI("", ""), ()
    kind = given[0]
    keys = {"ratio": ("errors", "total"), "latency": ("success", "total"), "latencyNative": ("total", "latency"),
            "bool_gauge": ("metric",)}[kind]
    i = Fields(doc, f.at(kind), f.raw(kind), keys + ("grouping",), required=keys)
    group_by = common.check_group_by(doc, i.at("grouping"), i.list("grouping"))
    by = f"sum by ({', '.join(sorted(group_by))}) " if group_by else "sum"
    if kind == "bool_gauge":
        gauge = _selector(doc, i.at("metric"), i.str("metric"))
        count = f"{by}(count_over_time({gauge}[{promql.WINDOW_PLACEHOLDER}]))"
        up = f"{by}(sum_over_time({gauge}[{promql.WINDOW_PLACEHOLDER}]))"
        return EventsSLI(f"{count}\n-\n{up}", count), group_by
    total = _selector(doc, _metric_path(i, "total"), _metric(doc, i, "total"))
    if kind == "latencyNative":
        latency = doc.duration(i.at("latency"), i.raw("latency"), 0.0)
        if i.has("latency") and latency <= 0:
            doc.error(i.at("latency"), "must be a positive duration (e.g. 200ms)")
        histogram = f"{by}(rate({total}[{promql.WINDOW_PLACEHOLDER}]))"
        count = f"histogram_count({histogram})"
        fraction = f"histogram_fraction(0, {promql.float_literal(latency)}, {histogram})"
        return EventsSLI(f"{count}\n*\n(1 - {fraction})", count), group_by
    rate_total = f"{by}(rate({total}[{promql.WINDOW_PLACEHOLDER}]))"
    other_key = "errors" if kind == "ratio" else "success"
    other = _selector(doc, _metric_path(i, other_key), _metric(doc, i, other_key), needs_le=kind == "latency")
    rate_other = f"{by}(rate({other}[{promql.WINDOW_PLACEHOLDER}]))"
    if other and other == total:
        doc.warn(_metric_path(i, other_key), f"the {other_key} metric should differ from the total metric")
    if kind == "ratio":
        return EventsSLI(rate_other, rate_total), group_by
    return EventsSLI(f"{rate_total}\n-\n{rate_other}", rate_total), group_by


def _metric_path(i: Fields, key: str) -> Path:
    return i.at(key) + ("metric",)


def _metric(doc: Doc, i: Fields, key: str) -> str | None:
    """`{metric: <selector>}` (Pyrra's Query type)."""
    q = Fields(doc, i.at(key), i.raw(key, {}), ("metric",), required=("metric",) if i.has(key) else ())
    return q.str("metric")


def _selector(doc: Doc, path: Path, text: str | None, needs_le: bool = False) -> str:
    """A plain vector selector, as Pyrra requires; `needs_le`: a latency success metric's bucket."""
    if not text:
        return ""
    import promql_parser  # Rust-backed and slow to load: only reading specs needs it

    text = text.strip()
    try:
        expr = promql_parser.parse(text)
    except (ValueError, TypeError) as exc:
        doc.error(path, f"invalid PromQL: {exc}")
        return ""
    if not isinstance(expr, promql_parser.VectorSelector) or expr.offset is not None or expr.at is not None:
        doc.error(path, "must be a plain selector such as http_requests_total{job=\"api\",code=~\"5..\"} (Pyrra "
                        "adds rate() and the window)")
        return ""
    if needs_le:
        le = [m for m in expr.matchers.matchers if m.name == "le"]
        try:
            float(le[0].value)
        except (IndexError, ValueError):
            doc.error(path, "must match one bucket with an le label, e.g. ..._bucket{le=\"0.5\"}")
    return text


def _alerting(doc: Doc, path: Path, value: object, meta: ObjectMeta, absent_seconds: int) -> Alerting | None:
    """Pyrra's burn-rate alerts (one per window row, each with the row's `for`) and its absent alert, which
    is slokit's no-data guard under Pyrra's name, severity label and wait. As in Pyrra, turning the burn rates
    off (`burnrates: false`, or the deprecated `disabled`) keeps the absent alert."""
    f = Fields(doc, path, value, ("disabled", "burnrates", "absent", "name", "absentName", "severities"))
    burnrates = not f.bool("disabled", False) and f.bool("burnrates", True)
    absent = f.bool("absent", True)
    if not burnrates and not absent:
        return None  # recording rules only, as in Pyrra
    name = common.check_alert_name(doc, f.at("name"), f.str("name") or DEFAULT_ALERT)
    absent_name = common.check_alert_name(doc, f.at("absentName"), f.str("absentName") or DEFAULT_ABSENT)
    sev = Fields(doc, f.at("severities"), f.raw("severities", {}),
                 ("absent", "fastBurn", "mediumBurn", "slowBurn", "longTermBurn"))
    for fast, slow in (("fastBurn", "mediumBurn"), ("slowBurn", "longTermBurn")):
        if sev.str(slow) not in (None, sev.str(fast, "critical" if fast == "fastBurn" else "warning")):
            doc.warn(sev.at(slow), f"slokit's alert tiers carry one severity: {fast}'s")
    annotations = {k.removeprefix(PROPAGATE): v for k, v in meta.annotations.items() if k.startswith(PROPAGATE)}
    no_data = Guard(enabled=absent, severity=names.PAGE, for_=promql.format_duration(absent_seconds),
                    name=absent_name, labels={"severity": sev.str("absent", "critical")})
    return Alerting(
        name=name,
        annotations=annotations,
        page=Tier(enabled=burnrates, labels={"severity": sev.str("fastBurn", "critical")}),
        ticket=Tier(enabled=burnrates, labels={"severity": sev.str("slowBurn", "warning")}),
        no_data=no_data,
        invalid=Guard(enabled=burnrates),
    )
