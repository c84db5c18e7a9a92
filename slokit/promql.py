"""PromQL text building: durations, label names and values, selectors, query checks.

Every value from a spec that reaches PromQL goes through this module, so escaping lives in one place.
"""

from __future__ import annotations

import json
import math
import re

_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION_RE = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

WINDOW_PLACEHOLDER = "{{.window}}"


def parse_seconds(text: str) -> float:
    """Prometheus duration to seconds, fractions kept ("300ms" -> 0.3): latency thresholds and timeouts."""
    text = str(text).strip()
    if not _DURATION_RE.match(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h30m, 28d")
    return sum(int(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))


def parse_duration(text: str) -> int:
    """Prometheus duration ("1h30m", "28d") to whole seconds; ValueError if malformed or zero."""
    seconds = parse_seconds(text)
    if seconds < 1:
        raise ValueError(f"{str(text).strip()!r} must be at least 1s")
    return int(seconds)


def format_duration(seconds: int) -> str:
    """Whole seconds to the shortest Prometheus duration ("4m40s", "28d", "1w" is written as "7d")."""
    if seconds <= 0:
        raise ValueError("duration must be positive")
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)


def is_label_name(name: str) -> bool:
    return bool(_LABEL_NAME_RE.match(name)) and not name.startswith("__")


def is_metric_name(name: str) -> bool:
    return bool(_METRIC_NAME_RE.match(name))


def quote(value: str) -> str:
    """A PromQL string literal. PromQL strings follow Go's escaping, which JSON's is a subset of."""
    return json.dumps(str(value), ensure_ascii=False)


def selector(labels: dict[str, str], regex: dict[str, str] | None = None) -> str:
    """`{a="x",b=~"y"}` with names checked and values escaped; deterministic order."""
    parts = []
    for name, value in sorted(labels.items()):
        if not is_label_name(name):
            raise ValueError(f"invalid label name {name!r}")
        parts.append(f"{name}={quote(value)}")
    for name, value in sorted((regex or {}).items()):
        if not is_label_name(name):
            raise ValueError(f"invalid label name {name!r}")
        parts.append(f"{name}=~{quote(value)}")
    return "{" + ",".join(parts) + "}"


def float_literal(value: float) -> str:
    """A float in PromQL without noise (0.001, not 0.0010000000000000009)."""
    text = repr(round(value, 12))
    return text[:-2] if text.endswith(".0") else text


def regex_escape(text: str) -> str:
    """A literal inside a PromQL / Alertmanager regex (both RE2): only RE2's metacharacters are escaped."""
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


def le_regex(bound: float) -> str:
    """Regex for a histogram `le` label: Go clients write 1 as "1", Python clients as "1.0"."""
    text = float_literal(bound)
    if math.isfinite(bound) and float(bound).is_integer():
        return f"{text}(\\.0+)?"
    return regex_escape(text)


def render_window(template: str, window: str) -> str:
    """Fill Sloth's `{{.window}}` placeholder (spaces inside the braces allowed)."""
    return re.sub(r"\{\{\s*\.window\s*\}\}", window, template)


def has_window(template: str) -> bool:
    return re.search(r"\{\{\s*\.window\s*\}\}", template) is not None


def check_query(query: str) -> str | None:
    """Parse a query (placeholder filled with 5m); the parser's message if it is not valid PromQL."""
    import promql_parser  # Rust-backed and slow to load: only `validate`/`generate` need it, not the runtime

    try:
        promql_parser.parse(render_window(query, "5m"))
    except (ValueError, TypeError) as exc:
        return str(exc) or "invalid PromQL"
    return None
