"""A closed loop in simulated time: the runtime's decisions feed back into what the SLO sees.

`slokit simulate` replays recorded events, which cannot change when a breaker opens. Here the traffic is
a model instead: `rate` requests a second, each calling the dependency through the policy's breaker (the
real `Breaker`, the real `Runtime`, a `ManualClock`). A call the breaker lets through succeeds or fails as
the scenario's faults say; a refused call is answered by a fallback (a good request) or fails the
request. The middleware listener counts each request into the engine, the runtime evaluates every bucket,
and the summary says what the policy did for each fault: how soon it tripped, how many calls still reached
the broken dependency, whether it flapped, how soon it closed after the fault ended, and how much error
budget the whole run spent. So a policy can be tested for lock-out and flapping before it is trusted.

A policy that reads Prometheus (`source:`) is simulated with the in-process engine, but as Prometheus
counts: refusals and probes count against the SLO like every other request (the recorded rules cannot
tell them apart), which is where a policy can lock itself out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from slokit import names
from slokit.errors import InputError, Problem
from slokit.runtime.clock import ManualClock
from slokit.runtime.decisions import Decisions, Transition
from slokit.runtime.listener import request_listener
from slokit.runtime.runtime import Runtime
from slokit.runtime.scenario import Fault, Scenario
from slokit.spec.model import SLO, HttpSLI
from slokit.spec.policy import Policy

# The simulated decisions are logged here; `slokit simulate --closed-loop` prints them as JSON lines instead.
log = logging.getLogger("slokit.runtime.closedloop")


@dataclass
class FaultReport:
    """What happened around one fault. Times are seconds; None: it did not happen within the run."""

    fault: Fault
    tripped_at: float | None = None  # the breaker left closed (or was not closed when the fault began)
    closed_at: float | None = None  # closed again with all traffic, after the fault ended
    calls: int = 0  # calls that reached the dependency during the fault
    calls_after_trip: int = 0
    requests_after_trip: int = 0
    full_traffic_calls: int = 0  # calls through a closed breaker during the fault, after the trip
    trips: int = 0  # moves to open from closed or from a ramp, from the fault's start until closed again

    def as_json(self) -> dict[str, Any]:
        f = self.fault
        after = self.requests_after_trip
        return {"from": f.start, "to": f.end, "error_ratio": f.error_ratio, "latency": f.latency,
                "tripped_after": None if self.tripped_at is None else round(self.tripped_at - f.start, 3),
                "closed_after": None if self.closed_at is None else round(self.closed_at - f.end, 3),
                "calls": self.calls, "calls_after_trip": self.calls_after_trip, "requests_after_trip": after,
                "broken_share_after_trip": round(self.calls_after_trip / after, 6) if after else 0.0,
                "full_traffic_calls": self.full_traffic_calls, "trips": self.trips}


@dataclass
class Result:
    transitions: list[dict[str, Any]]
    summary: dict[str, Any]
    faults: list[FaultReport] = field(default_factory=list)
    violations: list[Problem] = field(default_factory=list)  # unmet expectations, at the scenario's lines


class _Tally:
    """Good and bad requests per SLO over the whole run (shaped like the engine for the listener)."""

    class Counts:
        def __init__(self, budget: float, period: int):
            self.budget, self.period, self.good, self.bad = budget, period, 0, 0

        def record(self, good: int = 0, bad: int = 0) -> None:
            self.good += good
            self.bad += bad

    def __init__(self) -> None:
        self.trackers: dict[tuple[str, str], _Tally.Counts] = {}

    def add_slo(self, key: tuple[str, str], error_budget: float, period: int) -> _Tally.Counts:
        self.trackers[key] = counts = _Tally.Counts(error_budget, period)
        return counts


def _find(scenario: Scenario, policy: Policy, slos: Sequence[SLO]) -> SLO:
    """The scenario's SLO, checking that it and the breaker and switches it names exist."""
    found = [s for s in slos if s.id == scenario.slo]
    problems = []
    if len(found) != 1:
        known = ", ".join(sorted(s.id for s in slos))
        problems.append(Problem(scenario.file, 0, "traffic.slo", f"no SLO {scenario.slo!r} in the specs "
                                f"(known: {known})" if not found else f"{scenario.slo!r} names two SLOs"))
    breakers = set(policy.breakers) | {b for r in policy.rules for b in r.open_breakers}
    if scenario.breaker not in breakers:
        problems.append(Problem(scenario.file, scenario.line, "dependency.breaker", f"no breaker "
                                f"{scenario.breaker!r} in the policy (known: {', '.join(sorted(breakers)) or 'none'})"))
    switches = set(policy.switches) | {s for r in policy.rules for s in r.disable_switches}
    problems += [Problem(scenario.file, 0, "traffic.features", f"no switch {name!r} in the policy")
                 for name in scenario.features if name not in switches]
    if problems:
        raise InputError(problems)
    return found[0]


