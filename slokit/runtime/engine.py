"""In-process burn-rate engine: good/bad counts in rings of time buckets, answered per window of the table.

Two resolutions per SLO (slokit.windows.table(period) gives the windows): fine buckets, a tenth of the
shortest window wide (30s for a 30d period), for the windows shorter than COARSE_MIN shortest windows (5m
and 30m), and coarse buckets, one shortest window wide (5m), for the longer ones (1h to 3d). Each window is
exact to one bucket of its resolution, and every window to one shortest window; the rings hold 61 + 865
buckets for a 30d SLO (15 KB) where one fine ring over 3d held 8,641 (138 KB).

Recording is O(1): it adds to the current fine bucket. When time moves past a fine bucket, the fine
windows' running sums take it in and drop the one that slid out, and it is added to the current coarse
bucket; when a coarse bucket ends, the coarse windows do the same: O(windows) per bucket, never per event.
After a long idle gap the sums are recounted from the rings instead (slokit.runtime.ring), so no request
pays for every bucket it missed. A window's answer is its running sum (n-1 finished buckets), the current
partial bucket, and the share of the oldest bucket still inside the window (assuming events spread evenly
in it), so a window moves smoothly instead of in bucket steps, like Prometheus' `rate` over the same range.
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
COARSE_MIN = 12  # shortest windows: a window at least this long counts in coarse buckets (at most 1/12 off)
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


class _Level:
    """One resolution: a ring of good/bad buckets and the running sums of the windows counted in it."""

    def __init__(self, n: tuple[int, ...], index: int) -> None:
        self.n = n  # buckets per window: the current one plus n-1 finished ones
        self.ring = Ring(max(n, default=1) + 1, 2, index)
        self.good, self.bad = self.ring.counts
        self.sum_good = [0] * len(n)  # finished buckets inside each window
        self.sum_bad = [0] * len(n)

    def finish(self) -> None:
        """The current bucket ends: it joins every window, the one now n buckets back leaves."""
        ring, good, bad = self.ring, self.good, self.bad
        cur, size = ring.index, ring.size
        done_g, done_b = good[cur % size], bad[cur % size]
        for i, n in enumerate(self.n):
            out = (cur + 1 - n) % size
            self.sum_good[i] += done_g - good[out]
            self.sum_bad[i] += done_b - bad[out]
        ring.advance(cur + 1)

    def jump(self, index: int) -> None:
        """Move on to bucket `index` after a gap without events: empty the gap, recount the windows."""
        ring = self.ring
        ring.advance(index)
        for i, n in enumerate(self.n):
            self.sum_good[i] = ring.sum(0, index - n + 1, index)
            self.sum_bad[i] = ring.sum(1, index - n + 1, index)

    def answer(self, i: int, good_now: float, bad_now: float, rest: float) -> tuple[float, float]:
        """Window i's counts: its finished buckets, the current ones given, `rest` of the oldest."""
        old = (self.ring.index - self.n[i]) % self.ring.size
        return (self.sum_good[i] + good_now + rest * self.good[old],
                self.sum_bad[i] + bad_now + rest * self.bad[old])


