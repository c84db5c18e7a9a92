"""Feed the engine from slokit's middleware: `listener(route, outcome, duration_seconds)` per request.

The `http` SLIs of the specs say which routes count for which SLO (no route: every route of the
service) and whether the SLO is about latency; the same semantics as the generated rules, so the app's
burn and Prometheus' agree. The route -> trackers table is built once: a call is one dict lookup plus
one `record` per matching SLO. (The listener gets no method, so a spec's `method` filter is not applied.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from slokit import names
from slokit.instrument.core import Listener
from slokit.spec.model import SLO, HttpSLI


class Counter(Protocol):
    def record(self, good: int = 0, bad: int = 0) -> None: ...


class Sink(Protocol):
    """What the listener records into: the engine, or anything shaped like it (a budget ledger, a tally)."""

    @property
    def trackers(self) -> Mapping[tuple[str, str], Counter]: ...

    def add_slo(self, key: tuple[str, str], error_budget: float, period: int) -> Counter: ...


_Entry = tuple[Callable[[int, int], None], float | None]  # a tracker's record, latency threshold (None: availability)


def request_listener(engine: Sink, slos: Sequence[SLO], service: str | None = None) -> Listener:
    """A middleware listener recording each finished request into the engine's trackers."""
    every: list[_Entry] = []
    by_route: dict[str, list[_Entry]] = {}
    for slo in slos:
        sli = slo.sli
        if not isinstance(sli, HttpSLI) or (service is not None and sli.service != service):
            continue
        tracker = engine.trackers.get(slo.key) or engine.add_slo(slo.key, slo.error_budget, slo.period)
        entry = (tracker.record, sli.latency)  # bound once: the call below skips the attribute lookup
        if sli.route is None:
            every.append(entry)
        else:
            by_route.setdefault(sli.route, []).append(entry)
    table = {route: tuple(entries + every) for route, entries in by_route.items()}
    fallback = tuple(every)
    good, bad = names.GOOD, names.BAD

    def listener(route: str, outcome: str, duration_seconds: float) -> None:
        if outcome != good and outcome != bad:
            return  # a disconnect is neither good nor bad, as in the rules
        for record, latency in table.get(route, fallback):
            if (duration_seconds > latency) if latency is not None else outcome == bad:
                record(0, 1)
            else:
                record(1, 0)

    return listener
