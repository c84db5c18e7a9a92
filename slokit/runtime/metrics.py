"""Names of the runtime's own metrics: the contract the dashboards query. Change nothing without them."""

from __future__ import annotations

BREAKER_STATE = "slokit_breaker_state"  # gauge {breaker}: 0 closed, 1 open, 2 half-open
SWITCH_ENABLED = "slokit_switch_enabled"  # gauge {switch}: 1 on, 0 degraded
DECISION_TRANSITIONS = "slokit_decision_transitions_total"  # counter {target, from_state, to_state}
RUNTIME_BURN_RATE = "slokit_runtime_burn_rate"  # gauge {slo_service, slo_name, slo_window}
SOURCE_ERRORS = "slokit_runtime_source_errors_total"  # counter {reason}

# Breaker states, as the gauge reports them.
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATE_VALUE = {CLOSED: 0, OPEN: 1, HALF_OPEN: 2}
# Switch states in transitions.
ON, OFF = "on", "off"