class SLOTracker:
    """Sliding windows of one SLO. Thread-safe; never awaits, so safe to call from asyncio code too."""

    def __init__(self, slo_id: str, error_budget: float, period: int, clock: Clock = system_clock,
                 buckets_per_shortest: int = BUCKETS_PER_SHORTEST, table: windows.WindowTable | None = None):
        if not 0 < error_budget < 1:
            raise ValueError(f"error budget must be in (0, 1), got {error_budget}")
        self.slo_id, self.error_budget, self.clock = slo_id, error_budget, clock  # slo_id: for display
        self.table = table or windows.table(period)  # the SLO's table (SLO.table), else the period's
        shortest = self.table.shortest.seconds
        self.width = max(shortest / buckets_per_shortest, 1e-3)  # of a fine bucket
        self.per_coarse = buckets_per_shortest  # fine buckets per coarse bucket
        self.window_seconds: tuple[int, ...] = tuple(w.seconds for w in self.table.windows)
        self._coarse = tuple(s >= COARSE_MIN * shortest for s in self.window_seconds)
        fine_n: list[int] = []
        coarse_n: list[int] = []
        place = []  # each window's index among the windows of its level
        for seconds, coarse in zip(self.window_seconds, self._coarse, strict=True):
            level, width = (coarse_n, self.width * self.per_coarse) if coarse else (fine_n, self.width)
            place.append(len(level))
            level.append(max(1, round(seconds / width)))
        self._place = tuple(place)
        index = int(clock() // self.width)
        self._fine = _Level(tuple(fine_n), index)
        self._coarse_level = _Level(tuple(coarse_n), index // self.per_coarse)
        self._index = index  # the current fine bucket, and where its counts are (the hot path reads these)
        self._good, self._bad = self._fine.good, self._fine.bad
        self._slot = self._fine.ring.slot
        self._until = (index + 1) * self.width  # when the current fine bucket ends
        self._lock = threading.Lock()
        self._acquire, self._release = self._lock.acquire, self._lock.release

    def record(self, good: int = 0, bad: int = 0) -> None:
        """Count events now. The hot path: one clock read, one lock, a comparison, an add or two."""
        now = self.clock()
        self._acquire()
        try:
            if now >= self._until:
                self._advance(int(now // self.width))
            if good:
                self._good[self._slot] += good
            if bad:
                self._bad[self._slot] += bad
        finally:
            self._release()

    def _advance(self, idx: int) -> None:
        """Move both levels to fine bucket `idx` and the windows' running sums with them (lock held)."""
        if idx <= self._index:  # `now` a hair short of the bucket's end in floating point: nothing to do
            return
        fine, coarse, k = self._fine, self._coarse_level, self.per_coarse
        if idx - self._index > WALK_LIMIT:  # a long idle gap: jump, then recount each window
            self._absorb()
            fine.jump(idx)
            coarse.jump(idx // k)
        else:
            for cur in range(self._index, idx):
                self._absorb()
                fine.finish()
                if (cur + 1) % k == 0:
                    coarse.finish()
        self._index, self._slot = idx, fine.ring.slot
        self._until = (idx + 1) * self.width

    def _absorb(self) -> None:
        """Add the current fine bucket, which ends now, to the coarse bucket it falls in."""
        fine, coarse = self._fine, self._coarse_level
        slot, cslot = fine.ring.slot, coarse.ring.slot
        coarse.good[cslot] += fine.good[slot]
        coarse.bad[cslot] += fine.bad[slot]

    def burns(self) -> dict[int, Burn]:
        """Every window's counts and burn rate now, keyed by window seconds."""
        now = self.clock()
        idx = int(now // self.width)
        with self._lock:
            if idx > self._index:
                self._advance(idx)
            fine, coarse = self._fine, self._coarse_level
            position = now / self.width  # in fine buckets
            rest = 1.0 - max(0.0, min(1.0, position - self._index))  # share of the oldest bucket still inside
            coarse_rest = 1.0 - max(0.0, min(1.0, position / self.per_coarse - coarse.ring.index))
            g0, b0 = self._good[self._slot], self._bad[self._slot]
            cslot = coarse.ring.slot
            cg0, cb0 = coarse.good[cslot] + g0, coarse.bad[cslot] + b0  # the coarse bucket so far
            out = {}
            for i, seconds in enumerate(self.window_seconds):
                if self._coarse[i]:
                    g, b = coarse.answer(self._place[i], cg0, cb0, coarse_rest)
                else:
                    g, b = fine.answer(self._place[i], g0, b0, rest)
                total = g + b
                out[seconds] = Burn(seconds, g, b, (b / total / self.error_budget) if total else 0.0)
            return out

    def burn_rates(self) -> dict[int, float]:
        return {s: b.burn for s, b in self.burns().items()}

    def resolution(self, seconds: int) -> tuple[float, int]:
        """A window's bucket width (seconds) and its number of buckets (the current one included)."""
        i = self.window_seconds.index(seconds)
        if self._coarse[i]:
            return self.width * self.per_coarse, self._coarse_level.n[self._place[i]]
        return self.width, self._fine.n[self._place[i]]

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the rings (the part that grows with the period/shortest-window ratio)."""
        return sum(a.itemsize * len(a) for level in (self._fine, self._coarse_level) for a in (level.good, level.bad))


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
