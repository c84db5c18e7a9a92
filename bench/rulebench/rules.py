"""Rule files as data: which series each rule reads, over which time range, and which rule writes them.

The benchmark takes whatever rules slokit generates at run time, so nothing here knows slokit's shape:
it parses every expression (promql-parser) for its selectors, ranges, offsets and subqueries, and matches
selectors to the recording rules of the same rule set by metric name and static labels.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import promql_parser
import yaml

LOOKBACK = 300  # seconds: Prometheus' default lookback for instant selectors
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(text: str) -> float:
    """A Prometheus duration ("1h30m", "5m") in seconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


@dataclass(frozen=True)
class Read:
    """One selector of an expression evaluated at time t: samples of `name` in [t + lo, t + hi]."""

    name: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value), op one of = != =~ !~
    lo: float
    hi: float
    ranged: bool  # a range selector (or inside a subquery), not an instant lookup

    def promql(self) -> str:
        inner = ",".join(f'{label}{op}"{_escape(value)}"' for label, op, value in self.matchers)
        return f"{self.name}{{{inner}}}"


@dataclass(frozen=True)
class Rule:
    """A recording or alerting rule, where it came from (rule set, file, group) and what it reads."""

    ident: str  # set/file/position: unique
    set: str
    file: str
    group: str
    interval: float
    name: str
    alert: bool
    expr: str
    labels: tuple[tuple[str, str], ...]
    hold: float  # the alert's `for`, seconds
    source: dict[str, Any]  # the rule mapping as written, to write it back

    @cached_property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @cached_property
    def spacing(self) -> float:
        """Seconds between the samples it writes: its interval, or the tile of a rule kept only once per tile
        (slokit's tiles: `... unless on () last_over_time(<itself>[3m30s])`, or `unless` series by series, the
        next interval past that look-back)."""
        gated = re.search(r"unless\s+(?:on \(\)\s*)?last_over_time\(([^{\[]+)\{[^}]*\}\[(\w+)\]\)\s*$", self.expr)
        if gated and gated.group(1) == self.name:
            return math.ceil(seconds(gated.group(2)) / self.interval) * self.interval
        return self.interval

    def reads(self) -> list[Read]:
        """What it reads, but for its own output (a tile's look-back at its last sample)."""
        own = self.name if not self.alert else None
        return [r for r in _reads(promql_parser.parse(self.expr), 0.0, 0.0, False) if r.name != own]

    def writes(self, read: Read) -> bool:
        """Whether this recording rule's output can match `read` (by name and its static labels)."""
        if self.alert or read.name != self.name:
            return False
        labels = self.label_map
        return all(_matches(op, value, labels[label]) for label, op, value in read.matchers if label in labels)


def load(path: Path, rule_set: str, default_interval: float) -> list[Rule]:
    """Every rule of a Prometheus rule file."""
    doc = yaml.safe_load(path.read_text())
    out: list[Rule] = []
    for group in doc.get("groups") or []:
        interval = seconds(group["interval"]) if group.get("interval") else default_interval
        for rule in group.get("rules") or []:
            alert = "alert" in rule
            out.append(Rule(
                ident=f"{rule_set}/{path.name}/{len(out)}", set=rule_set, file=path.name, group=group["name"],
                interval=interval,
                name=rule["alert"] if alert else rule["record"], alert=alert, expr=str(rule["expr"]),
                labels=tuple(sorted((str(k), str(v)) for k, v in (rule.get("labels") or {}).items())),
                hold=seconds(rule["for"]) if rule.get("for") else 0.0, source=rule))
    return out


def _reads(node: Any, lo: float, hi: float, ranged: bool, width: float = LOOKBACK) -> Iterator[Read]:
    """Selectors under `node` when `node` is evaluated at every time in [t + lo, t + hi]; `width` is how far
    back a selector below reaches (its range, or the lookback of an instant selector)."""
    if isinstance(node, promql_parser.MatrixSelector):
        yield from _reads(node.vector_selector, lo, hi, True, _secs(node.range))
    elif isinstance(node, promql_parser.VectorSelector):
        offset = _secs(node.offset)
        name = node.name or next((m.value for m in node.matchers.matchers if m.name == "__name__"), "")
        matchers = tuple((m.name, _op(m.op), m.value) for m in node.matchers.matchers if m.name != "__name__")
        yield Read(name, matchers, lo - offset - width, hi - offset, ranged)
    elif isinstance(node, promql_parser.SubqueryExpr):
        offset = _secs(node.offset)
        yield from _reads(node.expr, lo - offset - _secs(node.range), hi - offset, True)
    else:
        for attr in ("lhs", "rhs", "expr", "param"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, str | int | float):
                yield from _reads(child, lo, hi, ranged)
        for arg in getattr(node, "args", None) or ():
            yield from _reads(arg, lo, hi, ranged)


def _op(op: Any) -> str:
    ops = promql_parser.MatchOp
    return next(text for kind, text in ((ops.Equal, "="), (ops.NotEqual, "!="), (ops.Re, "=~"), (ops.NotRe, "!~"))
                if op == kind)


def _secs(value: timedelta | None) -> float:
    return value.total_seconds() if value is not None else 0.0


def _matches(op: str, pattern: str, value: str) -> bool:
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    found = re.fullmatch(pattern, value) is not None
    return found if op == "=~" else not found


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
