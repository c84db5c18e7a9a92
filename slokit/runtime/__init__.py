"""Run time: the burn-rate engine, its Prometheus twin, and the decisions they drive.

    runtime = Runtime.load(["slos/"], "policy.yml")              # in-process engine (or the specs' policy:)
    app = SLOMiddleware(app, ..., listener=runtime.listener())
    runtime.start()
    if runtime.enabled("recommendations"): ...
    with runtime.breaker("payments"): call_payments()

Names import lazily, so `import slokit.runtime` (or `slokit.runtime.ring`) loads nothing it does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slokit.runtime.annotations import attach_grafana
    from slokit.runtime.breaker import Breaker, BreakerOpen
    from slokit.runtime.clock import ManualClock, system_clock
    from slokit.runtime.decisions import Decisions, Metrics, Transition, UnknownTarget
    from slokit.runtime.engine import Burn, Engine, SLOTracker
    from slokit.runtime.listener import request_listener
    from slokit.runtime.prometheus import PrometheusSource
    from slokit.runtime.reload import PolicyReloader
    from slokit.runtime.runtime import Runtime
    from slokit.runtime.switches import Switches, admin_app
    from slokit.spec.policy import BreakerConfig, Policy, Rule, SourceConfig, load_policy, parse_policy

_LAZY = {
    "attach_grafana": "slokit.runtime.annotations",
    "Breaker": "slokit.runtime.breaker",
    "BreakerOpen": "slokit.runtime.breaker",
    "ManualClock": "slokit.runtime.clock",
    "system_clock": "slokit.runtime.clock",
    "Decisions": "slokit.runtime.decisions",
    "Metrics": "slokit.runtime.decisions",
    "Transition": "slokit.runtime.decisions",
    "UnknownTarget": "slokit.runtime.decisions",
    "Burn": "slokit.runtime.engine",
    "Engine": "slokit.runtime.engine",
    "SLOTracker": "slokit.runtime.engine",
    "request_listener": "slokit.runtime.listener",
    "PrometheusSource": "slokit.runtime.prometheus",
    "PolicyReloader": "slokit.runtime.reload",
    "Runtime": "slokit.runtime.runtime",
    "Switches": "slokit.runtime.switches",
    "admin_app": "slokit.runtime.switches",
    # the policy model the runtime is configured with (slokit.spec.policy)
    "BreakerConfig": "slokit.spec.policy",
    "Policy": "slokit.spec.policy",
    "Rule": "slokit.spec.policy",
    "SourceConfig": "slokit.spec.policy",
    "load_policy": "slokit.spec.policy",
    "parse_policy": "slokit.spec.policy",
}

__all__ = ["Breaker", "BreakerConfig", "BreakerOpen", "ManualClock", "system_clock", "Decisions", "Metrics",
           "Transition", "UnknownTarget", "Burn", "Engine", "SLOTracker", "request_listener", "Policy", "Rule",
           "SourceConfig", "load_policy", "parse_policy", "PrometheusSource", "PolicyReloader", "Runtime",
           "Switches", "admin_app", "attach_grafana"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'slokit.runtime' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
