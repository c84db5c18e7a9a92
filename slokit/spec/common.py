"""Checks shared by the format readers: names, objectives, periods, queries, alert tiers."""

from __future__ import annotations

import re
from dataclasses import replace

from slokit import names, promql, windows
from slokit.spec import templates
from slokit.spec.model import Alerting, EventsSLI, Guard, RawSLI, Tier
from slokit.spec.source import MAX_SECONDS, Doc, Fields, Path

# Service and SLO names become label values, file names and dashboard uids: keep them plain.
# Matched whole (fullmatch): `$` also matches before a final newline, so "api\n" would pass.
NAME_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,126}[A-Za-z0-9])?")
_ALERT_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MIN_ERROR_BUDGET = 1e-9  # 99.9999999%: tighter objectives round to a zero budget in the rules


def check_name(doc: Doc, path: Path, value: str | None) -> str:
    if value is None:
        return ""
    if not NAME_RE.fullmatch(value):
        doc.error(path, f"{value!r} must be letters, digits, '-', '_' or '.', starting and ending with a letter or "
                        "digit")
    return value


def check_objective(doc: Doc, path: Path, value: float | None) -> float:
    if value is None:
        return 0.0
    if not 0 < value < 100:
        doc.error(path, f"must be between 0 and 100 (a percentage, e.g. 99.9), got {value:g}")
    elif not MIN_ERROR_BUDGET <= value / 100 <= 1 - MIN_ERROR_BUDGET:
        doc.error(path, f"{value!r} leaves {'no' if value > 50 else 'all'} error budget at the precision the rules "
                        f"use: keep it between {MIN_ERROR_BUDGET * 100:g} and {100 - MIN_ERROR_BUDGET * 100:.7f}")
    return value


def check_period(doc: Doc, path: Path, value: str | None, default: int) -> int:
    if value is None:
        return default
    seconds = doc.duration(path, value, -1)
    return check_period_seconds(doc, path, seconds, default) if seconds >= 0 else default


def check_period_seconds(doc: Doc, path: Path, seconds: float, default: int) -> int:
    """An SLO period: long enough that the Google window table scaled to it still means what it says."""
    problem = period_problem(int(seconds)) if seconds <= MAX_SECONDS else "longer than 10y"
    if problem:
        doc.error(path, f"{promql.format_duration(int(seconds)) if seconds >= 1 else f'{seconds:g}s'}: {problem}")
        return default
    return int(seconds)


def period_problem(seconds: int) -> str | None:
    """Why the window table scaled to a period of `seconds` loses its meaning, if it does.

    Windows round to whole seconds, so for short periods two windows become one (a duplicate rule) or
    a short window reaches its long one, and the factors, recomputed from the rounded windows, drift
    until a ticket-level burn pages. The 30d table's order (14.4 > 6 > 3 > 1, short < long) must hold."""
    if seconds < 60:
        return "shorter than 1m; alert windows scale with the period (5m at 30d)"
    base, table = windows.table(windows.BASE_PERIOD), windows.table(seconds)
    if len(table.windows) < len(base.windows) or any(c.short.seconds >= c.long.seconds for c in table.conditions):
        return ("too short: its alert windows, scaled from 30d and rounded to whole seconds, collapse into each "
                "other (" + ", ".join(f"{c.short.name}/{c.long.name}" for c in table.conditions) + ")")
    factors = [c.factor for c in table.conditions]
    if any(a <= b for a, b in zip(factors, factors[1:], strict=False)):
        return ("too short: rounding its alert windows to whole seconds changes the burn factors to "
                + ", ".join(f"{f:g}x" for f in factors) + " (14.4x, 6x, 3x, 1x at 30d), so a ticket-level burn "
                "would page")
    return None


