"""Reader for slokit's own format, `version: slokit/v1` (Sloth's are in spec.sloth).

slokit/v1 is Sloth's layout plus a period, latency and `http` SLIs, `enabled` tiers, a custom window
table, and sections for silence groups and runtime policy. See docs/spec.md.
"""

from __future__ import annotations

from dataclasses import replace

from slokit import names, promql
from slokit.spec import alertmanager, common, tables
from slokit.spec import gate as gate_section
from slokit.spec.model import SLI, SLO, HttpSLI, LatencySLI, Source
from slokit.spec.source import Doc, Fields, Path
from slokit.windows import Calendar, WindowTable

# Sections beside the SLOs, at the top or per SLO: silence-group routing, runtime policy, release gate, a
# custom window table. `policy:` sections name SLOs of any file, so spec.loader reads them once every SLO is known.
SECTIONS = ("alertmanager", "policy", "gate", "windows", "calendar")


def read_slokit(doc: Doc) -> list[SLO]:
    top = Fields(doc, (), doc.data,
                 ("version", "service", "labels", "period", "silence_group", "slos") + SECTIONS,
                 required=("service", "slos"))
    service = common.check_name(doc, top.at("service"), top.str("service"))
    labels = common.check_labels(doc, top.at("labels"), top.str_map("labels"))
    period = common.check_period(doc, top.at("period"), top.str("period"), names.DEFAULT_PERIOD)
    top_alertmanager = alertmanager.parse(doc, top.at("alertmanager"), top.raw("alertmanager"))
    slos = []
    for i, item in enumerate(top.list("slos")):
        path: Path = ("slos", i)
        f = Fields(doc, path, item, ("name", "objective", "period", "description", "labels", "sli", "alerting",
                                     "silence_group", "group_by") + SECTIONS, required=("name", "objective", "sli"))
        if not f.ok:
            continue
        name = common.check_name(doc, f.at("name"), f.str("name"))
        alerting = None
        if f.raw("alerting") is not False:
            alerting = common.alerting(doc, f.at("alerting"), f.raw("alerting", {}), ("page", "ticket"), "enabled",
                                       common.alert_name(service, name), guards=True)
        calendar_path, calendar_value = (f.at("calendar"), f.raw("calendar")) if f.has("calendar") else (
            top.at("calendar"), top.raw("calendar"))
        calendar = _calendar(doc, calendar_path, calendar_value) if calendar_value is not None else None
        if calendar and (f.has("period") or (top.has("period") and not f.has("calendar"))):
            doc.error(f.at("period") if f.has("period") else top.at("period"),
                      "give a period or a calendar, not both (a calendar's period is its length)")
        slo = SLO(
            service=service,
            name=name,
            objective=common.check_objective(doc, f.at("objective"), f.num("objective")),
            period=calendar[0] if calendar else common.check_period(doc, f.at("period"), f.str("period"), period),
            calendar=calendar[1] if calendar else None,
            sli=_sli(doc, f.at("sli"), f.raw("sli"), service),
            alerting=alerting,
            description=f.str("description", ""),
            labels={**labels, **common.check_labels(doc, f.at("labels"), f.str_map("labels"))},
            silence_group=f.str("silence_group") or top.str("silence_group"),
            alertmanager=alertmanager.parse(doc, f.at("alertmanager"), f.raw("alertmanager"))
            if f.has("alertmanager") else top_alertmanager,
            source=Source(doc.file, doc.line(path), "slokit/v1"),
            group_by=common.check_group_by(doc, f.at("group_by"), f.list("group_by")),
        )
        windows_path, table = (f.at("windows"), f.raw("windows")) if f.has("windows") else (top.at("windows"),
                                                                                              top.raw("windows"))
        if table is not None:
            slo = replace(slo, window_table=_windows(doc, windows_path, table, slo.period))
        gate_path, gate = (f.at("gate"), f.raw("gate")) if f.has("gate") else (top.at("gate"), top.raw("gate"))
        if gate is not None:
            slo = replace(slo, gate=gate_section.read(doc, gate_path, gate, slo))
        slos.append(slo)
    return slos


