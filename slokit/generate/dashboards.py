"""Grafana dashboards: the SLO model as JSON, laid out by the jsonnet library in `dashboards/lib/`.

Python computes everything that must agree with the rules (recorded series names, the window table and
its burn thresholds, SLI queries with the spec's escaping); jsonnet only arranges panels. The library is a
plain jsonnet object, so users extend it like a monitoring mixin and point `slokit generate
--dashboards-jsonnet` at their own entry file.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from slokit import names, promql, queries, windows
from slokit.generate import cache as cache_keys
from slokit.generate import jsonnet
from slokit.generate.cache import Cache
from slokit.generate.jsonnet import DashboardError
from slokit.spec.common import offset_text
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
_UID_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")  # Grafana's uid rule; the uid also names the output file


__all__ = ["DashboardError", "evaluate", "files", "model", "render"]


def uid(*parts: str) -> str:
    """A stable Grafana uid from names: readable when it fits, else truncated plus a hash of the whole."""
    text = "-".join(parts)
    if len(text) <= _UID_MAX and _UID_RE.fullmatch(text):
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
             "expr": promql.for_grafana(f"histogram_quantile({promql.float_literal(q)}, {buckets})")}
            for q in quantiles
        ],
    }


def _events(objective: queries.Objective) -> dict[str, str] | None:
    if isinstance(objective.slo.sli, RawSLI):
        return None
    return {"errors": promql.for_grafana(objective.errors(RATE_INTERVAL, guard=True)),
            "total": promql.for_grafana(objective.total(RATE_INTERVAL))}


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
        "period": table.period.name,  # the recorded period ratio's window (slo_window)
        # The period in titles: a calendar period's is its calendar (the budget starts over at each boundary).
        "period_text": calendar_text(slo.calendar) if slo.calendar else table.period.name,
        "shortest": table.shortest.name,
        "windows": [w.name for w in table.windows],
        "conditions": [
            {"severity": c.severity, "long": c.long.name, "short": c.short.name, "factor": c.factor,
             "factor_text": jsonnet_g(c.factor), "budget_share": c.budget_share}
            for c in table.conditions
        ],
        "sli_kind": slo.sli_kind,
        # A grouped SLO's panels follow the dashboard's group variables (one line per chosen group).
        "selector": queries.slo_selector(slo)[:-1] + "".join(
            f',{label}=~"${group_variable(label)}"' for label in slo.group_by) + "}",
        "group_by": list(slo.group_by),
        "alert_name": slo.alerting.name if slo.alerting else None,
        "events": _events(objective),
        "latency": _latency(objective),
    }


def calendar_text(calendar: windows.Calendar) -> str:
    """A calendar period in words for titles: "the calendar month (UTC-05:00)", "the calendar week (UTC+00:00)"."""
    if calendar.months:
        unit = {1: "month", 3: "quarter", 12: "year"}.get(calendar.months, f"{calendar.months} months")
    else:
        days = calendar.seconds // 86400
        unit = "week" if days == 7 else f"{days // 7} weeks" if days % 7 == 0 else f"{days} days"
    return f"the calendar {unit} (UTC{offset_text(calendar.offset)})"


def group_variable(label: str) -> str:
    """The dashboard variable of a group label (prefixed: a label named `service` must not be $service)."""
    return f"group_{label}"


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
        "services": [{"name": s, "uid": service_uid(s), "slos": ms,
                      "group_labels": sorted({label for m in ms for label in m["group_by"]})}
                     for s, ms in sorted(by_service.items())],
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
            "time_to_exhaustion": names.TIME_TO_EXHAUSTION,
            "info": names.INFO,
            # What the runtime exports; the dashboards query exactly these.
            "breaker_state": names.BREAKER_STATE,
            "switch_enabled": names.SWITCH_ENABLED,
            "transitions": names.DECISION_TRANSITIONS,
            "runtime_burn": names.RUNTIME_BURN_RATE,
        },
    }


def _entry(entry: Path | str | None) -> Path:
    path = Path(entry) if entry else DEFAULT_ENTRY
    if not path.is_file():
        raise DashboardError(f"{path}: jsonnet entry not found (the library lives in the source tree's dashboards/lib)")
    return path


def evaluate(data: dict[str, Any], entry: Path | str | None = None, engine: str | None = None) -> list[dict[str, Any]]:
    """Run a jsonnet entry file (`function(model)` returning a list of dashboards) over the model."""
    path = _entry(entry)
    text = jsonnet.run(jsonnet.engine(engine), path, [path.parent, LIB_DIR], {"model": json.dumps(data)})
    return _checked(path, jsonnet.parse(text)[0])


def _checked(path: Path, result: Any) -> list[dict[str, Any]]:
    """The entry's result if it is a list of dashboards with good, distinct uids; else DashboardError."""
    if not isinstance(result, list) or not all(isinstance(d, dict) and d.get("uid") for d in result):
        raise DashboardError(f"{path}: must return a list of dashboards, each with a uid")
    uids = [d["uid"] for d in result]
    bad = next((u for u in uids if not isinstance(u, str) or not _UID_RE.fullmatch(u)), None)
    if bad is not None:
        raise DashboardError(f"{path}: dashboard uid {bad!r} must be 1 to 40 letters, digits, '-' or '_' (Grafana's "
                             "rule; it also names the file under dashboards/)")
    if len(set(uids)) != len(uids):
        raise DashboardError(f"{path}: duplicate dashboard uids {sorted({u for u in uids if uids.count(u) > 1})}")
    return result