def check_labels(doc: Doc, path: Path, labels: dict[str, str]) -> dict[str, str]:
    for name, value in labels.items():
        if not promql.is_label_name(name):
            doc.error(path + (name,), "is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        elif name in names.RESERVED_LABELS:
            doc.error(path + (name,), f"is set by slokit itself ({', '.join(names.RESERVED_LABELS)})")
        _check_template(doc, path + (name,), value)
    return labels


def _check_template(doc: Doc, path: Path, value: str) -> None:
    """Labels and annotations reach alert rules, where Prometheus reads them as Go templates."""
    problem = templates.problem(value)
    if problem:
        doc.error(path, f"{problem}; Prometheus reads alert labels and annotations as Go templates")


def check_group_by(doc: Doc, path: Path, labels: list[object]) -> tuple[str, ...]:
    """Labels that split an SLO into groups, each with its own budget and alerts. For events and raw SLIs the
    spec's queries must keep them (`sum by (route) (...)`); http and latency SLIs group their own series."""
    out: list[str] = []
    for i, label in enumerate(labels):
        name = str(label)
        if not promql.is_label_name(name) or name in names.RESERVED_LABELS or name == "le":
            doc.error(path + (i,), f"{name!r} is not a label an SLO can be grouped by")
        elif name in out:
            doc.error(path + (i,), f"{name!r} is named twice")
        else:
            if name in UNBOUNDED_LABELS:
                doc.warn(path + (i,), f"{name!r} usually has a value per pod, user or request: every group costs "
                                      "about twenty recorded series (docs/spec.md, Grouped SLOs)")
            out.append(name)
    return tuple(out)


# Labels whose values usually grow without bound: grouping by them multiplies the recorded series.
UNBOUNDED_LABELS = frozenset({"instance", "pod", "container", "node", "ip", "user", "user_id", "customer_id",
                              "session", "path", "url", "uri", "request_id", "trace_id", "id"})


def check_query(doc: Doc, path: Path, query: str | None, needs_window: bool = True) -> str:
    if query is None:
        return ""
    if needs_window and not promql.has_window(query):
        doc.error(path, "must contain the {{.window}} placeholder, e.g. rate(x[{{.window}}])")
    problem = promql.check_query(query)
    if problem:
        doc.error(path, f"invalid PromQL: {problem}")
    return query.strip()


def check_annotations(doc: Doc, path: Path, annotations: dict[str, str]) -> dict[str, str]:
    """Annotation names follow label-name rules in Prometheus (`12` or `a-b` fail `promtool check rules`)."""
    for name, value in annotations.items():
        if not promql.is_label_name(name):
            doc.error(path + (name,), "is not a valid annotation name ([a-zA-Z_][a-zA-Z0-9_]*)")
        _check_template(doc, path + (name,), value)
    return annotations


def check_duration(doc: Doc, path: Path, value: str | None) -> str | None:
    """A duration written into generated config as it is (`for`, Alertmanager intervals): checked only."""
    if value is not None:
        doc.duration(path, value, 0, minimum=1)
        return value.strip()  # " 5m" is read as 5m, and must be written so: Prometheus takes no spaces
    return value


def events_sli(doc: Doc, f: Fields, error_key: str, total_key: str) -> EventsSLI:
    return EventsSLI(
        check_query(doc, f.at(error_key), f.str(error_key)),
        check_query(doc, f.at(total_key), f.str(total_key)),
    )


def raw_sli(doc: Doc, f: Fields, key: str) -> RawSLI:
    return RawSLI(check_query(doc, f.at(key), f.str(key)))


def tier(doc: Doc, path: Path, value: object, enabled_key: str) -> Tier:
    """A page or ticket tier; `enabled_key` is "enabled" (slokit) or "disable" (Sloth)."""
    if value is None:
        return Tier()
    f = Fields(doc, path, value, (enabled_key, "for", "labels", "annotations"))
    enabled = f.bool("enabled", True) if enabled_key == "enabled" else not f.bool("disable", False)
    return Tier(
        enabled=enabled,
        for_=check_duration(doc, f.at("for"), f.str("for")),
        labels=check_labels(doc, f.at("labels"), f.str_map("labels")),
        annotations=check_annotations(doc, f.at("annotations"), f.str_map("annotations")),
    )


GUARDS = ("no_data", "invalid", "exhaustion")  # slokit/v1 only: the other formats have no such alerts


def alerting(doc: Doc, path: Path, value: object, tier_keys: tuple[str, str], enabled_key: str,
             default_name: str, guards: bool = False) -> Alerting:
    page_key, ticket_key = tier_keys
    extra = ("min_events", *GUARDS) if guards else ()
    f = Fields(doc, path, value, ("name", "labels", "annotations", page_key, ticket_key, *extra))
    name = f.str("name")
    if name is not None and not name.strip():
        doc.error(f.at("name"), "must not be empty (leave it out for the default name)")
    name = name or default_name
    if not _ALERT_NAME_RE.fullmatch(name):
        doc.error(f.at("name"), f"{name!r} is not a valid alert name ([a-zA-Z_][a-zA-Z0-9_]*)")
    min_events = f.num("min_events", 0)
    if min_events < 0 or min_events != int(min_events):
        doc.error(f.at("min_events"), "must be a whole number of events, at least 0")
    return Alerting(
        name=name,
        labels=check_labels(doc, f.at("labels"), f.str_map("labels")),
        annotations=check_annotations(doc, f.at("annotations"), f.str_map("annotations")),
        page=tier(doc, f.at(page_key), f.raw(page_key), enabled_key),
        ticket=tier(doc, f.at(ticket_key), f.raw(ticket_key), enabled_key),
        min_events=int(min_events) if min_events >= 0 else 0,
        no_data=_guard(doc, f, "no_data", Guard()),
        invalid=_guard(doc, f, "invalid", Guard()),
        exhaustion=_guard(doc, f, "exhaustion", Guard(enabled=False)),
    )


def _guard(doc: Doc, f: Fields, key: str, default: Guard) -> Guard:
    """`no_data: false`, or a mapping {enabled, severity, for, within, name, labels}; naming the section turns
    it on. `name` and `labels` replace the default alert name and add labels (Pyrra's absent alert converts so)."""
    value = f.raw(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return replace(default, enabled=value)
    allowed = ("enabled", "severity", "for", "name", "labels") + (("within",) if key == "exhaustion" else ())
    g = Fields(doc, f.at(key), value, allowed)
    severity = g.str("severity", default.severity)
    if severity not in names.SEVERITIES:
        doc.error(g.at("severity"), f"must be one of {', '.join(names.SEVERITIES)}")
    name = g.str("name")
    return Guard(enabled=g.bool("enabled", True), severity=severity,
                 for_=check_duration(doc, g.at("for"), g.str("for")),
                 within=int(doc.duration(g.at("within"), g.raw("within"), 0)),
                 name=check_alert_name(doc, g.at("name"), name) if name is not None else None,
                 labels=check_labels(doc, g.at("labels"), g.str_map("labels")))


def check_alert_name(doc: Doc, path: Path, name: str) -> str:
    if not _ALERT_NAME_RE.fullmatch(name):
        doc.error(path, f"{name!r} is not a valid alert name ([a-zA-Z_][a-zA-Z0-9_]*)")
    return name


def alert_name(service: str, slo: str) -> str:
    """Default alert name: CamelCase of service and SLO (`checkout`, `availability` -> CheckoutAvailability)."""
    words = re.split(r"[^A-Za-z0-9]+", f"{service} {slo}")
    name = "".join(w[:1].upper() + w[1:] for w in words if w)
    return name if _ALERT_NAME_RE.fullmatch(name) else f"SLO{name}"


_CALENDAR_UNITS = {"M": (1, 0), "Q": (3, 0), "y": (12, 0), "w": (0, 7 * 86400), "d": (0, 86400)}
CALENDAR_MONTH = 30 * 86400  # a calendar month's nominal length: what the window table scales to (OpenSLO's 1M)


def calendar(doc: Doc, duration: tuple[Path, str], start: tuple[Path, object], zone: tuple[Path, str | None],
             utc_offset: tuple[Path, str] | None = None) -> tuple[int, windows.Calendar] | None:
    """A calendar-aligned period: its nominal seconds (for the window table) and its boundaries. `duration`
    is one number and a unit, months (M, Q = 3M, y = 12M) or fixed (w, d); `start` a local date and time (the
    first period's start, "2022-01-01 00:00:00"); `zone` an IANA zone, kept as one fixed offset (warned when the
    zone observes daylight saving time), or `utc_offset` that offset ("-05:00"). None, with the problem recorded,
    when any part is wrong."""
    import zoneinfo  # only calendar windows need it
    from datetime import UTC, datetime, timedelta, timezone, tzinfo

    match = re.fullmatch(r"([0-9]{1,4})([MQywd])", duration[1] or "")
    if not match:
        doc.error(duration[0], f"{duration[1]!r}: a calendar window is months (1M, 1Q, 1y) or weeks or days (1w, 7d)")
        return None
    count = int(match.group(1))
    months, seconds = (n * count for n in _CALENDAR_UNITS[match.group(2)])
    raw = start[1]
    if isinstance(raw, datetime):  # YAML reads an unquoted `2022-01-01 12:00:00` as a timestamp
        local = raw.replace(tzinfo=None) if raw.tzinfo is None else None
    else:
        try:
            local = datetime.strptime(str(raw).strip(), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            local = None
    if local is None:
        doc.error(start[0], f"{str(raw)!r} is not a local date and time like 2022-01-01 00:00:00 (no time zone: "
                            "give it in timeZone)")
        return None
    if months and local.day > 28:
        doc.error(start[0], f"day {local.day}: a monthly calendar starts on day 1 to 28 (every month has that day)")
        return None
    tz: tzinfo
    if utc_offset is not None:
        fixed = re.fullmatch(r"([+-])([0-9]{2}):([0-9]{2})", utc_offset[1])
        if not fixed or int(fixed.group(2)) > 14 or int(fixed.group(3)) > 59:
            doc.error(utc_offset[0], f"{utc_offset[1]!r} is not a UTC offset like +02:00 or -05:00")
            return None
        minutes = (1 if fixed.group(1) == "+" else -1) * (60 * int(fixed.group(2)) + int(fixed.group(3)))
        name, tz = f"UTC{utc_offset[1]}", timezone(timedelta(minutes=minutes))
    else:
        name = zone[1] or "UTC"
        try:
            tz = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            doc.error(zone[0], f"{name!r} is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)")
            return None
    at = local.replace(tzinfo=tz)
    delta = at.utcoffset()
    offset = int(delta.total_seconds()) if delta is not None else 0
    offsets = {int(o.total_seconds()) for m in (1, 7) if (o := datetime(local.year, m, 1, tzinfo=tz).utcoffset())}
    if len(offsets) > 1:
        doc.warn(zone[0], f"{name} observes daylight saving time, PromQL only UTC: slokit keeps its offset at "
                          f"startTime (UTC{offset_text(offset)}) all year, so a boundary while the zone is on its "
                          "other offset falls that much off local time (docs/spec.md, calendar windows)")
    period = months * CALENDAR_MONTH if months else seconds
    checked = check_period_seconds(doc, duration[0], min(period, MAX_SECONDS + 1), 0)
    if not checked:
        return None
    return checked, windows.Calendar(months, seconds, int(at.astimezone(UTC).timestamp()), offset, name)


def offset_text(seconds: int) -> str:
    """A UTC offset as slokit/v1's `utc_offset` reads it (-18000 -> "-05:00")."""
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
