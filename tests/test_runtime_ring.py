"""The one ring of time buckets (engine, period budget, breaker time window, retry budget): emptying what time
passed, at most one lap, and the engine's recount after an idle gap agreeing with its bucket-by-bucket walk."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from slokit.runtime import ManualClock, SLOTracker
from slokit.runtime import engine as engine_module
from slokit.runtime.ring import Ring

DAY = 86400


def test_advance_empties_the_buckets_time_passed_and_says_what_left() -> None:
    ring = Ring(5, 2, index=10)
    for i in range(10, 15):
        assert ring.advance(i) == (0, 0)
        ring.counts[0][ring.slot] += i
        ring.counts[1][ring.slot] += 1
    assert ring.sum(0, 10, 15) == sum(range(10, 15)) and ring.sum(1, 10, 15) == 5
    assert ring.advance(16) == (10 + 11, 2)  # buckets 15 and 16 reuse the slots of 10 and 11
    assert ring.sum(0, 12, 17) == 12 + 13 + 14 and ring.sum(0, 13, 15) == 13 + 14  # wraps around the end
    assert ring.advance(12) == (0, 0) and ring.index == 16  # time never goes back
    assert ring.advance(16 + 1000) == (12 + 13 + 14, 3)  # more than a lap: everything left, once
    assert list(ring.counts[0]) == [0] * 5 and ring.index == 1016


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 9), st.lists(st.tuples(st.integers(0, 12), st.integers(0, 9)), max_size=40))
def test_emptied_counts_keep_running_totals_exact(size: int, steps: list[tuple[int, int]]) -> None:
    """Property: a total kept from `advance`'s return value is always the sum of the ring."""
    ring, total = Ring(size, 1), 0
    for gap, n in steps:
        total -= ring.advance(ring.index + gap)[0]
        ring.counts[0][ring.slot] += n
        total += n
        assert total == sum(ring.counts[0])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=40))
def test_recounting_after_a_gap_equals_walking_every_bucket(steps: list[tuple[int, int, int]]) -> None:
    """Property: the engine's two ways of moving on (walk each bucket, recount from the ring) agree."""
    clocks, trackers = [], []
    for limit in (0, 10**9):  # always recount; always walk
        engine_module.WALK_LIMIT = limit
        clocks.append(ManualClock())
        trackers.append(SLOTracker("s", 0.01, DAY, clocks[-1]))
    try:
        for gap, good, bad in steps:
            for clock, tracker, limit in zip(clocks, trackers, (0, 10**9), strict=True):
                engine_module.WALK_LIMIT = limit
                clock.advance(gap)
                tracker.record(good, bad)
        recounted, walked = trackers
        assert recounted.burns() == walked.burns()
    finally:
        engine_module.WALK_LIMIT = 64


def test_the_first_event_after_days_of_silence_does_not_walk_the_missed_buckets(monkeypatch) -> None:
    clock = ManualClock()
    tracker = SLOTracker("s", 0.001, 30 * DAY, clock)
    tracker.record(good=10, bad=1)
    moves = []
    real = Ring.advance
    monkeypatch.setattr(Ring, "advance", lambda self, index: moves.append(index) or real(self, index))
    clock.advance(2.9 * DAY)  # 8352 buckets of 30s, 835 of 5m: within one lap of the 3d ring
    tracker.record(good=1)
    assert len(moves) == 2  # one pass over each ring (30s and 5m), not one step per missed bucket
    burns = tracker.burns()
    assert burns[300].good == 1 and burns[3 * DAY].bad > 0  # the old bad event is still inside 3d
