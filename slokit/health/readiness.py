"""What readiness is made of, and when it changes.

Components: the app's checks, and what the runtime knows (its policy, breakers, switches, burn source), each
`pass`, `warn` (degraded, still serving) or `fail`. The service can serve when no *critical* component
fails. `Readiness` turns those verdicts into a state with hysteresis:

    starting --(every critical component passes once)--> ready
    ready --(fall verdicts in a row with a critical failure)--> not_ready
    not_ready --(rise clean verdicts in a row)--> ready

Statuses and the `name:measurement` keys follow the IETF draft "Health Check Response Format for HTTP
APIs" (draft-inadarei-api-health-check): pass and warn answer 2xx, fail answers 5xx.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slokit.names import CLOSED
from slokit.runtime.prometheus import PrometheusSource

if TYPE_CHECKING:
    from slokit.health.checks import Check, Result
    from slokit.runtime.reload import PolicyReloader
    from slokit.runtime.runtime import Runtime

PASS, WARN, FAIL = "pass", "warn", "fail"
STARTING, READY, NOT_READY = "starting", "ready", "not_ready"
TARGET = "health:readiness"  # the target of readiness transitions, beside breaker:<name> and switch:<name>


@dataclass(frozen=True)
class Component:
    name: str  # the draft's componentName (no colon)
    measurement: str  # its measurement: responseTime, state, age, rules
    kind: str  # componentType: check, breaker, switch, source, policy
    status: str  # pass | warn | fail
    critical: bool = False  # does a fail make the service not ready
    value: Any = None  # observedValue
    unit: str | None = None  # observedUnit
    output: str = ""  # why it is not pass
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name}:{self.measurement}"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"componentType": self.kind, "status": self.status, "critical": self.critical}
        if self.value is not None:
            out["observedValue"] = self.value
        if self.unit:
            out["observedUnit"] = self.unit
        if self.output:
            out["output"] = self.output
        return {**out, **self.extra}


def _name(name: str) -> str:
    return name.replace(":", "_")  # the draft keeps the colon for name:measurement


def check_component(check: Check, result: Result) -> Component:
    status = PASS if result.ok else (FAIL if check.critical else WARN)
    return Component(check.name, "responseTime", "check", status, check.critical, round(result.seconds, 6), "s",
                     result.output)


@dataclass(frozen=True)
class Rules:
    """Which runtime states make the service not ready (by default none: degraded still serves)."""

    unready_when_open: frozenset[str] = frozenset()  # breakers with no fallback: open means cannot serve
    unready_when_stale: bool = False  # a stale (or not yet answered) Prometheus source means not ready
    needs_policy: bool = False  # not ready until a runtime (with its policy) is attached


def _last_reason(runtime: Runtime, target: str) -> str:
    for t in reversed(runtime.decisions.recent):
        if t.target == target:
            return f"{t.reason}{' (' + t.slo + ')' if t.slo else ''}"
    return ""


def runtime_components(runtime: Runtime | None, reloader: PolicyReloader | None, rules: Rules) -> list[Component]:
    """The runtime's state as components: policy, breakers, switches, burn source."""
    if runtime is None:
        if not rules.needs_policy:
            return []
        return [Component("policy", "rules", "policy", FAIL, True, output="no policy loaded yet")]
    out = [_policy(runtime, reloader)]
    for name, b in sorted(runtime.breakers.items()):
        critical = name in rules.unready_when_open
        if b.state == CLOSED or b.mode in ("disabled", "metrics_only"):  # calls go through
            out.append(Component(_name(name), "state", "breaker", PASS, critical, b.state))
            continue
        why = "held open by the policy" if b.policy_held else _last_reason(runtime, b.target) or b.mode
        serves = "the service cannot serve its calls" if critical else "its fallback serves"
        out.append(Component(_name(name), "state", "breaker", FAIL if critical else WARN, critical, b.state,
                             output=f"{b.state}: {why}; {serves}"))
    for name, s in runtime.switches.state().items():
        if s["enabled"]:
            out.append(Component(_name(name), "state", "switch", PASS, False, "on"))
            continue
        why = f"override from {s['override_from']}" if s["override"] is False else "turned off by the policy"
        out.append(Component(_name(name), "state", "switch", WARN, False, "off", output=f"off: {why}"))
    out.append(_source(runtime, rules))
    return out


