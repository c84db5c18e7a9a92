"""Grafana dashboards: the SLO model as JSON, laid out by the jsonnet library in `dashboards/lib/`.

Python computes everything that must agree with the rules (recorded series names, the window table and
its burn thresholds, SLI queries with the spec's escaping); jsonnet only arranges panels. The library is a
plain jsonnet object, so users extend it like a monitoring mixin and point `slokit generate
--dashboards-jsonnet` at their own entry file.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slokit import names, promql, queries, windows
from slokit.errors import ConfigError
from slokit.spec.model import SLO, RawSLI


# The jsonnet library: dashboards/lib/ in the source tree (slokit is installed from it with `pip install -e`).
def _lib_dir() -> Path:
    """The source tree's dashboards/lib, or the copy a wheel installs as share/slokit/dashboards: under the
    venv's prefix, or ~/.local with `pip install --user`; the install's RECORD says where."""
    source = Path(__file__).resolve().parents[2] / "dashboards" / "lib"
    if source.is_dir():
        return source
    try:
        files = importlib.metadata.files("slokit") or []
    except importlib.metadata.PackageNotFoundError:  # run from a copy of the package that was never installed
        files = []
    entry = next((f for f in files if f.name == "main.jsonnet" and "share" in f.parts), None)
    return Path(entry.locate()).resolve().parent if entry else source


LIB_DIR = _lib_dir()
DEFAULT_ENTRY = LIB_DIR / "main.jsonnet"
OUT_DIR = "dashboards"  # relative to `slokit generate --out`
OVERVIEW_UID = "slokit-overview"
TAG = names.GRAFANA_TAG  # dashboards carry it; decision annotations too, so the dashboards show them

RATE_INTERVAL = "$__rate_interval"
_UID_MAX = 40  # Grafana's limit
_UID_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class DashboardError(ConfigError):
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


def jsonnet_g(value: float) -> str:
    """`'%g' % value` exactly as jsonnet's standard library prints it (the C++ and Go engines agree), for
    the numbers the library puts in text. It differs from C's `%g` (0.33333, not 0.333333; 1000000, not
    1e+06) and from rjsonnet's, so formatting here keeps the text the same whichever engine runs."""
    exponent = math.floor(math.log(abs(value)) / math.log(10)) if value != 0 else 0
    if exponent < -4 or exponent >= 6:
        mantissa = value * 10 / 10.0 ** (exponent + 1) if exponent == -324 else value / 10.0 ** exponent
        return _jsonnet_decimal(mantissa, 5) + ("e-" if exponent < 0 else "e+") + f"{abs(exponent):02d}"
    return _jsonnet_decimal(value, 6 - max(1, exponent + 1))


def _jsonnet_decimal(value: float, digits: int) -> str:
    """jsonnet's decimal rendering: round half up at `digits` places, trailing zeros dropped."""
    scale = 10.0 ** digits
    scaled = abs(value) * scale + 0.5
    text = ("-" if value < 0 else "") + str(math.floor(scaled / scale))
    fraction = math.floor(scaled) % 10 ** digits
    return f"{text}.{str(fraction).rjust(digits, '0').rstrip('0')}" if digits and fraction else text


def _latency(objective: queries.Objective) -> dict[str, Any] | None:
    """Quantile queries for latency SLIs: the objective's quantile should stay under the threshold."""
    if objective.threshold is None or not objective.splittable:
        return None
    buckets = objective.buckets(RATE_INTERVAL)
    quantiles = sorted({round(objective.slo.objective / 100, 6), 0.5}, reverse=True)
    return {
        "threshold": objective.threshold,
        "threshold_text": jsonnet_g(objective.threshold),
        "queries": [
            {"legend": f"p{promql.float_literal(q * 100)}",
             "expr": f"histogram_quantile({promql.float_literal(q)}, {buckets})"}
            for q in quantiles
        ],
    }


def _events(objective: queries.Objective) -> dict[str, str] | None:
    if isinstance(objective.slo.sli, RawSLI):
        return None
    return {"errors": objective.errors(RATE_INTERVAL, guard=True), "total": objective.total(RATE_INTERVAL)}


def slo_model(slo: SLO) -> dict[str, Any]:
    """One SLO as the jsonnet library sees it: names, thresholds and ready-made queries."""
    table = slo.table
    budget = slo.error_budget
    objective = queries.Objective.of(slo)
    return {
        "id": slo.id,
        "service": slo.service,
        "name": slo.name,
        "description": slo.description,
        "objective": slo.objective,
        "objective_text": jsonnet_g(slo.objective),
        "objective_ratio": round(slo.objective / 100, 12),
        "error_budget": budget,
        "error_budget_literal": promql.float_literal(budget),  # jsonnet would print 0.0050000000000000001
        "error_budget_text": jsonnet_g(budget),
        "period": table.period.name,
        "shortest": table.shortest.name,
        "windows": [w.name for w in table.windows],
        "conditions": [
            {"severity": c.severity, "long": c.long.name, "short": c.short.name, "factor": c.factor,
             "factor_text": jsonnet_g(c.factor), "budget_share": c.budget_share}
            for c in table.conditions
        ],
        "sli_kind": slo.sli_kind,
        "selector": queries.slo_selector(slo),
        "alert_name": slo.alerting.name if slo.alerting else None,
        "events": _events(objective),
        "latency": _latency(objective),
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
            "sli_error": names.SLI_RECORD,
            "objective": names.OBJECTIVE,
            "error_budget": names.ERROR_BUDGET,
            "current_burn": names.CURRENT_BURN,
            "period_burn": names.PERIOD_BURN,
            "budget_remaining": names.BUDGET_REMAINING,
            "info": names.INFO,
            # What the runtime exports; the dashboards query exactly these.
            "breaker_state": names.BREAKER_STATE,
            "switch_enabled": names.SWITCH_ENABLED,
            "transitions": names.DECISION_TRANSITIONS,
            "runtime_burn": names.RUNTIME_BURN_RATE,
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
