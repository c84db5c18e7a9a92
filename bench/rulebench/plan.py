"""Which recorded series must exist over history, and in which order promtool can backfill them.

A rule evaluated live at `end` that reads a producer over a range needs the producer's output over that
range; a backfilled rule needs its producers over its own history plus their reach; the alert rules that
are compared need their inputs around the fault. Rules reading only raw series come first (level 0), rules
reading level-0 output next, and so on: `promtool tsdb create-blocks-from rules` evaluates through the
Prometheus API, so a level can only read what earlier levels wrote.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from rulebench.rules import LOOKBACK, Read, Rule

MERGE_GAP = 3600  # seconds: needed intervals closer than this are backfilled as one


@dataclass(frozen=True)
class Job:
    """Backfill `rules` (all of one level and group interval) over [start, end]."""

    level: int
    interval: float
    start: int
    end: int
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]
    raw_start: int  # the earliest raw sample any evaluation reads
    producers: dict[str, list[tuple[Read, list[Rule]]]]


def make(rules: list[Rule], end: int, roots: Iterable[Rule], window: tuple[int, int]) -> Plan:
    """Backfill jobs so every rule evaluated live at `end`, and every rule in `roots` evaluated over
    `window`, reads a complete history."""
    by_name: dict[tuple[str, str], list[Rule]] = {}
    for rule in rules:
        if not rule.alert:
            by_name.setdefault((rule.set, rule.name), []).append(rule)
    producers = {r.ident: [(read, [p for p in by_name.get((r.set, read.name), []) if p.writes(read)])
                           for read in r.reads()] for r in rules}
    index = {r.ident: r for r in rules}
    order = _consumers_first(rules, producers, index)

    needs: dict[str, list[tuple[float, float]]] = {}
    raw_start = float(end)
    for rule in rules:  # live evaluation: ranges reaching back further than an instant lookup
        for read, writers in producers[rule.ident]:
            if read.lo < -LOOKBACK - 1e-9:
                for writer in writers:
                    needs.setdefault(writer.ident, []).append((end + read.lo, end))
                if not writers:
                    raw_start = min(raw_start, end + read.lo)
    for root in roots:
        needs.setdefault(root.ident, []).append(window)
    for rule in order:
        for lo, hi in _merge(needs.get(rule.ident, [])):
            for read, writers in producers[rule.ident]:
                for writer in writers:
                    needs.setdefault(writer.ident, []).append((lo + read.lo, hi + read.hi))
                if not writers:
                    raw_start = min(raw_start, lo + read.lo)

    level: dict[str, int] = {}
    for rule in reversed(order):  # producers first
        below = [level[w.ident] for _, writers in producers[rule.ident] for w in writers
                 if not w.alert and w.ident in needs]
        level[rule.ident] = 1 + max(below) if below else 0
    grouped: dict[tuple[int, float, int, int], list[Rule]] = {}
    for rule in order:
        if rule.alert or rule.ident not in needs:
            continue
        for lo, hi in _merge(needs[rule.ident]):
            # evaluated once per sample it writes: a tile kept once per tile is one evaluation per tile
            start = math.floor(lo / rule.spacing) * rule.spacing
            stop = min(end, math.ceil(hi))
            grouped.setdefault((level[rule.ident], rule.spacing, int(start), stop), []).append(rule)
    jobs = tuple(Job(lv, interval, start, stop, tuple(rs))
                 for (lv, interval, start, stop), rs in sorted(grouped.items(), key=lambda kv: kv[0]))
    return Plan(jobs, math.floor(raw_start), producers)


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + MERGE_GAP:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _consumers_first(rules: list[Rule], producers: dict[str, list[tuple[Read, list[Rule]]]],
                     index: dict[str, Rule]) -> list[Rule]:
    """Rules ordered so that every rule comes before the rules it reads (reverse depth-first postorder)."""
    done: set[str] = set()
    post: list[Rule] = []

    def visit(rule: Rule, path: frozenset[str]) -> None:
        k = rule.ident
        if k in done:
            return
        if k in path:
            raise ValueError(f"rules read each other in a cycle: {rule.group} {rule.name}")
        for _, writers in producers[k]:
            for writer in writers:
                visit(index[writer.ident], path | {k})
        done.add(k)
        post.append(rule)

    for rule in rules:
        visit(rule, frozenset())
    return post[::-1]