def _policy(runtime: Runtime, reloader: PolicyReloader | None) -> Component:
    count = len(runtime.policy.rules)
    if reloader is not None and reloader.errors:
        more = f" (and {len(reloader.errors) - 1} more)" if len(reloader.errors) > 1 else ""
        return Component("policy", "rules", "policy", WARN, True, count,
                         output=f"last reload rejected, the running policy stays: {reloader.errors[0]}{more}")
    return Component("policy", "rules", "policy", PASS, True, count)


def _source(runtime: Runtime, rules: Rules) -> Component:
    source = runtime.source
    if not isinstance(source, PrometheusSource):
        return Component("source", "age", "engine", PASS, False, 0.0, "s")
    age, stale_after = source.age, source.config.stale_after
    if age is not None and age <= stale_after:
        return Component("source", "age", "prometheus", PASS, rules.unready_when_stale, round(age, 3), "s")
    # each rule is in its if_unknown state now: say which, as the transitions of its targets do
    fallback = {r.name: r.if_unknown for r in runtime.policy.rules}
    since = "no answer yet" if age is None else f"no answer for {age:.0f}s (stale after {stale_after:g}s)"
    each = ", ".join(f"{n} {v}" for n, v in fallback.items()) or "no rules"
    return Component("source", "age", "prometheus", FAIL if rules.unready_when_stale else WARN,
                     rules.unready_when_stale, None if age is None else round(age, 3), "s",
                     f"{since}; rules in their if_unknown state: {each}", {"if_unknown": fallback})


@dataclass
class Verdict:
    state: str
    changed: bool
    reason: str  # warmed_up | failing | recovered (a change); warming_up | holding | recovering | steady
    failing: dict[str, str]  # critical component key -> output
    streak: int  # verdicts in a row against the current state


class Readiness:
    """The state with hysteresis: `fall` failing verdicts to leave ready, `rise` clean ones to come back."""

    def __init__(self, rise: int = 2, fall: int = 3):
        if rise < 1 or fall < 1:
            raise ValueError("rise and fall must be at least 1")
        self.rise, self.fall = rise, fall
        self.state = STARTING
        self.streak = 0

    def judge(self, components: Iterable[Component]) -> Verdict:
        failing = {c.key: c.output for c in components if c.critical and c.status == FAIL}
        ok = not failing
        if self.state == STARTING:
            return self._move(READY, "warmed_up", failing) if ok else Verdict(STARTING, False, "warming_up", failing, 0)
        if (self.state == READY) == ok:  # a verdict for the current state: the streak against it ends
            self.streak = 0
            return Verdict(self.state, False, "steady", failing, 0)
        self.streak += 1
        if self.state == READY:
            if self.streak >= self.fall:
                return self._move(NOT_READY, "failing", failing)
            return Verdict(READY, False, "holding", failing, self.streak)
        if self.streak >= self.rise:
            return self._move(READY, "recovered", failing)
        return Verdict(NOT_READY, False, "recovering", failing, self.streak)

    def _move(self, to: str, reason: str, failing: dict[str, str]) -> Verdict:
        streak, self.state, self.streak = self.streak, to, 0
        return Verdict(to, True, reason, failing, streak)


def status_of(state: str, components: Collection[Component]) -> str:
    """The document's status: fail when not ready, warn when ready but something is not pass."""
    if state != READY:
        return FAIL
    return PASS if all(c.status == PASS for c in components) else WARN
