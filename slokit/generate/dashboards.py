"""Grafana dashboards: the SLO model as JSON, laid out by the jsonnet library in `dashboards/lib/`.

Python computes everything that must agree with the rules (recorded series names, the window table and
its burn thresholds, SLI queries with the spec's escaping); jsonnet only arranges panels. The library is a
plain jsonnet object, so users extend it like a monitoring mixin and point `slokit generate
--dashboards-jsonnet` at their own entry file.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slokit import names, promql, windows
from slokit.generate import rules
from slokit.spec.model import SLO, HttpSLI, LatencySLI, RawSLI


# The jsonnet library: dashboards/lib/ in the source tree (slokit is installed from it with `pip install -e`).
def _lib_dir() -> Path:
    """The source tree's dashboards/lib, or the copy a regular install puts under <prefix>/share."""
    source = Path(__file__).resolve().parents[2] / "dashboards" / "lib"
    installed = Path(sys.prefix) / "share" / "slokit" / "dashboards"
    return source if source.is_dir() or not installed.is_dir() else installed


LIB_DIR = _lib_dir()
DEFAULT_ENTRY = LIB_DIR / "main.jsonnet"
OUT_DIR = "dashboards"  # relative to `slokit generate --out`
OVERVIEW_UID = "slokit-overview"
TAG = "slokit"  # dashboards carry it; decision annotations too, so the dashboards show them

# What the runtime (slokit/runtime, issue 4) exports; the dashboards query exactly these.
RUNTIME_METRICS = {
    "breaker_state": "slokit_breaker_state",  # {breaker}: 0 closed, 1 open, 2 half-open
    "switch_enabled": "slokit_switch_enabled",  # {switch}: 1 on, 0 degraded
    "transitions": "slokit_decision_transitions_total",  # {target, from_state, to_state}
    "runtime_burn": "slokit_runtime_burn_rate",  # {slo_service, slo_name, slo_window}
}
RATE_INTERVAL = "$__rate_interval"
_UID_MAX = 40  # Grafana's limit
_UID_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class DashboardError(Exception):
    """The jsonnet library failed to evaluate or returned something that is not a list of dashboards."""


def uid(*parts: str) -> str:
    """A stable Grafana uid from names: readable when it fits, else truncated plus a hash of the whole."""
    text = "-".join(parts)
    if len(text) <= _UID_MAX and _UID_RE.match(text):
        return text
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{safe[:_UID_MAX - 9].rstrip('-')}-{digest}"


def service_uid(service: str) -> str:
    return uid("slokit-svc", service)


def sli_kind(slo: SLO) -> str:
    return type(slo.sli).__name__.removesuffix("SLI").lower()


def _latency(slo: SLO) -> dict[str, Any] | None:
    """Quantile queries for latency SLIs: the objective's quantile should stay under the threshold."""
    sli = slo.sli
    if isinstance(sli, HttpSLI) and sli.latency is not None:
        matchers = {"service": sli.service, **({"route": sli.route} if sli.route else {}),
                    **({"method": sli.method} if sli.method else {})}
        histogram, threshold = names.HTTP_SERVER_DURATION, sli.latency
        regex = {"outcome": "|".join(names.COUNTED_OUTCOMES)}
    elif isinstance(sli, LatencySLI):
        matchers, histogram, threshold, regex = sli.matchers, sli.histogram, sli.threshold, None
    else:
        return None
    buckets = f"sum by (le) (rate({histogram}_bucket{promql.selector(matchers, regex)}[{RATE_INTERVAL}]))"
    quantiles = sorted({round(slo.objective / 100, 6), 0.5}, reverse=True)
    return {
        "threshold": threshold,
        "queries": [
            {"legend": f"p{promql.float_literal(q * 100)}",
             "expr": f"histogram_quantile({promql.float_literal(q)}, {buckets})"}
            for q in quantiles
        ],
    }


def _events(slo: SLO) -> dict[str, str] | None:
    if isinstance(slo.sli, RawSLI):
        return None
    errors, total = rules.events_queries(slo)
    return {"errors": promql.render_window(errors, RATE_INTERVAL), "total": promql.render_window(total, RATE_INTERVAL)}


def slo_model(slo: SLO) -> dict[str, Any]:
    """One SLO as the jsonnet library sees it: names, thresholds and ready-made queries."""
    table = windows.table(slo.period)
    budget = slo.error_budget
    return {
        "id": slo.id,
        "service": slo.service,
        "name": slo.name,
        "description": slo.description,
        "objective": slo.objective,
        "objective_ratio": round(slo.objective / 100, 12),
        "error_budget": budget,
        "error_budget_literal": promql.float_literal(budget),  # jsonnet would print 0.0050000000000000001
        "period": table.period.name,
        "shortest": table.shortest.name,
        "windows": [w.name for w in table.windows],
        "conditions": [
            {"severity": c.severity, "long": c.long.name, "short": c.short.name, "factor": c.factor,
             "budget_share": c.budget_share}
            for c in table.conditions
        ],
        "sli_kind": sli_kind(slo),
        "selector": rules.slo_selector(slo),
        "alert_name": slo.alerting.name if slo.alerting else None,
        "events": _events(slo),
        "latency": _latency(slo),
    }