class _Watch:
    """Follows the breaker's transitions as they happen and keeps each fault's report."""

    def __init__(self, target: str, reports: list[FaultReport]):
        self.target, self.reports = target, reports

    def __call__(self, t: Transition) -> None:
        if t.target != self.target:
            return
        for r in self.reports:
            if t.time < r.fault.start or r.closed_at is not None:
                continue
            if r.tripped_at is None and t.from_state == names.CLOSED:
                r.tripped_at = t.time
            if t.to_state == names.OPEN and t.from_state in (names.CLOSED, names.RAMP):
                r.trips += 1
            if t.to_state == names.CLOSED and t.time >= r.fault.end:
                r.closed_at = t.time

    def begins(self, report: FaultReport, state: str) -> None:
        """A fault begins: a breaker that is already degraded counts as tripped from its start."""
        if report.tripped_at is None and state != names.CLOSED:
            report.tripped_at = report.fault.start

    def ends(self, report: FaultReport, state: str) -> None:
        """A fault ends: a breaker that is closed has nothing to close."""
        if report.closed_at is None and state == names.CLOSED:
            report.closed_at = report.fault.end


def run(scenario: Scenario, policy: Policy, slos: Sequence[SLO]) -> Result:
    """Simulate the scenario under the policy; every transition and the summary."""
    slo = _find(scenario, policy, slos)
    prometheus = policy.source is not None
    clock = ManualClock(0.0)
    decisions = Decisions(logger=log)
    transitions: list[Transition] = []
    decisions.listeners.append(transitions.append)
    runtime = Runtime(replace(policy, source=None), slos, clock=clock, decisions=decisions, environ={},
                      own_outcomes=not prometheus)
    breaker = runtime.breaker(scenario.breaker)
    reports = [FaultReport(f) for f in scenario.faults]
    watch = _Watch(breaker.target, reports)
    decisions.listeners.append(watch)
    engine, tally = runtime.engine, _Tally()
    assert engine is not None  # no source: the in-process engine
    if isinstance(slo.sli, HttpSLI):  # the middleware's listener, as the app would have it
        route, service = slo.sli.route or "/", slo.sli.service
        feeds = [request_listener(engine, slos, service), request_listener(tally, slos, service)]
    else:  # not a middleware SLI: the requests are the SLO's events
        route, tracker, own = "/", engine.trackers[slo.key], tally.add_slo(slo.key, slo.error_budget, slo.period)
        feeds = [lambda r, outcome, s: tracker.record(outcome == names.GOOD, outcome == names.BAD),
                 lambda r, outcome, s: own.record(outcome == names.GOOD, outcome == names.BAD)]
    every = scenario.evaluate_every or runtime.evaluate_every
    n = int(scenario.duration * scenario.rate)
    totals = {"requests": n, "good": 0, "bad": 0, "refused": 0, "served_by_fallback": 0, "dependency_calls": 0,
              "broken_calls": 0}
    next_eval, index, debt = 0.0, 0, 0.0
    current: FaultReport | None = None
    users, features, fallback = scenario.users, scenario.features, scenario.fallback
    for i in range(n):
        now = i / scenario.rate
        while next_eval <= now:
            clock.set(next_eval)
            runtime.evaluate()
            next_eval += every
        clock.set(now)
        if current is not None and current.fault.end <= now:
            watch.ends(current, breaker.state)
            current, index, debt = None, index + 1, 0.0
        if current is None and index < len(reports) and reports[index].fault.start <= now:
            current = reports[index]
            watch.begins(current, breaker.state)
        fault = current.fault if current is not None else None
        key = f"user-{i % users}" if users else None
        for name in features:
            runtime.enabled(name, key)
        tripped = current is not None and current.tripped_at is not None  # before this call
        if breaker.allow(key, fallback=fallback):
            full, failed = breaker.state == names.CLOSED, False
            if fault is not None and fault.error_ratio:
                debt += fault.error_ratio
                if debt >= 1 - 1e-9:
                    debt, failed = debt - 1, True
            seconds = fault.latency if fault is not None and fault.latency is not None else scenario.latency
            breaker.record(not failed, seconds)
            totals["dependency_calls"] += 1
            if current is not None:
                current.calls += 1
                totals["broken_calls"] += current.fault.broken
                if tripped:
                    current.calls_after_trip += 1
                    current.full_traffic_calls += full
            ok = not failed
        else:
            totals["refused"] += 1
            totals["served_by_fallback"] += fallback
            ok, seconds = fallback, 0.0
        if tripped and current is not None:
            current.requests_after_trip += 1
        outcome = names.GOOD if ok else names.BAD
        totals["good" if ok else "bad"] += 1
        for feed in feeds:
            feed(route, outcome, seconds)
    while next_eval <= scenario.duration:  # evaluate to the end of the run
        clock.set(next_eval)
        runtime.evaluate()
        next_eval += every
    if current is not None and current.fault.end <= scenario.duration:
        watch.ends(current, breaker.state)
    budget = {f"{k[0]}-{k[1]}": round(c.bad / (c.budget * scenario.rate * c.period), 6)
              for k, c in sorted(tally.trackers.items())}
    summary = {**totals, "transitions": len(transitions), "budget_spent": budget,
               "source": "prometheus (simulated: refusals count as errors)" if prometheus else "engine",
               "faults": [r.as_json() for r in reports]}
    return Result([t.as_json() for t in transitions], summary, reports, check(scenario, reports))


