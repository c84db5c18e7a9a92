"""The metrics contract: names, labels and buckets shared by the middleware and the generated rules.

The `http` SLI shorthand in specs expands to queries over exactly these series, so an app running the
middleware and the rules generated for it line up without hand-written PromQL. Change nothing here
without changing both sides.
"""

from __future__ import annotations

from typing import Callable

# Inbound HTTP requests (ASGI/WSGI middleware). One histogram: `_count` gives the request rate per
# outcome, `_bucket` the latency SLI.
HTTP_SERVER_DURATION = "slokit_http_server_request_duration_seconds"
# Outbound HTTP calls (requests/httpx hooks): dependency SLOs.
HTTP_CLIENT_DURATION = "slokit_http_client_request_duration_seconds"

HTTP_SERVER_LABELS = ("service", "route", "method", "code", "outcome")

# `outcome` values. "good"/"bad" are what SLIs count; a client that hung up is neither.
GOOD, BAD, DISCONNECT = "good", "bad", "disconnect"
COUNTED_OUTCOMES = (GOOD, BAD)

# Route label for requests that matched no route: one value, so unknown paths cannot blow up cardinality.
UNMATCHED_ROUTE = "<unmatched>"

# Latency buckets (seconds). A latency threshold in a spec must be one of these bounds.
BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0,
)

# Outbound HTTP calls: `peer` is the host[:port] called (bounded by the services an app talks to), never the
# URL path. A call that got no response (connect error, timeout) has code NO_RESPONSE and is bad.
HTTP_CLIENT_LABELS = ("service", "peer", "method", "code", "outcome")
NO_RESPONSE = "0"

# Any function measured with the decorator / context manager: dependency calls that are not HTTP.
FUNCTION_DURATION = "slokit_function_duration_seconds"
FUNCTION_LABELS = ("service", "function", "outcome")

# HTTP methods kept as they are; anything else is recorded as OTHER so a client cannot mint label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
OTHER_METHOD = "OTHER"

# Called once per finished request with the classification already done: (route, outcome, seconds).
# The in-process burn-rate engine subscribes here, so it never classifies a request a second time.
Listener = Callable[[str, str, float], None]

# --- Retries (slokit.retry; appended by the release-gate/retry work) --------------------------------------
# One count per retry decision on an outbound call that failed retryably: `decision` says whether it was
# retried or why not. `peer` is host:port as for HTTP_CLIENT_DURATION (or the function name for the decorator).
RETRIES = "slokit_client_retries_total"
RETRY_LABELS = ("service", "peer", "decision")
RETRIED = "retried"
RETRY_REFUSALS = ("budget_exhausted", "breaker_open", "burning", "not_idempotent", "attempts_exhausted",
                  "retry_after_too_long")
