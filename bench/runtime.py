"""Benchmark: the runtime's hot paths side by side with pybreaker, in one run on one machine.

Run: python bench/runtime.py        (results go in docs/benchmarks.md, section "Runtime")

Every path runs once per round, the rounds interleaved (so drift and the other processes on the machine
hit every path alike); a path's figure is the median over the rounds, in microseconds per call. The ratio
to pybreaker's closed `call(fn)` is the median of the per-round ratios. The paths: recording one event
into the engine, one request through the middleware listener, `allow()` on a closed breaker, a full
protected call (`breaker.call(fn)`, the outcome recorded) against pybreaker's `call(fn)`, the same with
a failure in the breaker's window (the locked path), and the floors (calling `fn` bare, one attribute
check, a lock). Then the closed-loop simulator's speed, and memory per SLO.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import threading
import time
import timeit
import tracemalloc
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pybreaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this tree's slokit, not an installed one

from slokit.runtime import (  # noqa: E402
    Breaker,
    BreakerConfig,
    Engine,
    ManualClock,
    Runtime,
    SLOTracker,
    parse_policy,
    request_listener,
)
from slokit.runtime.closedloop import log as closedloop_log  # noqa: E402
from slokit.runtime.closedloop import run as closed_loop  # noqa: E402
from slokit.runtime.scenario import read_scenario  # noqa: E402
from slokit.spec.model import SLO, HttpSLI  # noqa: E402

MONTH = 30 * 86400
N = 50_000  # calls per path per round
ROUNDS = 15


def noop() -> None:
    return None


def fail() -> None:
    raise ConnectionError("down")


class Flag:
    closed = True


def per_call(stmt: Callable[[], object], number: int = N) -> float:
    """Microseconds per call, one timeit run."""
    return timeit.timeit(stmt, number=number) / number * 1e6


def main() -> None:
    slo = SLO("checkout", "availability", 99.9, MONTH, HttpSLI("checkout", route="/pay"), None)
    engine = Engine.for_slos([slo])
    tracker = engine.trackers[slo.key]
    listener = request_listener(engine, [slo])
    ours = Breaker("payments")
    theirs = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=30)
    # a breaker whose window holds one failure: every call takes the lock (the path after any failure)
    dirty = Breaker("search", BreakerConfig(window_size=10_000_000, min_calls=10_000_000))
    try:
        dirty.call(fail)
    except ConnectionError:
        pass
    flag = Flag()
    lock = threading.Lock()

    def lock_only() -> None:
        with lock:
            pass

    paths: list[tuple[str, Callable[[], object]]] = [
        ("floor: call fn() bare", noop),
        ("floor: one attribute check", lambda: flag.closed),
        ("floor: acquire + release a Lock", lock_only),
        ("slokit engine: record(good=1)", lambda: tracker.record(1)),
        ("slokit listener: one request (route -> SLO -> record)", lambda: listener("/pay", "good", 0.01)),
        ("slokit breaker: allow() (closed)", ours.allow),
        ("slokit breaker: allow() + record(True)", lambda: ours.allow() and ours.record(True)),
        ("slokit breaker: call(fn)", lambda: ours.call(noop)),
        ("slokit breaker: call(fn), a failure in the window (locked path)", lambda: dirty.call(noop)),
        ("pybreaker: call(fn)", lambda: theirs.call(noop)),
    ]
    samples: dict[str, list[float]] = {name: [] for name, _ in paths}
    for _ in range(ROUNDS):
        for name, stmt in paths:
            samples[name].append(per_call(stmt))
    median = {name: statistics.median(values) for name, values in samples.items()}
    peer = samples["pybreaker: call(fn)"]

    def ratio(name: str) -> float:
        return statistics.median(ours_ / theirs_ for ours_, theirs_ in zip(samples[name], peer, strict=True))

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
    contended = (time.perf_counter() - start) / (2 * count) * 1e6

    clock = ManualClock()
    runtime = Runtime(parse_policy("bench", """
version: slokit/policy/v1
rules:
  - {name: page, slo: checkout-availability, when: {severity: page}, open_breakers: [payments]}
  - {name: ticket, slo: checkout-availability, when: {severity: ticket}, disable_switches: [extras]}
""", [slo]), [slo], clock=clock, environ={})
    evaluate = statistics.median(per_call(runtime.evaluate, number=2_000) for _ in range(5))

    # The closed-loop simulator: a 2h outage at 10 req/s (126000 simulated requests, as in the tests).
    closedloop_log.disabled = True
    scenario = read_scenario("bench", """
version: slokit/scenario/v1
duration: 3h30m
traffic: {slo: checkout-availability, rate: 10}
dependency: {breaker: payments, faults: [{from: 1h, to: 3h, down: true}]}
""")
    policy = parse_policy("bench", "version: slokit/policy/v1\nrules:\n  - {name: page, slo: checkout-availability,"
                                   " when: {severity: page}, open_breakers: [payments]}\n", [slo])
    start = time.perf_counter()
    closed_loop(scenario, policy, [slo])
    simulated = 3.5 * 3600 * 10 / (time.perf_counter() - start)

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    trackers = [SLOTracker(f"s{i}", 0.001, MONTH) for i in range(100)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    traced = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(trackers)

    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Python {platform.python_version()} on {platform.machine()}, pybreaker {version('pybreaker')}; "
          f"{ROUNDS} interleaved rounds of {N} calls per path, medians; load average {load}\n")
    print("| path | µs per call | vs pybreaker call(fn) |\n|---|---:|---:|")
    for name, _ in paths:
        shown = f"{ratio(name):.2f}x" if name.startswith(("slokit breaker: call", "pybreaker")) else ""
        print(f"| {name} | {median[name]:.3f} | {shown} |")
    print(f"| slokit engine: record(), 2 threads, per event | {contended:.3f} | |")
    print(f"| slokit runtime: evaluate() with 2 rules | {evaluate:.3f} | |")
    print(f"\nclosed-loop simulator: {simulated:,.0f} simulated requests per second (a 2h outage at 10 req/s)")
    print("\n| memory per SLO (30d period: 30s buckets up to the 30m window, 5m buckets up to 3d) | bytes |")
    print("|---|---:|")
    print(f"| ring arrays (good + bad, int64, both resolutions) | {trackers[0].memory_bytes} |")
    print(f"| tracemalloc, whole tracker | {traced:.0f} |")
    for period, label in ((86400, "1d"), (7 * 86400, "7d"), (28 * 86400, "28d"), (90 * 86400, "90d")):
        print(f"| ring arrays, {label} period | {SLOTracker('x', 0.001, period).memory_bytes} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