def model(slos: tuple[SLO, ...] | list[SLO]) -> dict[str, Any]:
    """Everything the library needs, JSON-ready; SLOs in (service, name) order for stable output."""
    ordered = sorted(slos, key=lambda s: (s.service, s.name))
    slo_models = [slo_model(s) for s in ordered]
    by_service: dict[str, list[dict[str, Any]]] = {}
    for m in slo_models:
        by_service.setdefault(m["service"], []).append(m)
    base = windows.table(windows.BASE_PERIOD)
    return {
        "tag": TAG,
        "overview_uid": OVERVIEW_UID,
        # Each service carries its own SLOs: filtering all SLOs per service in jsonnet is quadratic.
        "services": [{"name": s, "uid": service_uid(s), "slos": ms} for s, ms in sorted(by_service.items())],
        "slos": slo_models,
        # Burn-rate colours for views over SLOs of any period (factors do not depend on the period).
        "burn_thresholds": sorted({c.factor for c in base.conditions}),
        "metrics": {
            "sli_error": rules.SLI_RECORD,
            "objective": rules.OBJECTIVE,
            "error_budget": rules.ERROR_BUDGET,
            "current_burn": rules.CURRENT_BURN,
            "period_burn": rules.PERIOD_BURN,
            "budget_remaining": rules.BUDGET_REMAINING,
            "info": rules.INFO,
            **RUNTIME_METRICS,
        },
    }


def evaluate(data: dict[str, Any], entry: Path | str | None = None) -> list[dict[str, Any]]:
    """Run a jsonnet entry file (`function(model)` returning a list of dashboards) over the model."""
    try:  # the same language and API; Go's evaluator is 3-4x faster on the library (bench/generate.py)
        import _gojsonnet as _jsonnet
    except ImportError:
        import _jsonnet  # the `jsonnet` package; optional extra `slokit[dashboards]`

    path = Path(entry) if entry else DEFAULT_ENTRY
    if not path.is_file():
        raise DashboardError(f"{path}: jsonnet entry not found (the library lives in the source tree's dashboards/lib)")
    try:
        text = _jsonnet.evaluate_file(str(path), jpathdir=[str(path.parent), str(LIB_DIR)],
                                      tla_codes={"model": json.dumps(data)})
    except RuntimeError as exc:
        raise DashboardError(f"{path}: {exc}") from None
    result = json.loads(text)
    if not isinstance(result, list) or not all(isinstance(d, dict) and d.get("uid") for d in result):
        raise DashboardError(f"{path}: must return a list of dashboards, each with a uid")
    uids = [d["uid"] for d in result]
    if len(set(uids)) != len(uids):
        raise DashboardError(f"{path}: duplicate dashboard uids {sorted({u for u in uids if uids.count(u) > 1})}")
    return result


def render(dashboard: dict[str, Any]) -> str:
    """Dashboard JSON as committed: sorted keys, 2-space indent, trailing newline (byte-stable)."""
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def files(slos: tuple[SLO, ...] | list[SLO], entry: Path | str | None = None) -> dict[str, str]:
    """{`dashboards/<uid>.json`: text} for `slokit generate`; nothing when there are no SLOs.

    The entry runs once per service, over a model holding that service alone: jsonnet keeps every
    value of an evaluation alive, so one run over 1,000 SLOs took 1.7 GB and 60 s, one run per service
    150 MB and 38 s. Dashboards that several runs return (the overview) must come out identical.
    """
    if not slos:
        return {}
    full = model(slos)
    out: dict[str, str] = {}
    for service in full["services"]:
        for dashboard in evaluate(dict(full, services=[service], slos=service["slos"]), entry):
            name, text = f"{OUT_DIR}/{dashboard['uid']}.json", render(dashboard)
            if out.setdefault(name, text) != text:
                raise DashboardError(f"{entry or DEFAULT_ENTRY}: dashboard {dashboard['uid']!r} differs between "
                                     "services; a dashboard over several services must not read model.slos")
    return dict(sorted(out.items()))


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression a dashboard runs: panel targets and Prometheus annotations."""
    exprs = [t["expr"] for p in panels(dashboard) for t in p.get("targets", []) if t.get("expr")]
    exprs += [a["expr"] for a in dashboard.get("annotations", {}).get("list", []) if a.get("expr")]
    return exprs


def variable_queries(dashboard: dict[str, Any]) -> dict[str, str]:
    """Query variables' `label_values(...)` definitions by variable name."""
    return {v["name"]: v["definition"] for v in dashboard.get("templating", {}).get("list", [])
            if v.get("type") == "query"}
