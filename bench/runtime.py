"""Benchmark: the runtime's hot paths side by side with pybreaker, in one run on one machine.

Run: python bench/runtime.py        (results go in docs/benchmarks.md, section "Runtime")

Per-call costs are the best of several timeit repeats (the least disturbed), in microseconds:
recording one event into the engine, one request through the middleware listener, `allow()` on a
closed breaker, a full protected call (`breaker.call(fn)`) against pybreaker's `call(fn)`, and the
floors (calling `fn` bare, one attribute check). Memory per SLO is the ring's bytes plus what
tracemalloc sees for building one tracker.
"""

from __future__ import annotations

import platform
import sys
import threading
import time
import timeit
import tracemalloc
from importlib.metadata import version

import pybreaker

from slokit.runtime import Breaker, Engine, ManualClock, Runtime, SLOTracker, parse_policy, request_listener
from slokit.spec.model import SLO, HttpSLI

MONTH = 30 * 86400
N = 200_000
REPEAT = 7


def per_call(stmt, number: int = N) -> float:
    """Best-of-REPEAT microseconds per call."""
    return min(timeit.repeat(stmt, number=number, repeat=REPEAT)) / number * 1e6


def noop() -> None:
    return None


class Flag:
    closed = True


def main() -> None:
    slo = SLO("checkout", "availability", 99.9, MONTH, HttpSLI("checkout", route="/pay"), None)
    engine = Engine.for_slos([slo])
    tracker = engine.trackers[slo.key]
    listener = request_listener(engine, [slo])
    ours = Breaker("payments")
    theirs = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=30)
    flag = Flag()
    lock = threading.Lock()

    def lock_only() -> None:
        with lock:
            pass

    rows = [
        ("floor: call fn() bare", per_call(noop)),
        ("floor: one attribute check", per_call(lambda: flag.closed)),
        ("floor: acquire + release a Lock", per_call(lock_only)),
        ("slokit engine: record(good=1)", per_call(lambda: tracker.record(1))),
        ("slokit listener: one request (route -> SLO -> record)", per_call(lambda: listener("/pay", "good", 0.01))),
        ("slokit breaker: allow() (closed)", per_call(ours.allow)),
        ("slokit breaker: allow() + record(True)", per_call(lambda: ours.allow() and ours.record(True))),
        ("slokit breaker: call(fn)", per_call(lambda: ours.call(noop))),
        ("pybreaker: call(fn)", per_call(lambda: theirs.call(noop), number=N // 4)),
    ]

    # Two threads recording into one tracker: the lock's price under contention.
    def hammer(count: int) -> None:
        for _ in range(count):
            tracker.record(1)

    count = 200_000
    threads = [threading.Thread(target=hammer, args=(count,)) for _ in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows.append(("slokit engine: record(), 2 threads, per event", (time.perf_counter() - start) / (2 * count) * 1e6))

    clock = ManualClock()
    runtime = Runtime(parse_policy("bench", """
version: slokit/policy/v1
rules:
  - {name: page, slo: checkout-availability, when: {severity: page}, open_breakers: [payments]}
  - {name: ticket, slo: checkout-availability, when: {severity: ticket}, disable_switches: [extras]}
""", [slo]), [slo], clock=clock, environ={})
    rows.append(("slokit runtime: evaluate() with 2 rules", per_call(runtime.evaluate, number=20_000)))

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    trackers = [SLOTracker(f"s{i}", 0.001, MONTH) for i in range(100)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    traced = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(trackers)

    print(f"Python {platform.python_version()} on {platform.machine()}, pybreaker {version('pybreaker')}\n")
    print("| path | µs per call |\n|---|---:|")
    for name, us in rows:
        print(f"| {name} | {us:.3f} |")
    print("\n| memory per SLO (30d period, 30s buckets, 8641 of them) | bytes |\n|---|---:|")
    print(f"| ring arrays (good + bad, int64) | {trackers[0].memory_bytes} |")
    print(f"| tracemalloc, whole tracker | {traced:.0f} |")
    for period, name in ((86400, "1d"), (7 * 86400, "7d"), (28 * 86400, "28d"), (90 * 86400, "90d")):
        print(f"| ring arrays, {name} period | {SLOTracker('x', 0.001, period).memory_bytes} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
