"""Replay a canary's events through a staged rollout (1% → 10% → 50% → 100%): when would each stage have been
promoted, held or stopped by the SLO's gate?

Input: two event streams of one SLO (slokit.runtime.simulate's formats), both recorded at full traffic: the
canary's (say, from a load test or an earlier canary) and the stable version's. At a stage of weight w the
canary gets w of each second's events and the stable version 1 - w, as a traffic split would give them.
At the end of each stage the gate's canary check runs on the last `window` seconds (minimum requests on both
sides, one-sided Fisher's exact test, tolerance: `gate.compare`, as `slokit gate` does, on counts instead
of Prometheus answers), and the gate's `stop` rule on the stage's seconds:

- pass: promote to the next stage (after the last one: 100%, promoted);
- fail: stop the rollout;
- cannot decide (too little traffic): hold the stage for another stage duration, at most `max_holds` times,
  then stop: a rollout never advances on a guess.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from slokit import gate
from slokit.runtime.simulate import Event
from slokit.spec.gate import Canary, Stop

Counts = dict[int, tuple[int, int]]  # second -> (good, bad)


def per_second(events: Iterable[tuple[Event, bool]] | Iterable[Event], slo_id: str) -> Counts:
    """Good and bad events of one SLO, summed per whole second."""
    out: dict[int, list[int]] = {}
    for item in events:
        event = item[0] if isinstance(item, tuple) else item
        if event.slo == slo_id:
            bucket = out.setdefault(int(event.time), [0, 0])
            bucket[0] += event.good
            bucket[1] += event.bad
    return {s: (g, b) for s, (g, b) in out.items()}


def _window_counts(scaled: dict[int, tuple[float, float, float, float]], start: int, end: int) -> list[int]:
    """Rounded [canary good, canary bad, baseline good, baseline bad] over seconds [start, end)."""
    sums = [0.0, 0.0, 0.0, 0.0]
    for s in range(start, end):
        for i, v in enumerate(scaled.get(s, (0.0, 0.0, 0.0, 0.0))):
            sums[i] += v
    return [round(v) for v in sums]


def _stopped(scaled: dict[int, tuple[float, float, float, float]], start: int, end: int, stop: Stop) -> bool:
    """Did the canary's error ratio stay above `stop.error_ratio` for `stop.for_` seconds in [start, end)?
    Checked on buckets of a quarter of `for` (as the gate's subquery steps); an idle bucket breaks the run."""
    step = max(1, stop.for_ // 4)
    needed, run = math.ceil(stop.for_ / step), 0
    for b in range(start, end, step):
        good, bad, _, _ = _window_counts(scaled, b, min(b + step, end))
        run = run + 1 if good + bad and bad / (good + bad) > stop.error_ratio else 0
        if run >= needed:
            return True
    return False


def simulate_rollout(slo_id: str, canary_events: Counts, baseline_events: Counts, canary: Canary, stop: Stop | None,
                     weights: Sequence[float], stage_seconds: int, max_holds: int = 2) -> Iterator[dict[str, Any]]:
    """One JSON-ready record per stage decision, then the outcome. `weights` are shares in (0, 1)."""
    if not canary_events or not baseline_events:
        raise ValueError(f"no events of {slo_id} in one of the streams")
    t = min(min(canary_events), min(baseline_events))
    last = max(max(canary_events), max(baseline_events))
    scaled: dict[int, tuple[float, float, float, float]] = {}
    stage, holds = 0, 0
    while stage < len(weights):  # bounded: each pass promotes, stops, or uses one of max_holds
        w, end = weights[stage], t + stage_seconds
        for s in range(t, end):
            cg, cb = canary_events.get(s, (0, 0))
            bg, bb = baseline_events.get(s, (0, 0))
            scaled[s] = (cg * w, cb * w, bg * (1 - w), bb * (1 - w))
        cg, cb, bg, bb = _window_counts(scaled, end - canary.window, end)
        checked, detail, value = gate.compare(canary, {canary.canary: cb, canary.baseline: bb},
                                              {canary.canary: cg + cb, canary.baseline: bg + bb})
        status = checked
        if stop and checked != gate.FAIL and _stopped(scaled, t, end, stop):
            status, detail = gate.FAIL, f"canary error ratio above {stop.error_ratio:.3%} for {stop.for_}s"
        decision = {gate.PASS: "promote", gate.FAIL: "stop"}.get(status, "hold")
        if decision == "hold" and (holds >= max_holds or end > last + 1):
            decision = "stop"
        yield {"stage": stage + 1, "weight": w, "from": t, "to": end, "decision": decision, "check": status,
               "detail": detail, "canary": value["canary"], "baseline": value["baseline"],
               "p_value": value.get("p_value")}
        if decision == "stop":
            yield {"result": "stopped", "stage": stage + 1, "weight": w, "time": end}
            return
        t = end
        stage, holds = (stage + 1, 0) if decision == "promote" else (stage, holds + 1)
    yield {"result": "promoted", "weight": 1.0, "time": t}
