"""Error budget spent over the SLO period, in process: what the status page's "budget remaining" shows.

The burn-rate engine keeps only the alert windows (the longest is a tenth of the period), so the period's
budget needs its own ring. Each bucket (one shortest-window wide) keeps good/bad counts; the budget spent
is the bucket burn rates integrated over time, divided by the period: `sum(burn_i * width) / period`.
That is what Prometheus' `slo:period_error_budget_remaining:ratio` computes once a whole period of data
exists; before that, time the process has not seen counts as clean (a fresh process starts at 100%).
The bucket being filled is left out until it is done, so the figure never goes back up by a blip.
"""

from __future__ import annotations

import threading

from slokit import windows
from slokit.runtime.clock import Clock, system_clock
from slokit.runtime.ring import Ring


class BudgetCounter:
    """Good/bad counts of one SLO over its period. `record` has the tracker's signature (the listener calls it)."""

    def __init__(self, error_budget: float, period: int, clock: Clock = system_clock,
                 table: windows.WindowTable | None = None):
        self.error_budget, self.period, self.clock = error_budget, period, clock
        self.width = float((table or windows.table(period)).shortest.seconds)  # table: the SLO's (SLO.table)
        self.size = max(1, round(period / self.width))
        self._ring = Ring(self.size, 2, int(clock() // self.width))
        self._good, self._bad = self._ring.counts
        self._lock = threading.Lock()

    def record(self, good: int = 0, bad: int = 0) -> None:
        idx = int(self.clock() // self.width)
        with self._lock:
            self._ring.advance(idx)
            slot = self._ring.slot
            self._good[slot] += good
            self._bad[slot] += bad

    def spent(self) -> float:
        """Share of the period's error budget spent in the last period (0.0 = none, 1.0 = all of it)."""
        idx = int(self.clock() // self.width)
        with self._lock:
            self._ring.advance(idx)
            burn_seconds, current = 0.0, self._ring.slot
            for slot, (good, bad) in enumerate(zip(self._good, self._bad, strict=True)):
                if bad and slot != current:  # the current bucket's ratio still moves: counted once it is done
                    burn_seconds += bad / (good + bad) / self.error_budget * self.width
        return burn_seconds / self.period

    def remaining(self) -> float:
        return 1.0 - self.spent()


class BudgetLedger:
    """Budget counters by SLO key `(service, name)`. Shaped like the engine (`trackers`, `add_slo`), so the
    runtime's `request_listener(ledger, slos)` feeds it with the same route and latency semantics."""

    def __init__(self, clock: Clock = system_clock):
        self.clock = clock
        self.trackers: dict[tuple[str, str], BudgetCounter] = {}

    def add_slo(self, key: tuple[str, str], error_budget: float, period: int,
                table: windows.WindowTable | None = None) -> BudgetCounter:
        counter = self.trackers[key] = BudgetCounter(error_budget, period, self.clock, table)
        return counter

    def remaining(self, key: tuple[str, str]) -> float | None:
        counter = self.trackers.get(key)
        return counter.remaining() if counter else None
