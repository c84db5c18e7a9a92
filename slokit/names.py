"""Every metric and label name slokit reads or writes, in one place (like Sloth's `pkg/common/conventions`).

Three contracts meet here: the middleware's series (what the `http` SLI shorthand queries), the recorded
series of the generated rules (what dashboards, the gate, `slokit status` and the runtime's Prometheus
source read), and the runtime's own metrics (what the dashboards show). Change a name here and every
side changes with it; nothing else in slokit spells these strings.
"""

from __future__ import annotations

# -- SLO identity on every recorded series and alert ---------------------------------------------------------
SERVICE = "slo_service"
NAME = "slo_name"
WINDOW = "slo_window"
SEVERITY = "slo_severity"
RESERVED_LABELS = (SERVICE, NAME, WINDOW, SEVERITY)  # set by slokit itself; specs may not override them
# On a burn-rate alert of one window-table row (a tier whose rows wait their own `for`): its windows, as Pyrra
# labels its alerts, so the rows' alerts are told apart.
LONG_WINDOW, SHORT_WINDOW = "long", "short"

PAGE, TICKET = "page", "ticket"
SEVERITIES = (PAGE, TICKET)

DEFAULT_PERIOD = 30 * 86400  # seconds; the period of an SLO that names none (and of the window table's rows)

# -- recorded series of the generated rules -------------------------------------------------------------------
SLI_RECORD = "slo:sli_error:ratio_rate"  # + window name, e.g. slo:sli_error:ratio_rate5m
# Event rates (per second) the event-weighted windows are built from: bad and total, + window name.
SLI_BAD = "slo:sli_bad:rate"
SLI_TOTAL = "slo:sli_total:rate"
# The same, one sample per tile (queries.tiled, in the -period group), + tile width: what the long windows sum.
TILE = {SLI_BAD: "slo:sli_bad_tile:rate", SLI_TOTAL: "slo:sli_total_tile:rate"}
# Events of a window past the raw limit older than the raw limit (summed from the tiles), + window name: its
# ratio and alerts add the raw limit's recorded rate x its length (the recent part) to them.
OLDER = {SLI_BAD: "slo:sli_bad_older:events", SLI_TOTAL: "slo:sli_total_older:events"}
# Calendar-aligned periods: events since the current period started (each rule adds its step's share to its own
# last value) and the period's number, whose change starts the counts over.
CALENDAR_BAD = "slo:sli_bad:calendar_period"
CALENDAR_TOTAL = "slo:sli_total:calendar_period"
CALENDAR_INDEX = "slo:calendar_period:index"
TIME_TO_EXHAUSTION = "slo:time_to_exhaustion:seconds"  # at the period's burn so far; +Inf when nothing burns
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
CURRENT_BURN = "slo:current_burn_rate:ratio"
PERIOD_BURN = "slo:period_burn_rate:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
INFO = "slo:info"

# Prometheus' own series of alert states (one per pending or firing alert), read by the console.
ALERTS = "ALERTS"
ALERT_NAME, ALERT_STATE = "alertname", "alertstate"
FIRING, PENDING = "firing", "pending"


def sli_record(window: str) -> str:
    """The recorded error ratio over a window ("5m" -> slo:sli_error:ratio_rate5m)."""
    return f"{SLI_RECORD}{window}"


# Alerts beside the burn-rate tiers take the SLO's alert name plus one of these.
NO_DATA_SUFFIX, INVALID_SUFFIX, EXHAUSTION_SUFFIX = "NoData", "SLIInvalid", "BudgetExhaustion"


# -- the middleware contract -----------------------------------------------------------------------------------
# Inbound HTTP requests (ASGI/WSGI middleware). One histogram: `_count` gives the request rate per outcome,
# `_bucket` the latency SLI.
HTTP_SERVER_DURATION = "slokit_http_server_request_duration_seconds"
HTTP_SERVER_LABELS = ("service", "route", "method", "code", "outcome")
# Outbound HTTP calls (requests/httpx hooks): dependency SLOs. `peer` is the host[:port] called, never a path.
HTTP_CLIENT_DURATION = "slokit_http_client_request_duration_seconds"
HTTP_CLIENT_LABELS = ("service", "peer", "method", "code", "outcome")
# Any function measured with the decorator / context manager: dependency calls that are not HTTP.
FUNCTION_DURATION = "slokit_function_duration_seconds"
FUNCTION_LABELS = ("service", "function", "outcome")

# Label names the SLI queries select on.
SERVICE_LABEL, ROUTE_LABEL, METHOD_LABEL, CODE_LABEL, OUTCOME_LABEL = "service", "route", "method", "code", "outcome"

# `outcome` values. "good"/"bad" are what SLIs count; a client that hung up is neither.
GOOD, BAD, DISCONNECT = "good", "bad", "disconnect"
COUNTED_OUTCOMES = (GOOD, BAD)

# Route label for requests that matched no route: one value, so unknown paths cannot blow up cardinality.
UNMATCHED_ROUTE = "<unmatched>"
# A call that got no response (connect error, timeout) has this code and is bad.
NO_RESPONSE = "0"

# HTTP methods kept as they are; anything else is recorded as OTHER so a client cannot mint label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
OTHER_METHOD = "OTHER"

# Latency buckets (seconds). A latency threshold in an `http` SLI must be one of these bounds.
BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0,
)

# Retries (slokit.retry): one count per retry decision on an outbound call that failed retryably; `decision`
# says whether it was retried or why not.
RETRIES = "slokit_client_retries_total"
RETRY_LABELS = ("service", "peer", "decision")
RETRIED = "retried"

# -- the runtime's own metrics ---------------------------------------------------------------------------------
BREAKER_STATE = "slokit_breaker_state"  # gauge {breaker}: 0 closed, 1 open, 2 half-open, 3 ramp
SWITCH_ENABLED = "slokit_switch_enabled"  # gauge {switch}: 1 on, 0 degraded
DECISION_TRANSITIONS = "slokit_decision_transitions_total"  # counter {target, from_state, to_state}
RUNTIME_BURN_RATE = "slokit_runtime_burn_rate"  # gauge {slo_service, slo_name, slo_window}
SOURCE_ERRORS = "slokit_runtime_source_errors_total"  # counter {reason}
POLICY_HOLD = "slokit_policy_hold_seconds"  # gauge {rule}: the hold of the rule's current or last trip (damped)
POLICY_RETRIPS = "slokit_policy_retrips_total"  # counter {rule}: trips soon after a recovery (the hold grew)

# Health probes (slokit.health); readiness changes count in DECISION_TRANSITIONS{target="health:readiness"}.
HEALTH_READY = "slokit_health_ready"  # gauge: 1 ready (after hysteresis), 0 starting or not ready
HEALTH_CHECK_UP = "slokit_health_check_up"  # gauge {check}: 1 the last run passed, 0 it failed or timed out
HEALTH_CHECK_DURATION = "slokit_health_check_duration_seconds"  # gauge {check}: the last run's duration

# Breaker states, as the gauge reports them; switch states in transitions. RAMP: a breaker or switch lets a
# growing share of the traffic back (slokit_switch_enabled reports the share).
CLOSED, OPEN, HALF_OPEN, RAMP = "closed", "open", "half_open", "ramp"
STATE_VALUE = {CLOSED: 0, OPEN: 1, HALF_OPEN: 2, RAMP: 3}
ON, OFF = "on", "off"

# Grafana tag on slokit's dashboards and on the runtime's decision annotations, so the dashboards show them.
GRAFANA_TAG = "slokit"
