"""The burn-rate engine: windows from the shared table, exact to a bucket, O(1) per event, thread-safe."""

from __future__ import annotations

import asyncio
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from slokit import windows
from slokit.runtime import Engine, ManualClock, SLOTracker, request_listener
from slokit.spec.model import SLO, HttpSLI

DAY = 86400
MONTH = 30 * DAY


def test_windows_are_the_alert_table_windows() -> None:
    tracker = SLOTracker("checkout-availability", 0.001, MONTH, ManualClock())
    assert tracker.window_seconds == tuple(w.seconds for w in windows.table(MONTH).windows)
    assert tracker.width == 30.0  # a tenth of the shortest window (5m)


def test_burn_is_error_ratio_over_budget_per_window() -> None:
    clock = ManualClock()
    tracker = SLOTracker("s", 0.001, MONTH, clock)
    for _ in range(3600):  # an hour of 100 good requests a second
        tracker.record(good=100)
        clock.advance(1)
    for _ in range(600):  # then ten minutes at 10% errors
        tracker.record(good=90, bad=10)
        clock.advance(1)
    burn = tracker.burn_rates()
    assert round(burn[300], 6) == 100.0  # 5m: all at 10% -> 0.1 / 0.001
    assert round(burn[1800], 3) == round(600 * 10 / (1800 * 100) / 0.001, 3)  # 30m: 600 of 1800s at 10%
    assert round(burn[3600], 3) == round(600 * 10 / (3600 * 100) / 0.001, 3)
    assert burn[3 * DAY] > 0


def test_no_events_means_no_burn_and_old_events_slide_out() -> None:
    clock = ManualClock(1000.0)
    tracker = SLOTracker("s", 0.01, MONTH, clock)
    assert tracker.burn_rates()[300] == 0.0
    tracker.record(bad=5)
    assert tracker.burn_rates()[300] == 100.0
    clock.advance(300 + 30)  # past the window and the 30s bucket the events fell in
    burns = tracker.burns()
    assert burns[300].bad == 0 and burns[1800].bad == 5
    clock.advance(4 * DAY)  # longer than every window: the ring starts over
    assert all(b.bad == 0 and b.good == 0 for b in tracker.burns().values())


def test_memory_is_fixed_by_the_period_not_the_traffic() -> None:
    clock = ManualClock()
    tracker = SLOTracker("s", 0.001, MONTH, clock)
    before = tracker.memory_bytes
    for _ in range(20000):
        tracker.record(good=1000, bad=1)
        clock.advance(13)  # three days of traffic, more than the longest window
    # 30s buckets up to the 30m window, 5m buckets up to 3d: (61 + 865) good and bad counts
    assert tracker.memory_bytes == before == 2 * 8 * (1800 // 30 + 1 + 3 * DAY // 300 + 1) <= 20_000


def test_each_window_is_exact_to_a_bucket_of_its_resolution_and_to_one_shortest_window() -> None:
    tracker = SLOTracker("s", 0.001, MONTH, ManualClock())
    assert [tracker.resolution(s) for s in tracker.window_seconds] == [
        (30.0, 10), (30.0, 60), (300.0, 12), (300.0, 24), (300.0, 72), (300.0, 288), (300.0, 864)]


def test_threads_lose_no_events() -> None:
    clock = ManualClock()
    tracker = SLOTracker("s", 0.001, MONTH, clock)

    def work() -> None:
        for _ in range(20000):
            tracker.record(good=1)
            tracker.record(bad=1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    burns = tracker.burns()[300]
    assert (burns.good, burns.bad) == (80000, 80000)


def test_asyncio_tasks_record_through_the_listener() -> None:
    """From async code the engine is a plain call: it never awaits and holds its lock for a few adds."""
    slos = [SLO("checkout", "availability", 99.9, MONTH, HttpSLI("checkout", route="/pay"), None)]
    engine = Engine.for_slos(slos, ManualClock())
    listener = request_listener(engine, slos)

    async def request(i: int) -> None:
        await asyncio.sleep(0)
        listener("/pay", "bad" if i % 10 == 0 else "good", 0.01)

    async def main() -> None:
        await asyncio.gather(*(request(i) for i in range(1000)))

    asyncio.run(main())
    burn = engine.trackers[("checkout", "availability")].burns()[300]
    assert (burn.good, burn.bad, round(burn.burn, 6)) == (900, 100, 100.0)


def _expected(events: list[tuple[float, int, int]], now: float, fine: float, per: int, n: int) -> tuple[float, float]:
    """Brute force over every event: the last n buckets of `per` fine buckets each, the oldest weighted by
    the share still inside."""
    cur = int(now // fine) // per
    rest = 1.0 - (now / fine / per - cur)
    good = bad = 0.0
    for t, g, b in events:
        idx = int(t // fine) // per
        if cur - n < idx <= cur:
            good, bad = good + g, bad + b
        elif idx == cur - n:
            good, bad = good + rest * g, bad + rest * b
    return good, bad


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 400, allow_nan=False), st.integers(0, 50), st.integers(0, 50)),
                min_size=1, max_size=60),
       st.floats(0, 3000, allow_nan=False))
