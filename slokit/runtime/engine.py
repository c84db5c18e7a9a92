"""In-process burn-rate engine: good/bad counts in a ring of time buckets, answered per window of the table.

One ring per SLO covers the longest window of `slokit.windows.table(period)`; buckets are a fraction of the
shortest window wide (30s for a 30d period), so a window is exact to one bucket. Recording is O(1): it adds
to the current bucket. When time moves past a bucket, each window's running sum takes the finished bucket
in and drops the one that slid out: O(windows) per bucket, never per event. After a long idle gap the sums
are recounted from the ring instead (slokit.runtime.ring), so no request pays for every bucket it missed.
A window's answer is its running sum (n-1 finished buckets), the current partial bucket, and the share of
the oldest bucket still inside the window (assuming events spread evenly in it), so a window moves smoothly
instead of in bucket steps, like Prometheus' `rate` over the same range.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slokit import windows
from slokit.runtime.clock import Clock, system_clock
from slokit.runtime.ring import Ring

if TYPE_CHECKING:
    from slokit.spec.model import SLO

BUCKETS_PER_SHORTEST = 10
WALK_LIMIT = 64  # buckets: beyond this gap, recounting the windows from the ring is cheaper than walking


@dataclass(frozen=True)
class Burn:
    """Counts and burn rate of one window at one moment."""

    window: int  # seconds
    good: float  # events in the window (fractional: part of the oldest bucket counts)
    bad: float
    burn: float  # error ratio / error budget; 0 with no events, like a quiet Prometheus (no alert)

    @property
    def ratio(self) -> float:
        total = self.good + self.bad
        return self.bad / total if total else 0.0


class SLOTracker:
    """Sliding windows of one SLO. Thread-safe; never awaits, so safe to call from asyncio code too."""

    def __init__(self, slo_id: str, error_budget: float, period: int, clock: Clock = system_clock,
                 buckets_per_shortest: int = BUCKETS_PER_SHORTEST, table: windows.WindowTable | None = None):
        if not 0 < error_budget < 1:
            raise ValueError(f"error budget must be in (0, 1), got {error_budget}")
        self.slo_id, self.error_budget, self.clock = slo_id, error_budget, clock  # slo_id: for display
        self.table = table or windows.table(period)  # the SLO's table (SLO.table), else the period's
        self.width = max(self.table.shortest.seconds / buckets_per_shortest, 1e-3)
        self.window_seconds: tuple[int, ...] = tuple(w.seconds for w in self.table.windows)
        # buckets per window: the current one plus n-1 finished ones
        self._n = tuple(max(1, round(s / self.width)) for s in self.window_seconds)
        self.size = max(self._n) + 1
        self._ring = Ring(self.size, 2, int(clock() // self.width))
        self._good, self._bad = self._ring.counts
        self._sum_good = [0] * len(self._n)  # finished buckets inside each window
        self._sum_bad = [0] * len(self._n)
        self._lock = threading.Lock()

    def record(self, good: int = 0, bad: int = 0) -> None:
        """Count events now. The hot path: one clock read, one lock, two adds."""
        idx = int(self.clock() // self.width)
        ring = self._ring
        with self._lock:
            if idx > ring.index:
                self._advance(idx)
            slot = ring.index % self.size
            if good:
                self._good[slot] += good
            if bad:
                self._bad[slot] += bad

    def _advance(self, idx: int) -> None:
        """Move the ring to bucket `idx` and the windows' running sums with it (lock held)."""
        ring = self._ring
        if idx - ring.index > WALK_LIMIT:  # a long idle gap: empty the ring's gap, then recount each window
            ring.advance(idx)
            for i, n in enumerate(self._n):
                self._sum_good[i] = ring.sum(0, idx - n + 1, idx)
                self._sum_bad[i] = ring.sum(1, idx - n + 1, idx)
            return
        size, good, bad, sg, sb = self.size, self._good, self._bad, self._sum_good, self._sum_bad
        for cur in range(ring.index, idx):
            done_g, done_b = good[cur % size], bad[cur % size]
            for i, n in enumerate(self._n):
                # bucket `cur` finishes and joins; bucket `cur + 1 - n` leaves (it is no longer within n)
                out = (cur + 1 - n) % size
                sg[i] += done_g - good[out]
                sb[i] += done_b - bad[out]
            ring.advance(cur + 1)

    def burns(self) -> dict[int, Burn]:
        """Every window's counts and burn rate now, keyed by window seconds."""
        now = self.clock()
        idx = int(now // self.width)
        with self._lock:
            if idx > self._ring.index:
                self._advance(idx)
            cur, size, good, bad = self._ring.index, self.size, self._good, self._bad
            rest = 1.0 - max(0.0, min(1.0, now / self.width - cur))  # share of the oldest bucket still inside
            g0, b0 = good[cur % size], bad[cur % size]
            out = {}
            for i, seconds in enumerate(self.window_seconds):
                old = (cur - self._n[i]) % size
                g = self._sum_good[i] + g0 + rest * good[old]
                b = self._sum_bad[i] + b0 + rest * bad[old]
                total = g + b
                out[seconds] = Burn(seconds, g, b, (b / total / self.error_budget) if total else 0.0)
            return out

    def burn_rates(self) -> dict[int, float]:
        return {s: b.burn for s, b in self.burns().items()}

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the ring (the part that grows with the period/shortest-window ratio)."""
        return self._good.itemsize * len(self._good) + self._bad.itemsize * len(self._bad)


class Engine:
    """The burn-rate engine of a process: one tracker per SLO, keyed by the SLO's `(service, name)`, with the
    same `burn_rates(key)` as the Prometheus source."""

    def __init__(self, clock: Clock = system_clock, buckets_per_shortest: int = BUCKETS_PER_SHORTEST):
        self.clock = clock
        self.buckets_per_shortest = buckets_per_shortest
        self.trackers: dict[tuple[str, str], SLOTracker] = {}

    def add_slo(self, key: tuple[str, str], error_budget: float, period: int,
                table: windows.WindowTable | None = None) -> SLOTracker:
        tracker = SLOTracker("-".join(key), error_budget, period, self.clock, self.buckets_per_shortest, table)
        self.trackers[key] = tracker
        return tracker

    @classmethod
    def for_slos(cls, slos: Iterable[SLO], clock: Clock = system_clock,
                 buckets_per_shortest: int = BUCKETS_PER_SHORTEST) -> Engine:
        engine = cls(clock, buckets_per_shortest)
        for slo in slos:
            engine.add_slo(slo.key, slo.error_budget, slo.period, slo.table)
        return engine

    def record(self, key: tuple[str, str], good: int = 0, bad: int = 0) -> None:
        self.trackers[key].record(good, bad)

    def burn_rates(self, key: tuple[str, str]) -> dict[int, float] | None:
        """Burn per window (seconds) now; None if the SLO is unknown (the policy's unknown-signal case)."""
        tracker = self.trackers.get(key)
        return tracker.burn_rates() if tracker else None
