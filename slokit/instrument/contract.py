"""The metrics contract: names, labels and buckets shared by the middleware and the generated rules.

The `http` SLI shorthand in specs expands to queries over exactly these series, so an app running the
middleware and the rules generated for it line up without hand-written PromQL. Change nothing here
without changing both sides.
"""

from __future__ import annotations

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
