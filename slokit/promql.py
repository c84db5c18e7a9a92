"""PromQL text building: durations, label names and values, selectors, query checks.

Every value from a spec that reaches PromQL goes through this module, so escaping lives in one place.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable

# Prometheus's own grammar (prometheus/common model.ParseDuration): units largest first, each at most
# once, ASCII digits only (`\d` would take "٥m", which Prometheus refuses), and at most 2^63 ms.
_DURATION_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000,
                "s": 1000, "ms": 1}
_DURATION_RE = re.compile("".join(f"(?:([0-9]{{1,19}}){unit})?" for unit in _DURATION_MS))
_MAX_MS = 2**63 - 1
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")

WINDOW_PLACEHOLDER = "{{.window}}"


def parse_seconds(text: str) -> float:
    """Prometheus duration to seconds, fractions kept ("300ms" -> 0.3): latency thresholds and timeouts."""
    text = str(text).strip()
    match = _DURATION_RE.fullmatch(text) if text else None
    shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "..."
    if not match:
        raise ValueError(f"{shown} is not a duration like 30s, 5m, 1h30m, 28d")
    ms = sum(int(n) * size for n, size in zip(match.groups(), _DURATION_MS.values(), strict=True) if n)
    if ms > _MAX_MS:
        raise ValueError(f"{shown} is longer than Prometheus durations go (about 292y)")
    return ms / 1000


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


@functools.lru_cache(maxsize=4096)  # a few label names, checked for every selector of every rule
def is_label_name(name: str) -> bool:
    return bool(_LABEL_NAME_RE.fullmatch(name)) and not name.startswith("__")


def is_metric_name(name: str) -> bool:
    return bool(_METRIC_NAME_RE.fullmatch(name))


@functools.lru_cache(maxsize=8192)  # label values repeat across the rules of an SLO (a third of generate's time)
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


def any_of(values: Iterable[str]) -> str:
    """A regex (PromQL / Alertmanager, both anchored) matching exactly these strings: each once, sorted, so
    the same set always reads the same."""
    return "|".join(regex_escape(v) for v in sorted(set(values)))


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

    text = render_window(query, "5m")
    try:
        promql_parser.parse(text)
    except (ValueError, TypeError) as exc:
        return str(exc) or "invalid PromQL"
    return _bare_duration(text)


_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|#[^\n]*', re.DOTALL)
_DURATION_TOKEN = re.compile(r"(?<![A-Za-z0-9_:.])(?:[0-9]+(?:ms|[smhdwy]))+(?![A-Za-z0-9_:.])")


def for_grafana(expr: str) -> str:
    """A query for a Grafana panel: in its string literals `$` is written `\\x24` and `[` `\\x5b`, so
    Grafana's variable syntax ($service, ${x}, $__rate_interval, [[x]]) cannot rewrite a label value
    such as a route; PromQL reads them back as `$` and `[`. Raw (backtick) strings become quoted ones."""

    def escape(match: re.Match[str]) -> str:
        text = match.group()
        if text.startswith("#") or not ("$" in text or "[" in text):
            return text
        if text.startswith("`"):
            text = quote(text[1:-1])
        return text.replace("$", "\\x24").replace("[", "\\x5b")

    return _STRING_OR_COMMENT.sub(escape, expr)


def _bare_duration(text: str) -> str | None:
    """A duration used as a number (`x > 5m`, or a bare `{{.window}}`): the parser slokit uses takes it,
    Prometheus 2 and promtool do not. Durations belong in a range `[5m]`, a subquery or after `offset`."""
    code = _STRING_OR_COMMENT.sub(lambda m: " " * len(m.group()), text)
    for match in _DURATION_TOKEN.finditer(code):
        before = code[:match.start()]
        if before.count("[") > before.count("]") or re.search(r"offset\s*-?\s*$", before, re.IGNORECASE):
            continue
        return (f"the duration {match.group()!r} is used as a number, which Prometheus 2 and promtool refuse; "
                "put {{.window}} in a range, e.g. rate(x[{{.window}}])")
    return None
