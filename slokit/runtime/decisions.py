"""Every decision transition, explained: a structured log line, Prometheus metrics, an OTel span event.

Breakers, switches and the policy report here; nothing decides without saying why (SLO, windows, burn
rates, thresholds). The last transitions are kept (bounded) for `status` and tests.
"""

from __future__ import annotations

import collections
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from slokit import names
from slokit.errors import SlokitError

try:  # optional: only when opentelemetry-api is installed
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - exercised where otel is absent
    _otel_trace = None  # type: ignore[assignment]

log = logging.getLogger("slokit.runtime")


class UnknownTarget(SlokitError, KeyError):
    """The app asked for a breaker or switch the policy does not name: a typo must fail loudly, not pass."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name, self.known = kind, name, tuple(sorted(known))
        self.message = f"no {kind} {name!r} in the policy (known: {', '.join(self.known) or 'none'})"
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return self.message


@dataclass(frozen=True)
class Transition:
    time: float
    target: str  # "breaker:payments", "switch:recommendations"
    from_state: str
    to_state: str
    reason: str  # "policy", "failure_rate", "probes_failed", "ramp_step", "ramp_done", "override", ... (docs)
    slo: str | None = None
    burn: dict[str, float] = field(default_factory=dict)  # window name -> burn rate
    threshold: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = {"time": self.time, "slo": self.slo, "target": self.target, "from": self.from_state,
               "to": self.to_state, "reason": self.reason, "burn": self.burn}
        if self.threshold is not None:
            out["threshold"] = self.threshold
        if self.detail:
            out["detail"] = self.detail
        return out


class Metrics:
    """The runtime's Prometheus metrics on one registry (a new one per instance unless given)."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.breaker_state = Gauge(names.BREAKER_STATE, "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
                                   ["breaker"], registry=r)
        self.switch_enabled = Gauge(names.SWITCH_ENABLED, "Degrade switch: 1 on, 0 degraded (off).", ["switch"],
                                    registry=r)
        self.transitions = Counter(names.DECISION_TRANSITIONS, "Decision transitions of breakers and switches.",
                                   ["target", "from_state", "to_state"], registry=r)
        self.burn_rate = Gauge(names.RUNTIME_BURN_RATE, "Burn rate per window as the runtime sees it.",
                               [names.SERVICE, names.NAME, names.WINDOW], registry=r)
        self.source_errors = Counter(names.SOURCE_ERRORS, "Failed polls of the burn-rate source, by reason.",
                                     ["reason"], registry=r)
        self.policy_hold = Gauge(names.POLICY_HOLD, "Hold of a rule's current or last trip, grown by re-trips.",
                                 ["rule"], registry=r)
        self.policy_retrips = Counter(names.POLICY_RETRIPS, "Trips of a rule soon after it recovered.", ["rule"],
                                      registry=r)


class Decisions:
    """Where transitions go. Listeners (e.g. `slokit simulate`'s printer) get each Transition too."""

    def __init__(self, metrics: Metrics | None = None, keep: int = 1000, logger: logging.Logger = log):
        self.metrics = metrics or Metrics()
        self.recent: collections.deque[Transition] = collections.deque(maxlen=keep)
        self.listeners: list[Callable[[Transition], None]] = []
        self.log = logger

    def transition(self, t: Transition) -> None:
        self.recent.append(t)
        kind, _, name = t.target.partition(":")
        self.metrics.transitions.labels(t.target, t.from_state, t.to_state).inc()
        if kind == "breaker":
            self.metrics.breaker_state.labels(name).set(names.STATE_VALUE[t.to_state])
        elif kind == "switch":
            self.metrics.switch_enabled.labels(name).set(_share(t.to_state, t.detail))
        record = t.as_json()
        self.log.warning("slokit decision %s", json.dumps(record, sort_keys=True), extra={"slokit": record})
        _span_event(t)
        for listener in self.listeners:
            listener(t)

    def initial(self, target: str, state: str) -> None:
        """Set a gauge for a target that exists but has not moved yet (dashboards see it from the start)."""
        kind, _, name = target.partition(":")
        if kind == "breaker":
            self.metrics.breaker_state.labels(name).set(names.STATE_VALUE[state])
        elif kind == "switch":
            self.metrics.switch_enabled.labels(name).set(1 if state == names.ON else 0)

    def source_error(self, reason: str, message: str) -> None:
        self.metrics.source_errors.labels(reason).inc()
        self.log.warning("slokit source error (%s): %s", reason, message,
                         extra={"slokit": {"source_error": reason, "message": message}})

    def burn(self, service: str, name: str, window: str, value: float) -> None:
        self.metrics.burn_rate.labels(service, name, window).set(value)

    def hold(self, rule: str, seconds: float, retrip: bool) -> None:
        """A rule tripped and holds for `seconds` (longer after a quick re-trip)."""
        self.metrics.policy_hold.labels(rule).set(seconds)
        if retrip:
            self.metrics.policy_retrips.labels(rule).inc()


def _share(state: str, detail: dict[str, Any]) -> float:
    """A switch's gauge: 1 on, 0 off, the admitted share while it ramps."""
    if state == names.RAMP:
        return float(detail.get("admit_percent", 0.0)) / 100
    return 1.0 if state == names.ON else 0.0


def _span_event(t: Transition) -> None:
    if _otel_trace is None:
        return
    span = _otel_trace.get_current_span()
    if not span.is_recording():
        return
    attributes: dict[str, Any] = {"slokit.target": t.target, "slokit.from": t.from_state, "slokit.to": t.to_state,
                                  "slokit.reason": t.reason}
    if t.slo:
        attributes["slokit.slo"] = t.slo
    for window, burn in t.burn.items():
        attributes[f"slokit.burn.{window}"] = burn
    span.add_event("slokit.decision", attributes)
