"""The closed loop: burn rates (engine or Prometheus) -> policy rules -> breakers and switches.

`Runtime.evaluate()` reads each rule's SLO burn, trips a rule when its condition holds and recovers it when
the recovery condition has held for the rule's hold time (hysteresis) and the probes of its breakers pass,
then holds open / releases the breakers and turns off / on the switches the active rules name; released
targets ramp back. A background thread calls it every `evaluate_every` seconds; tests and `slokit simulate`
call it in simulated time.

The rules read the SLO's burn *as the policy sees it*: with the in-process engine, the requests the
breakers failed on purpose (refused calls no fallback answered, and probe calls) are left out, so a
breaker's own refusals cannot keep its rule active. The status page, the budget and the burn gauges show
every request. A rule that trips again soon after recovering holds longer (damping).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from slokit import windows
from slokit.promql import format_duration
from slokit.runtime.breaker import Breaker
from slokit.runtime.clock import Clock, system_clock
from slokit.runtime.decisions import Decisions, UnknownTarget
from slokit.runtime.engine import Engine, SLOTracker
from slokit.runtime.listener import request_listener
from slokit.runtime.periodic import Periodic
from slokit.runtime.prometheus import PrometheusSource
from slokit.runtime.switches import Switches
from slokit.spec.model import SLO, HttpSLI
from slokit.spec.policy import BreakerConfig, Policy, Rule, load_policy

log = logging.getLogger("slokit.runtime")


class BurnSource(Protocol):
    def burn_rates(self, key: tuple[str, str]) -> dict[int, float] | None: ...


@dataclass
class RuleState:
    active: bool = False
    below_since: float | None = None  # when the recovery condition started to hold
    why: tuple[float | None, dict[str, float]] = (None, {})  # threshold and burns of the last change
    retrips: int = 0  # quick re-trips in a row (the hold grows with them)
    hold: float = 0.0  # the hold of the current (or last) trip
    recovered_at: float | None = None  # when the rule last recovered
    waiting: tuple[str, ...] = ()  # breakers whose latest probes failed: the hold is over, they are not


_Own = tuple[SLOTracker, float | None]  # a tracker of left-out requests, the SLO's latency threshold (or None)


def burn_names(rates: Mapping[int, float], seconds: Sequence[int]) -> dict[str, float]:
    return {format_duration(s): round(rates.get(s, 0.0), 6) for s in sorted(seconds)}


class Runtime:
    def __init__(self, policy: Policy, slos: Sequence[SLO], source: BurnSource | None = None,
                 clock: Clock = system_clock, decisions: Decisions | None = None,
                 environ: Mapping[str, str] = os.environ, own_outcomes: bool = True):
        """`own_outcomes=False` counts the breakers' refusals and probes in the rules' burn like any request
        (as a Prometheus source does); only the closed-loop simulator wants that."""
        self.clock = clock
        self._own_outcomes = own_outcomes
        self.decisions = decisions or Decisions()
        self.slos = {s.key: s for s in slos}
        if source is None and policy.source is not None:  # the policy names a Prometheus to read
            source = PrometheusSource(policy.source, slos, clock, self.decisions, environ)
        self.engine = Engine.for_slos(slos, clock) if source is None else None
        self.source: BurnSource = source if source is not None else self.engine  # type: ignore[assignment]
        self.breakers: dict[str, Breaker] = {}
        self.switches = Switches({}, clock, self.decisions, environ={})
        self._environ = environ
        self.policy = Policy()
        self._states: dict[str, RuleState] = {}
        self._cause: dict[str, str] = {}  # held target -> rule name
        self._own: dict[tuple[str, str], SLOTracker] = {}  # per SLO: the requests its rules' breakers failed
        self._lock = threading.Lock()
        self._loop = Periodic("runtime", self.evaluate, lambda: self.evaluate_every)
        self.set_policy(policy)

    @classmethod
    def load(cls, spec_paths: Sequence[str], policy_path: str | None = None, **kwargs: Any) -> Runtime:
        """Specs and a policy file (or the specs' `policy:` sections); SpecError with file:line if invalid."""
        from slokit.spec.loader import load as load_specs  # the readers (OpenSLO...) only when reading specs

        spec = load_specs(spec_paths)
        policy = load_policy(policy_path, spec.slos) if policy_path else spec.policy
        for warning in policy.warnings or spec.warnings:
            log.warning("slokit policy: %s", warning)
        return cls(policy, spec.slos, **kwargs)

    # -- what the app uses ----------------------------------------------------------------------------
    def breaker(self, name: str) -> Breaker:
        """The breaker the policy names; UnknownTarget (naming the known ones) for any other name."""
        try:
            return self.breakers[name]
        except KeyError:
            raise UnknownTarget("breaker", name, self.breakers) from None

    def listener(self, service: str | None = None) -> Callable[[str, str, float], None]:
        """The middleware's `listener=`: feeds the in-process engine (a no-op when Prometheus is the source)."""
        if self.engine is None:
            return lambda route, outcome, seconds: None
        return request_listener(self.engine, list(self.slos.values()), service)

    def enabled(self, switch: str, key: object | None = None) -> bool:
        """Is the feature on (for the user `key`, while it ramps back)? UnknownTarget for a switch the policy
        does not name."""
        return self.switches.enabled(switch, key)

    def set_policy(self, policy: Policy) -> None:
        """Apply a (re)loaded policy: breakers keep their objects (the app holds them), rules keep state by name."""
        named = {b: BreakerConfig() for r in policy.rules for b in r.open_breakers}
        switches = {**{s: True for r in policy.rules for s in r.disable_switches}, **policy.switches}
        with self._lock:
            for name, config in {**named, **policy.breakers}.items():
                if name in self.breakers:
                    self.breakers[name].configure(config)
                else:
                    self.breakers[name] = Breaker(name, config, self.clock, self.decisions)
            for name, default in switches.items():
                if name not in self.switches.names:
                    self.switches.add(name, default)
                self.switches.set_ramp(name, policy.switch_ramp(name))
            self.switches.read_env(self._environ)
            old = self._states
            self._states = {r.name: old.get(r.name, RuleState()) for r in policy.rules}
            self.policy = policy
            self._wire(policy)
            self._apply()

    def _wire(self, policy: Policy) -> None:
        """Each breaker a rule names: how many of its probe and ramp calls may fail, and where its refusals
        and probes are counted so the rules leave them out (lock held)."""
        own: dict[str, list[_Own]] = {}
        allowed: dict[str, float] = {}
        for rule in policy.rules:
            slo = self.slos.get(rule.slo)
            if slo is None or not rule.open_breakers:
                continue
            entry: _Own | None = None
            if self.engine is not None and self._own_outcomes:
                tracker = self._own.get(slo.key)
                if tracker is None:
                    tracker = self._own[slo.key] = SLOTracker(slo.id, slo.error_budget, slo.period, self.clock,
                                                              self.engine.buckets_per_shortest)
                entry = (tracker, slo.sli.latency if isinstance(slo.sli, HttpSLI) else None)
            factor = rule.burn_above if rule.burn_above is not None else min(
                (c.factor for c in slo.table.by_severity(rule.severity or "")), default=1.0)
            for name in rule.open_breakers:
                allowed[name] = min(allowed.get(name, 1.0), factor * slo.error_budget)
                if entry is not None and entry not in own.setdefault(name, []):
                    own[name].append(entry)
        for name, breaker in self.breakers.items():
            if breaker.config.recover_failure_rate is None and name in allowed:
                breaker.allowance = allowed[name]  # calls that would trip the rule at full traffic fail a step
            else:
                breaker.allowance = breaker.default_allowance()
            breaker.on_own = _counter(own[name]) if name in own else None

    def policy_burn_rates(self, key: tuple[str, str]) -> dict[int, float] | None:
        """Burn per window as the rules read it: without the requests the breakers failed on purpose."""
        own = self._own.get(key)
        engine = self.engine
        if own is None or engine is None or key not in engine.trackers:
            return self.source.burn_rates(key)
        budget = own.error_budget
        mine = own.burns()
        out = {}
        for seconds, b in engine.trackers[key].burns().items():
            o = mine[seconds]
            good, bad = max(0.0, b.good - o.good), max(0.0, b.bad - o.bad)
            total = good + bad
            out[seconds] = bad / total / budget if total >= 0.5 else 0.0  # under half an event: none
        return out

    # -- the loop ------------------------------------------------------------------------------------
    def evaluate(self) -> None:
        """One evaluation of every rule; transitions are reported through `decisions`."""
        with self._lock:
            now = self.clock()
            burns = {key: self.source.burn_rates(key) for key in self.slos}
            for (service, name), rates in burns.items():  # every SLO's burn on the gauge, with rules or not
                for seconds, value in (rates or {}).items():
                    self.decisions.burn(service, name, format_duration(seconds), value)
            seen = {key: self.policy_burn_rates(key) if key in self._own and burns.get(key) is not None
                    else burns.get(key) for key in {r.slo for r in self.policy.rules}}
            for rule in self.policy.rules:
                self._evaluate_rule(rule, self._states[rule.name], now, seen.get(rule.slo))
            self._apply()
        for breaker in self.breakers.values():  # ramps move on with time, calls or not
            breaker.tick()
        self.switches.tick()

    def _evaluate_rule(self, rule: Rule, st: RuleState, now: float, rates: dict[int, float] | None) -> None:
        if rates is None:  # the source lost its answer (stale): the configured safe state
            st.active, st.below_since = rule.if_unknown == "active", None
            st.why = (None, {})
            return
        slo = self.slos.get(rule.slo)
        if not st.active:
            threshold, seen = trip(rule, rates, slo)
            if threshold is not None:
                quick = st.recovered_at is not None and now - st.recovered_at < rule.quiet
                st.retrips = st.retrips + 1 if quick else 0
                st.hold = rule.damped_hold(st.retrips)
                st.active, st.below_since, st.waiting = True, None, ()
                st.why = (threshold, burn_names(rates, seen))
                self.decisions.hold(rule.name, st.hold, quick)
            return
        if all(rates.get(w, 0.0) < rule.recover_below for w in rule.recover_windows):
            if st.below_since is None:
                st.below_since = now
            if now - st.below_since >= st.hold:
                st.waiting = tuple(b for b in rule.open_breakers if self.breakers[b].probes_failing)
                if st.waiting:  # the burn is low, but the dependency still fails its probes: hold on
                    return
                st.active, st.below_since, st.recovered_at = False, None, now
                st.why = (rule.recover_below, burn_names(rates, rule.recover_windows))
        else:
            st.below_since = None

    def _apply(self) -> None:
        """Hold open / release breakers and switches from the rules' states (lock held)."""
        want: dict[str, Rule] = {}  # target -> the first active rule naming it
        for rule in self.policy.rules:
            if self._states[rule.name].active:
                for target in rule.targets:
                    want.setdefault(target, rule)
        for name, b in self.breakers.items():
            self._move(f"breaker:{name}", want, b.policy_held, b.policy_open, b.policy_release)
        sw = self.switches
        for name in sw.names:
            self._move(f"switch:{name}", want, sw.policy_held(name), functools.partial(sw.policy_off, name),
                       functools.partial(sw.policy_on, name))

    def _move(self, target: str, want: dict[str, Rule], held: bool, hold: Callable[..., None],
              release: Callable[..., None]) -> None:
        """Hold or release one target, explained by the rule that caused the change."""
        rule: Rule | None
        if target in want and not held:
            rule = want[target]
            self._cause[target] = rule.name
        elif target not in want and held:
            rule_name = self._cause.pop(target, None)
            rule = next((r for r in self.policy.rules if r.name == rule_name), None)
        else:
            return
        st = self._states[rule.name] if rule else RuleState()
        threshold, burn = st.why
        lost = rule is not None and not burn
        detail: dict[str, Any] = {"hold": st.hold} if rule else {}
        if target in want:
            reason = "source_lost" if lost else "policy_retrip" if st.retrips else "policy"
            if st.retrips:
                detail["retrips"] = st.retrips
        else:
            reason = "source_lost" if lost else "policy_recovered"
        release_or_hold = hold if target in want else release
        release_or_hold(slo=rule.slo_id if rule else None, burn=burn, threshold=threshold, reason=reason,
                        detail=detail)

    @property
    def evaluate_every(self) -> float:
        if self.policy.evaluate_every:
            return self.policy.evaluate_every
        shortest = min((s.table.shortest.seconds for s in self.slos.values()), default=300)
        return max(0.1, shortest / 10)

    def start(self) -> None:
        """Evaluate every `evaluate_every` seconds in a daemon thread (and poll the source) until `stop()`."""
        if isinstance(self.source, PrometheusSource):
            self.source.start()
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        if isinstance(self.source, PrometheusSource):
            self.source.stop()


def _counter(entries: list[_Own]) -> Callable[[bool, float], None]:
    """A breaker's `on_own`: count a refusal or a probe in each SLO it may have failed a request of, the
    way the middleware listener counted that request (latency SLOs: by duration)."""

    def count(success: bool, seconds: float) -> None:
        for tracker, latency in entries:
            if (seconds > latency) if latency is not None else not success:
                tracker.record(0, 1)
            else:
                tracker.record(1, 0)

    return count


def trip(rule: Rule, rates: Mapping[int, float], slo: SLO | None) -> tuple[float | None, tuple[int, ...]]:
    """(threshold, windows) of the first trip condition that holds now, or (None, ())."""
    if rule.burn_above is not None:
        if windows.above(rates, rule.windows, rule.burn_above):
            return rule.burn_above, rule.windows
        return None, ()
    if slo is None or rule.severity is None:
        return None, ()
    condition = slo.table.firing(rule.severity, rates)
    return (condition.factor, condition.seconds) if condition else (None, ())
