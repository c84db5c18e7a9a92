"""Run time: the burn-rate engine, its Prometheus twin, and the decisions they drive.

    runtime = Runtime(load_policy("policy.yml", slos), slos)   # in-process engine
    app = SlokitMiddleware(app, ..., listener=request_listener(runtime.engine, slos))
    runtime.start()
    if runtime.enabled("recommendations"): ...
    with runtime.breaker("payments"): call_payments()
"""

from slokit.runtime.annotations import attach_grafana
from slokit.runtime.breaker import Breaker, BreakerConfig, BreakerOpen
from slokit.runtime.clock import ManualClock, system_clock
from slokit.runtime.decisions import Decisions, Metrics, Transition
from slokit.runtime.engine import Burn, Engine, SLOTracker
from slokit.runtime.listener import request_listener
from slokit.runtime.policy import Policy, Rule, SourceConfig, load_policy, parse_policy, policy_from_specs
from slokit.runtime.prometheus import PrometheusSource
from slokit.runtime.reload import PolicyReloader
from slokit.runtime.runtime import Runtime
from slokit.runtime.switches import Switches, admin_app

__all__ = ["Breaker", "BreakerConfig", "BreakerOpen", "ManualClock", "system_clock", "Decisions", "Metrics",
           "Transition", "Burn", "Engine", "SLOTracker", "request_listener", "Policy", "Rule", "SourceConfig",
           "load_policy", "parse_policy", "policy_from_specs", "PrometheusSource", "PolicyReloader", "Runtime",
           "Switches", "admin_app", "attach_grafana"]
