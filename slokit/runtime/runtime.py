"""The closed loop: burn rates (engine or Prometheus) -> policy rules -> breakers and switches.

`Runtime.evaluate()` reads each rule's SLO burn, trips a rule when its condition holds and recovers it when
the recovery condition has held for the rule's hold time (hysteresis), then holds open / releases the
breakers and turns off / on the switches the active rules name. A background thread calls it every
`evaluate_every` seconds; tests and `slokit simulate` call it in simulated time.
"""

from __future__ import annotations

import functools
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
from slokit.runtime.engine import Engine
from slokit.runtime.listener import request_listener
from slokit.runtime.periodic import Periodic
from slokit.runtime.prometheus import PrometheusSource
from slokit.runtime.switches import Switches
from slokit.spec.model import SLO
from slokit.spec.policy import BreakerConfig, Policy, Rule, load_policy


class BurnSource(Protocol):
    def burn_rates(self, key: tuple[str, str]) -> dict[int, float] | None: ...


@dataclass
class RuleState:
    active: bool = False
    below_since: float | None = None  # when the recovery condition started to hold
    why: tuple[float | None, dict[str, float]] = (None, {})  # threshold and burns of the last change


def burn_names(rates: Mapping[int, float], seconds: Sequence[int]) -> dict[str, float]:
    return {format_duration(s): round(rates.get(s, 0.0), 6) for s in sorted(seconds)}


class Runtime:
    def __init__(self, policy: Policy, slos: Sequence[SLO], source: BurnSource | None = None,
                 clock: Clock = system_clock, decisions: Decisions | None = None,
                 environ: Mapping[str, str] = os.environ):
        self.clock = clock
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
        self._lock = threading.Lock()
        self._loop = Periodic("runtime", self.evaluate, lambda: self.evaluate_every)
        self.set_policy(policy)

    @classmethod
    def load(cls, spec_paths: Sequence[str], policy_path: str | None = None, **kwargs: Any) -> Runtime:
        """Specs and a policy file (or the specs' `policy:` sections); SpecError with file:line if invalid."""
        from slokit.spec.loader import load as load_specs  # the readers (OpenSLO...) only when reading specs

        spec = load_specs(spec_paths)
        policy = load_policy(policy_path, spec.slos) if policy_path else spec.policy
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

    def enabled(self, switch: str) -> bool:
        """Is the feature on? UnknownTarget for a switch the policy does not name."""
        return self.switches.enabled(switch)

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
            self.switches.read_env(self._environ)
            old = self._states
            self._states = {r.name: old.get(r.name, RuleState()) for r in policy.rules}
            self.policy = policy
            self._apply()

    # -- the loop ------------------------------------------------------------------------------------
    def evaluate(self) -> None:
        """One evaluation of every rule; transitions are reported through `decisions`."""
        with self._lock:
            now = self.clock()
            burns = {key: self.source.burn_rates(key) for key in self.slos}
            for (service, name), rates in burns.items():  # every SLO's burn on the gauge, with rules or not
                for seconds, value in (rates or {}).items():
                    self.decisions.burn(service, name, format_duration(seconds), value)
            for rule in self.policy.rules:
                self._evaluate_rule(rule, self._states[rule.name], now, burns.get(rule.slo))
            self._apply()

    def _evaluate_rule(self, rule: Rule, st: RuleState, now: float, rates: dict[int, float] | None) -> None:
        if rates is None:  # the source lost its answer (stale): the configured safe state
            st.active, st.below_since = rule.if_unknown == "active", None
            st.why = (None, {})
            return
        slo = self.slos.get(rule.slo)
        if not st.active:
            threshold, seen = trip(rule, rates, slo)
            if threshold is not None:
                st.active, st.below_since = True, None
                st.why = (threshold, burn_names(rates, seen))
            return
        if all(rates.get(w, 0.0) < rule.recover_below for w in rule.recover_windows):
            if st.below_since is None:
                st.below_since = now
            if now - st.below_since >= rule.hold:
                st.active, st.below_since = False, None
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
        threshold, burn = self._states[rule.name].why if rule else (None, {})
        lost = rule is not None and not burn
        reason = ("policy" if target in want else "policy_recovered") if not lost else "source_lost"
        release_or_hold = hold if target in want else release
        release_or_hold(slo=rule.slo_id if rule else None, burn=burn, threshold=threshold, reason=reason)

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
