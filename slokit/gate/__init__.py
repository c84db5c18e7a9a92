"""Release gates: may a new version take more traffic? The error budget decides, through Prometheus.

Each SLO's gate (slokit/spec/gate.py) becomes checks, each one instant query against a Prometheus-compatible
API, each with a status:

- budget: `slo:period_error_budget_remaining:ratio` (from the generated rules) >= min_remaining;
- burn: the SLI's error ratio / error budget over each window; fails when *every* window is above `max`
  (multiwindow, as the alerts: the long window says it matters, the short one that it is still happening);
- canary: bad/total events of the canary and the baseline (split by a label) over a window, compared
  with a one-sided Fisher's exact test (see `fisher_greater`);
- stop: the canary's error ratio stayed above a threshold for a whole duration (`min_over_time` of a subquery).

A check that cannot tell (source down, no series, NaN, too little traffic) is "undecided". The verdict is
"fail" if any check failed, else "undecided" if any could not tell, else "pass": never a pass on missing data.
The package: `report` (statuses, verdict), `stats` (Fisher's test), `checks` (the checks over a query
function), `source` (that function over a Prometheus-compatible API), `server` (Flagger and Argo Rollouts).
"""

from __future__ import annotations

from slokit.gate.checks import Query, compare, evaluate
from slokit.gate.report import EXIT_CODES, FAIL, PASS, UNDECIDED, Check, Report, verdict
from slokit.gate.server import FLAGGER_STATUS, make_server, overrides
from slokit.gate.source import prometheus_query
from slokit.gate.stats import fisher_greater

__all__ = ["EXIT_CODES", "FAIL", "FLAGGER_STATUS", "PASS", "UNDECIDED", "Check", "Query", "Report", "compare",
           "evaluate", "fisher_greater", "make_server", "overrides", "prometheus_query", "verdict"]