def test_running_sums_match_brute_force(steps: list[tuple[float, int, int]], idle: float) -> None:
    """Property: however events are spread in time, each window equals a full recount of the ring."""
    clock = ManualClock()
    tracker = SLOTracker("s", 0.01, DAY, clock)  # 1d period: windows 10s..2h24m, 1s and 10s buckets
    events = []
    for dt, good, bad in steps:
        clock.advance(dt)
        tracker.record(good, bad)
        events.append((clock.now, good, bad))
    clock.advance(idle)
    burns = tracker.burns()
    for seconds in tracker.window_seconds:
        width, n = tracker.resolution(seconds)
        good, bad = _expected(events, clock.now, tracker.width, round(width / tracker.width), n)
        assert abs(burns[seconds].good - good) < 1e-6 and abs(burns[seconds].bad - bad) < 1e-6


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([3600, 86400, 7 * 86400, 28 * 86400, 30 * 86400, 90 * 86400]),
       st.floats(0.0, 0.5), st.integers(1, 5))
def test_steady_ratio_reads_the_same_in_every_window(period: int, ratio: float, per_bucket: int) -> None:
    """Property: a constant error ratio is the same burn in every window, for any period's table."""
    clock = ManualClock()
    tracker = SLOTracker("s", 0.001, period, clock)
    total = 1000
    for _ in range(round(max(tracker.window_seconds) / tracker.width) + 2):  # past the longest window
        for _ in range(per_bucket):
            tracker.record(good=total - round(total * ratio), bad=round(total * ratio))
        clock.advance(tracker.width)
    expected = round(total * ratio) / total / 0.001
    for seconds, burn in tracker.burn_rates().items():
        assert abs(burn - expected) < 1e-6 * max(1, expected), seconds


def test_middleware_listener_feeds_availability_and_latency_slos() -> None:
    clock = ManualClock()
    slos = [
        SLO("checkout", "availability", 99.9, MONTH, HttpSLI("checkout", route="/pay"), None),
        SLO("checkout", "latency", 99.0, MONTH, HttpSLI("checkout", route="/pay", latency=0.3), None),
        SLO("checkout", "all-routes", 99.0, MONTH, HttpSLI("checkout"), None),
    ]
    engine = Engine.for_slos(slos, clock)
    listener = request_listener(engine, slos)
    listener("/pay", "good", 0.05)
    listener("/pay", "good", 0.9)  # slow: bad for latency only
    listener("/pay", "bad", 0.01)  # failed: bad for availability only
    listener("/pay", "disconnect", 5.0)  # the client hung up: counted nowhere
    listener("/orders/{id}", "bad", 0.01)  # another route: only the all-routes SLO
    counts = {name: (t.burns()[300].good, t.burns()[300].bad) for (_, name), t in engine.trackers.items()}
    assert counts == {"availability": (2, 1), "latency": (2, 1), "all-routes": (2, 2)}