def _calendar(doc: Doc, path: Path, value: object) -> tuple[int, Calendar] | None:
    """`calendar: {every: 1M, start: "2022-01-01 00:00:00", utc_offset: "-05:00"}` (or `time_zone:` an IANA
    zone): a calendar-aligned period whose budget starts over at each boundary (read once per SLO, like
    `windows:`, so a top-level section's problems are reported once)."""
    scratch = Doc(doc.file, doc.data, doc.marks, [], doc.base)
    f = Fields(scratch, path, value, ("every", "start", "time_zone", "utc_offset"), required=("every", "start"))
    found = None
    if f.ok:
        if f.has("time_zone") and f.has("utc_offset"):
            scratch.error(path, "give time_zone or utc_offset, not both")
        offset = (f.at("utc_offset"), f.str("utc_offset", "")) if f.has("utc_offset") else None
        found = common.calendar(scratch, (f.at("every"), f.str("every", "")), (f.at("start"), f.raw("start")),
                                (f.at("time_zone"), f.str("time_zone")), offset)
    doc.problems.extend(p for p in scratch.problems if p not in doc.problems)
    return found


def _windows(doc: Doc, path: Path, value: object, period: int) -> WindowTable | None:
    """The `windows:` section for one SLO (a top-level one is read once per SLO: each problem reported once)."""
    scratch = Doc(doc.file, doc.data, doc.marks, [], doc.base)
    table = tables.read_section(scratch, path, value, period)
    doc.problems.extend(p for p in scratch.problems if p not in doc.problems)
    return table


def _sli(doc: Doc, path: Path, value: object, service: str) -> SLI:
    kinds = ("events", "raw", "latency", "http")
    f = Fields(doc, path, value, kinds)
    given = [k for k in kinds if f.has(k)]
    if f.ok and len(given) != 1:
        doc.error(path, f"needs exactly one of {', '.join(kinds)}" + (f", got {', '.join(given)}" if given else ""))
    kind = given[0] if given else "events"
    if kind == "raw":
        g = Fields(doc, f.at("raw"), f.raw("raw"), ("error_ratio_query",), required=("error_ratio_query",))
        return common.raw_sli(doc, g, "error_ratio_query")
    if kind == "latency":
        return _latency(doc, f.at("latency"), f.raw("latency"))
    if kind == "http":
        return _http(doc, f.at("http"), f.raw("http"), service)
    g = Fields(doc, f.at("events"), f.raw("events", {}), ("error_query", "total_query"),
               required=("error_query", "total_query"))
    return common.events_sli(doc, g, "error_query", "total_query")


def _seconds(doc: Doc, path: Path, value: object) -> float:
    """A latency threshold: a duration ("300ms") or a number of seconds (0.3)."""
    seconds = doc.duration(path, value, -1.0)
    if seconds == 0:
        doc.error(path, "must be positive")
    return max(seconds, 0.0)


def _latency(doc: Doc, path: Path, value: object) -> LatencySLI:
    f = Fields(doc, path, value, ("histogram", "threshold", "matchers"), required=("histogram", "threshold"))
    histogram = f.str("histogram", "")
    if histogram and not promql.is_metric_name(histogram):
        doc.error(f.at("histogram"), f"{histogram!r} is not a metric name")
    for suffix in ("_bucket", "_count", "_sum"):
        if histogram.endswith(suffix):
            doc.error(f.at("histogram"), f"give the histogram's base name, without {suffix}")
    matchers = f.str_map("matchers")
    for name in matchers:
        if not promql.is_label_name(name) or name == "le":
            doc.error(f.at("matchers") + (name,), "is not a label name slokit can match on")
    return LatencySLI(histogram, _seconds(doc, f.at("threshold"), f.raw("threshold")) if f.has("threshold") else 0.0,
                      matchers)


def _http(doc: Doc, path: Path, value: object, service: str) -> HttpSLI:
    f = Fields(doc, path, value if value is not True else {}, ("route", "method", "latency"))
    latency = None
    if f.has("latency"):
        latency = _seconds(doc, f.at("latency"), f.raw("latency"))
        if latency and latency not in names.BUCKETS:
            bounds = ", ".join(f"{b * 1000:g}ms" for b in names.BUCKETS)
            doc.error(f.at("latency"), f"{latency * 1000:g}ms is not a bucket bound of the middleware's "
                                       f"histogram; pick one of: {bounds}")
    method = f.str("method")
    return HttpSLI(service=service, route=f.str("route"), method=method.upper() if method else None, latency=latency)