render = jsonnet.render  # Dashboard JSON as committed: sorted keys, 2-space indent, trailing newline


Progress = Callable[[str, int, int], None]  # (what, services done, services in all)
Files = Iterator[tuple[str, str | None]]  # (name, text) as made; None: the cache found it in OUT as made


def files(slos: tuple[SLO, ...] | list[SLO], entry: Path | str | None = None, *, engine: str | None = None,
          workers: int = 1) -> dict[str, str]:
    """{`dashboards/<uid>.json`: text}; nothing when there are no SLOs."""
    return {name: text for name, text in start(slos, entry, engine=engine, workers=workers)() if text is not None}


def start(slos: tuple[SLO, ...] | list[SLO], entry: Path | str | None = None, *, engine: str | None = None,
          workers: int = 1, cache: Cache | None = None, progress: Progress | None = None) -> Callable[[], Files]:
    """The dashboards, begun: the workers evaluate while the caller does other work; the returned
    function yields each file once, as the workers finish (so no run holds every dashboard at once).

    The entry runs once per service, over a model holding that service alone: jsonnet keeps every value
    of an evaluation alive, so one run over 1,000 SLOs took 1.7 GB, one run per service 150 MB. Services
    are evaluated in batches (slokit.generate.jsonnet), in `workers` processes; with a cache, only those
    whose model, library or slokit changed. A dashboard several services return (the overview) is
    rendered once per batch and must come out identical in each.
    """
    if not slos:
        return lambda: iter(())
    path = _entry(entry)
    shared = json.dumps({k: v for k, v in model([]).items() if k not in ("services", "slos")}, sort_keys=True)
    # The library's source: the entry and the jsonnet beside it and in LIB_DIR (imports from elsewhere
    # are not seen; delete the cache after changing those).
    library = cache_keys.files_digest([path, *path.parent.glob("*sonnet"), *LIB_DIR.glob("*sonnet")]) if cache else ""
    name = engine or jsonnet.installed() or ""
    seen: dict[str, str] = {}  # file -> digest of every file yielded

    def new(file: str, digest: str) -> bool:
        """Whether `file` is yet to be yielded; DashboardError if it was, with other text."""
        if file not in seen:
            seen[file] = digest
            return True
        if seen[file] != digest:
            raise DashboardError(f"{path}: dashboard {file!r} differs between services; a dashboard over "
                                 "several services must not read model.slos")
        return False

    groups: dict[str, list[SLO]] = {}
    for slo in slos:
        groups.setdefault(slo.service, []).append(slo)
    keys, todo, hits = [], [], []  # of the services to evaluate, in service order (as model() orders them)
    for _, group in sorted(groups.items()):
        key = cache_keys.key("dashboards", name, library, shared, cache_keys.slos_text(group)) if cache else ""
        hit = cache.get(key) if cache else None
        if hit is None:
            keys.append(key)
            todo.extend(group)
        else:
            hits.append(hit[0])
    todo_services = list(zip(model(todo)["services"], keys, strict=True))
    total = len(groups)
    batches = [todo_services[i:i + jsonnet.BATCH] for i in range(0, len(todo_services), jsonnet.BATCH)]
    results = jsonnet.evaluate_batches(engine, path, [path.parent, LIB_DIR], shared,
                                       [[s for s, _ in batch] for batch in batches],
                                       functools.partial(_checked, path), workers)

    def finish() -> Files:
        for found in hits:
            for file, digest in found.items():
                if new(file, digest):
                    yield file, None
        done = len(hits)
        for batch, batch_results in zip(batches, results, strict=True):
            first = batch_results[0][0]
            for (_, key), (own, shared_uids) in zip(batch, batch_results, strict=True):
                dashboards = own | {uid_: first[uid_] for uid_ in shared_uids}
                texts = {f"{OUT_DIR}/{uid_}.json": text for uid_, text in dashboards.items()}
                for file, text in texts.items():
                    if new(file, cache_keys.digest(text)):
                        yield file, text
                if cache:
                    cache.put(key, texts)
            done += len(batch)
            if progress:
                progress("dashboards", done, total)

    return finish


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
