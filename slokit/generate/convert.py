"""SLOs as spec text again, for `slokit convert`: slokit/v1 (anything slokit reads becomes a file that
reads back into the same SLOs) or OpenSLO v1 (where the SLO is expressible there).

Comments of the input are kept where they can be placed: the comment block at the top of a document and
the one above each SLO. Fields that have no slokit/v1 form (a Kubernetes object's metadata) become a
comment saying so, and nothing is silently approximated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from slokit import names, promql, queries
from slokit.errors import Problem, SpecError
from slokit.generate import yamlout
from slokit.spec.common import offset_text
from slokit.spec.model import SLO, Alerting, EventsSLI, Guard, LatencySLI, RawSLI, Tier
from slokit.windows import Calendar, WindowTable
from slokit.windows import table as scaled_table

TARGETS = ("slokit", "openslo")


@dataclass(frozen=True)
class Comments:
    """An input file's whole-line comment blocks, by the line just below each, and where its documents start."""

    above: dict[int, list[str]] = field(default_factory=dict)
    starts: tuple[int, ...] = ()  # the first content line of each YAML document


def comments_of(text: str) -> Comments:
    above: dict[int, list[str]] = {}
    starts: list[int] = []
    block: list[str] = []
    new_doc = True
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            block.append(stripped[1:].removeprefix(" ").rstrip())
        elif stripped == "---":
            block, new_doc = [], True
        elif stripped:
            if block:
                above[number] = block
            if new_doc:
                starts.append(number)
            block, new_doc = [], False
    return Comments(above, tuple(starts))


def slokit_v1(slos: list[SLO], comments: Comments | None = None) -> str:
    """The SLOs (of one input file) as slokit/v1 documents, one per service, in the order read."""
    comments = comments or Comments()
    by_service: dict[str, list[SLO]] = {}
    for slo in slos:
        by_service.setdefault(slo.service, []).append(slo)
    docs = []
    for service, group in by_service.items():
        first = group[0].source.line if group[0].source else 0
        start = max((s for s in comments.starts if s <= first), default=0)
        header = comments.above.get(start, []) if start else []
        notes = _notes(group)
        gap = [""] if header and header[-1] and notes else []
        text = yamlout.dump(_document(service, group), "\n".join(header + gap + notes))
        docs.append(_slo_comments(text, group, comments, start))
    return "---\n".join(docs)


def _notes(slos: list[SLO]) -> list[str]:
    notes = []
    for slo in slos:
        fmt = slo.source.format if slo.source else "?"
        if slo.k8s:
            where = f"{slo.k8s.namespace}/{slo.k8s.name}" if slo.k8s.namespace else slo.k8s.name
            labels = ", ".join(f"{k}={v}" for k, v in sorted(slo.k8s.labels.items()))
            note = f"{slo.name}: from {fmt} object {where}"
            notes.append(note + (f" (its PrometheusRule labels: {labels}; use them where you deploy the rules)"
                                 if labels else ""))
    return notes


def _slo_comments(text: str, slos: list[SLO], comments: Comments, doc_start: int) -> str:
    """Put each SLO's comment block above its item in the `slos:` list."""
    lines = text.split("\n")
    items = [i for i, line in enumerate(lines) if line.startswith("  - name: ")]
    for index, slo in reversed(list(zip(items, slos, strict=False))):
        line = slo.source.line if slo.source else 0
        block = comments.above.get(line, []) if line and line != doc_start else []
        lines[index:index] = [f"  # {c}" if c else "  #" for c in block]
    return "\n".join(lines)


def _document(service: str, slos: list[SLO]) -> dict[str, Any]:
    shared = dict(set.intersection(*(set(s.labels.items()) for s in slos)))
    periods = {s.period for s in slos if s.calendar is None}
    period = periods.pop() if len(periods) == 1 else None
    tables = {_custom_table(s) for s in slos}
    table = tables.pop() if len(tables) == 1 and period else None
    doc: dict[str, Any] = {"version": "slokit/v1", "service": service}
    if shared:
        doc["labels"] = dict(sorted(shared.items()))
    if period and period != names.DEFAULT_PERIOD:
        doc["period"] = promql.format_duration(period)
    if table:
        doc["windows"] = _windows(table)
    doc["slos"] = [_slo(s, shared, period, table is not None) for s in slos]
    return doc


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else value