def check(scenario: Scenario, reports: list[FaultReport]) -> list[Problem]:
    """The scenario's expectations each fault that breaks the dependency did not meet."""
    e, out = scenario.expect, []

    def miss(path: str, fault: Fault, message: str) -> None:
        out.append(Problem(scenario.file, e.lines.get(path, 0), f"expect.{path}",
                           f"fault at line {fault.line} ({_show(fault.start)}..{_show(fault.end)}): {message}"))

    for r in reports:
        f = r.fault
        if not f.broken:
            continue
        if e.trip_within is not None and (r.tripped_at is None or r.tripped_at - f.start > e.trip_within):
            when = "never" if r.tripped_at is None else f"after {_show(r.tripped_at - f.start)}"
            miss("trip_within", f, f"the breaker tripped {when}, expected within {_show(e.trip_within)}")
        if e.close_within is not None and (r.closed_at is None or r.closed_at - f.end > e.close_within):
            when = "was not closed again by the end of the run (a lock-out?)" if r.closed_at is None else \
                f"closed {_show(r.closed_at - f.end)} after it ended"
            miss("close_within", f, f"the breaker {when}, expected within {_show(e.close_within)}")
        share = r.calls_after_trip / r.requests_after_trip if r.requests_after_trip else 0.0
        if e.max_broken_calls is not None and share > e.max_broken_calls:
            miss("max_broken_calls", f, f"{r.calls_after_trip} of {r.requests_after_trip} requests after the trip "
                 f"reached the broken dependency ({share:.2%}), expected at most {e.max_broken_calls:.2%}")
        if e.max_trips is not None and r.trips > e.max_trips:
            miss("max_trips", f, f"the breaker tripped {r.trips} times (flapping), expected at most {e.max_trips}")
    return out


def _show(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v) or "0s"
