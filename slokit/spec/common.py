"""Checks shared by the format readers: names, objectives, periods, queries, alert tiers."""

from __future__ import annotations

import re

from slokit import names, promql
from slokit.spec.model import Alerting, EventsSLI, RawSLI, Tier
from slokit.spec.source import Doc, Fields, Path

# Service and SLO names become label values, file names and dashboard uids: keep them plain.
NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,126}[A-Za-z0-9])?$")
_ALERT_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_name(doc: Doc, path: Path, value: str | None) -> str:
    if value is None:
        return ""
    if not NAME_RE.match(value):
        doc.error(path, f"{value!r} must be letters, digits, '-', '_' or '.', starting and ending with a letter or "
                        "digit")
    return value


def check_objective(doc: Doc, path: Path, value: float | None) -> float:
    if value is None:
        return 0.0
    if not 0 < value < 100:
        doc.error(path, f"must be between 0 and 100 (a percentage, e.g. 99.9), got {value:g}")
    return value


def check_period(doc: Doc, path: Path, value: str | None, default: int) -> int:
    if value is None:
        return default
    seconds = doc.duration(path, value, -1)
    if 0 <= seconds < 60:
        doc.error(path, f"{value!r} is shorter than 1m; alert windows scale with the period (5m at 30d)")
    return int(seconds) if seconds >= 60 else default


def check_labels(doc: Doc, path: Path, labels: dict[str, str]) -> dict[str, str]:
    for name in labels:
        if not promql.is_label_name(name):
            doc.error(path + (name,), "is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        elif name in names.RESERVED_LABELS:
            doc.error(path + (name,), f"is set by slokit itself ({', '.join(names.RESERVED_LABELS)})")
    return labels


def check_query(doc: Doc, path: Path, query: str | None, needs_window: bool = True) -> str:
    if query is None:
        return ""
    if needs_window and not promql.has_window(query):
        doc.error(path, "must contain the {{.window}} placeholder, e.g. rate(x[{{.window}}])")
    problem = promql.check_query(query)
    if problem:
        doc.error(path, f"invalid PromQL: {problem}")
    return query.strip()


def check_duration(doc: Doc, path: Path, value: str | None) -> str | None:
    """A duration written into generated config as it is (`for`, Alertmanager intervals): checked only."""
    if value is not None:
        doc.duration(path, value, 0, minimum=1)
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
        annotations=f.str_map("annotations"),
    )


def alerting(doc: Doc, path: Path, value: object, tier_keys: tuple[str, str], enabled_key: str,
             default_name: str) -> Alerting:
    page_key, ticket_key = tier_keys
    f = Fields(doc, path, value, ("name", "labels", "annotations", page_key, ticket_key))
    name = f.str("name")
    if name is not None and not name.strip():
        doc.error(f.at("name"), "must not be empty (leave it out for the default name)")
    name = name or default_name
    if not _ALERT_NAME_RE.match(name):
        doc.error(f.at("name"), f"{name!r} is not a valid alert name ([a-zA-Z_][a-zA-Z0-9_]*)")
    return Alerting(
        name=name,
        labels=check_labels(doc, f.at("labels"), f.str_map("labels")),
        annotations=f.str_map("annotations"),
        page=tier(doc, f.at(page_key), f.raw(page_key), enabled_key),
        ticket=tier(doc, f.at(ticket_key), f.raw(ticket_key), enabled_key),
    )


def check_alert_name(doc: Doc, path: Path, name: str) -> str:
    if not _ALERT_NAME_RE.match(name):
        doc.error(path, f"{name!r} is not a valid alert name ([a-zA-Z_][a-zA-Z0-9_]*)")
    return name


def alert_name(service: str, slo: str) -> str:
    """Default alert name: CamelCase of service and SLO (`checkout`, `availability` -> CheckoutAvailability)."""
    words = re.split(r"[^A-Za-z0-9]+", f"{service} {slo}")
    name = "".join(w[:1].upper() + w[1:] for w in words if w)
    return name if _ALERT_NAME_RE.match(name) else f"SLO{name}"