def _slo(slo: SLO, shared: dict[str, str], period: int | None, shared_table: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": slo.name, "objective": _number(slo.objective)}
    if slo.description:
        out["description"] = slo.description
    if slo.calendar is not None:
        out["calendar"] = _calendar(slo.calendar)
    elif slo.period != (period or names.DEFAULT_PERIOD):
        out["period"] = promql.format_duration(slo.period)
    own = {k: v for k, v in slo.labels.items() if shared.get(k) != v}
    if own:
        out["labels"] = own
    if slo.group_by:
        out["group_by"] = list(slo.group_by)
    out["sli"] = _sli(slo)
    out["alerting"] = _alerting(slo.alerting) if slo.alerting else False
    if slo.silence_group:
        out["silence_group"] = slo.silence_group
    table = _custom_table(slo)
    if table and not shared_table:
        out["windows"] = _windows(table)
    return out


def _sli(slo: SLO) -> dict[str, Any]:
    sli = slo.sli
    if isinstance(sli, EventsSLI):
        return {"events": {"error_query": sli.error_query, "total_query": sli.total_query}}
    if isinstance(sli, RawSLI):
        return {"raw": {"error_ratio_query": sli.error_ratio_query}}
    if isinstance(sli, LatencySLI):
        latency: dict[str, Any] = {"histogram": sli.histogram, "threshold": sli.threshold}
        if sli.matchers:
            latency["matchers"] = dict(sli.matchers)
        return {"latency": latency}
    http: dict[str, Any] = {k: v for k, v in (("route", sli.route), ("method", sli.method),
                                              ("latency", sli.latency)) if v is not None}
    return {"http": http or {}}


def _tier(tier: Tier) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not tier.enabled:
        out["enabled"] = False
    if tier.for_:
        out["for"] = tier.for_
    if tier.labels:
        out["labels"] = dict(tier.labels)
    if tier.annotations:
        out["annotations"] = dict(tier.annotations)
    return out


def _guard(guard: Guard, default: Guard) -> Any:
    if guard == default:
        return None
    if replace(guard, enabled=default.enabled) == default:
        return guard.enabled
    out: dict[str, Any] = {"enabled": guard.enabled, "severity": guard.severity}
    if guard.for_:
        out["for"] = guard.for_
    if guard.within:
        out["within"] = promql.format_duration(guard.within)
    if guard.name:
        out["name"] = guard.name
    if guard.labels:
        out["labels"] = dict(guard.labels)
    return out


def _alerting(alerting: Alerting) -> dict[str, Any]:
    out: dict[str, Any] = {"name": alerting.name}
    if alerting.labels:
        out["labels"] = dict(alerting.labels)
    if alerting.annotations:
        out["annotations"] = dict(alerting.annotations)
    for key, tier in (("page", alerting.page), ("ticket", alerting.ticket)):
        if _tier(tier):
            out[key] = _tier(tier)
    if alerting.min_events:
        out["min_events"] = alerting.min_events
    defaults = Alerting(name="")
    for key in ("no_data", "invalid", "exhaustion"):
        value = _guard(getattr(alerting, key), getattr(defaults, key))
        if value is not None:
            out[key] = value
    return out


def _every(calendar: Calendar) -> str:
    if calendar.months:
        return f"{calendar.months}M"
    weeks, days = divmod(calendar.seconds, 7 * 86400)
    return f"{weeks}w" if not days else f"{calendar.seconds // 86400}d"


def _start(calendar: Calendar) -> str:
    return datetime.fromtimestamp(calendar.start + calendar.offset, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _calendar(calendar: Calendar) -> dict[str, str]:
    """slokit/v1's `calendar:`, with the fixed offset slokit counts in (a zone's DST is not followed anyway)."""
    return {"every": _every(calendar), "start": _start(calendar), "utc_offset": offset_text(calendar.offset)}


def _custom_table(slo: SLO) -> WindowTable | None:
    """The SLO's table when it is not the one slokit/v1 gives its period anyway."""
    table = slo.window_table
    return table if table is not None and table != scaled_table(slo.period) else None


def _windows(table: WindowTable) -> dict[str, Any]:
    """Rows with budget shares when all are round percentages (as Sloth's tables), else factors (Pyrra's)."""
    percents = [round(c.budget_share * 100, 9) for c in table.conditions]
    by_share = all(p == round(p, 4) for p in percents)
    out: dict[str, Any] = {}
    for c, percent in zip(table.conditions, percents, strict=True):
        row: dict[str, Any] = {"long": c.long.name, "short": c.short.name}
        if by_share:
            row["budget_percent"] = _number(percent)
        else:
            row["factor"] = _number(c.factor)
        if c.for_ is not None:
            row["for"] = promql.format_duration(c.for_)
        out.setdefault(c.severity, []).append(row)
    return out


# --- OpenSLO v1 ---

def openslo_v1(slos: list[SLO]) -> str:
    """The SLOs as OpenSLO v1 SLO documents (ratioMetric over Prometheus, rolling window, Occurrences);
    SpecError naming each SLO OpenSLO cannot express as slokit reads it back."""
    problems = []
    docs = []
    for slo in slos:
        why = _not_openslo(slo)
        if why:
            file, line = (slo.source.file, slo.source.line) if slo.source else ("", 0)
            problems.append(Problem(file, line, "", f"SLO {slo.id!r}: {why}"))
            continue
        docs.append(yamlout.dump(_openslo(slo), _openslo_notes(slo)))
    if problems:
        raise SpecError(problems)
    return "---\n".join(docs)


def _not_openslo(slo: SLO) -> str | None:
    if isinstance(slo.sli, RawSLI):
        return "a raw error-ratio SLI has no OpenSLO form slokit reads (ratioMetric needs good or bad and total)"
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", slo.name):
        return f"{slo.name!r} is not a DNS label, as OpenSLO names must be"
    if slo.group_by:
        return "OpenSLO has no grouping (one budget per label value)"
    if slo.calendar and slo.calendar.offset % 3600 and slo.calendar.zone.startswith("UTC"):
        return "a calendar at a UTC offset of part of an hour has no IANA zone name"
    return None


def _openslo_notes(slo: SLO) -> str:
    notes = []
    if slo.alerting:
        notes.append("alerting: OpenSLO alert policies are not written; slokit alerts with its window table")
    if _custom_table(slo) or (slo.window_table is not None and slo.window_table != scaled_table(slo.period)):
        notes.append("windows: this SLO's own window table has no OpenSLO form")
    if slo.labels:
        notes.append("labels: OpenSLO labels are lists; written as one value each")
    return "\n".join(notes)


def _openslo(slo: SLO) -> dict[str, Any]:
    objective = queries.Objective.of(slo)
    window = promql.WINDOW_PLACEHOLDER
    metadata: dict[str, Any] = {"name": slo.name}
    if slo.labels:
        metadata["labels"] = {k: [v] for k, v in slo.labels.items()}
    spec: dict[str, Any] = {}
    if slo.description:
        spec["description"] = slo.description
    source = {"type": "Prometheus"}
    spec.update({
        "service": slo.service,
        "indicator": {
            "metadata": {"name": f"{slo.name}-sli"},
            "spec": {"ratioMetric": {
                "counter": True,
                "bad": {"metricSource": {**source, "spec": {"query": objective.errors(window, guard=True)}}},
                "total": {"metricSource": {**source, "spec": {"query": objective.total(window)}}},
            }},
        },
        "timeWindow": [_openslo_window(slo)],
        "budgetingMethod": "Occurrences",
        "objectives": [{"target": round(slo.objective / 100, 12)}],
    })
    return {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": metadata, "spec": spec}


def _openslo_window(slo: SLO) -> dict[str, Any]:
    """A rolling window, or a calendar one (its zone as read, or the IANA name of its fixed offset)."""
    calendar = slo.calendar
    if calendar is None:
        return {"duration": _openslo_duration(slo.period), "isRolling": True}
    zone = calendar.zone if not calendar.zone.startswith("UTC") or calendar.zone == "UTC" else (
        f"Etc/GMT{'-' if calendar.offset > 0 else '+'}{abs(calendar.offset) // 3600}")
    return {"duration": _every(calendar), "isRolling": False,
            "calendar": {"startTime": _start(calendar), "timeZone": zone}}


def _openslo_duration(seconds: int) -> str:
    """OpenSLO durations are one number and one unit (28d, 4w, 12h)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise ValueError(f"{seconds}s has no OpenSLO duration")
