"""An experiment, not slokit's shape: slokit's generated rules with every rule that reads only slokit's own
recorded series written once for all SLOs (`--shape shared`), to measure that shape before building it.

Per SLO stay the rules that read the SLI's own queries (the short windows' ratios, the raw limit's rates, the
fine tiles), the constants (objective, budget, info) and the alerts. Once for all stay the rules that are the
same arithmetic over every SLO's recorded series: the ratios built from the recorded rates (1h and up), the
coarse tiles, the period's ratio, the burn rates, the budget left and the time to exhaustion. They keep each
SLO's labels (PromQL matches them series by series), and the burn rates divide by each SLO's recorded budget.

Valid for the benchmark's SLOs only (one window table, events SLIs, no grouping): the generator would have to
scope these rules to the SLOs of one table and one output (docs/benchmarks.md says what that takes).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from slokit import names

ONE_SLO = re.compile(r'\{slo_name="[^"]*",slo_service="[^"]*"\}')
OURS = '{slo_service!=""}'  # slokit's series only: the Sloth shape records some of the same names
# What reads the SLI's queries, or is a constant of the SLO: stays in the SLO's own groups.
PER_SLO = {
    "-sli": {names.sli_record("5m"), names.sli_record("30m"), names.SLI_BAD + "1h", names.SLI_TOTAL + "1h"},
    "-period": {names.TILE[names.SLI_TOTAL] + "4m", names.TILE[names.SLI_BAD] + "4m", names.OBJECTIVE,
                names.ERROR_BUDGET, names.INFO},
}
SHARED = {"-sli": ("slokit-shared-windows", "1m"), "-period": ("slokit-shared-budget", "4m")}
# Burn rates divide by each SLO's budget: a join instead of the SLO's literal.
BURN = {names.CURRENT_BURN: names.sli_record("5m"), names.PERIOD_BURN: names.sli_record("30d")}


def _for_all(rule: dict[str, Any]) -> dict[str, Any]:
    """One SLO's rule rewritten for every SLO: its selectors match all of slokit's series; a tile's look-back
    at its own last sample matches series by series (`unless`, not `unless on ()`)."""
    name = rule["record"]
    if name in BURN:
        expr = (f"sum without ({names.WINDOW}) ({BURN[name]}{OURS})\n/ on ({names.SERVICE}, {names.NAME}) "
                f"group_left\n{names.ERROR_BUDGET}{OURS}")
    else:
        expr = ONE_SLO.sub(OURS, str(rule["expr"])).replace("unless on ()", "unless")
    labels = {k: v for k, v in (rule.get("labels") or {}).items() if k not in (names.SERVICE, names.NAME)}
    return {"record": name, "expr": expr, **({"labels": labels} if labels else {})}


def reshape(paths: list[Path]) -> list[Path]:
    """Rewrite the generated rule files in place, and add the shared groups' file; returns every file."""
    shared: dict[str, list[dict[str, Any]]] = {suffix: [] for suffix in SHARED}
    for path in paths:
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            suffix = next((s for s in PER_SLO if group["name"].endswith(s)), None)
            if suffix is None:
                continue
            kept = []
            for rule in group["rules"]:
                if "alert" in rule or rule["record"] in PER_SLO[suffix]:
                    kept.append(rule)
                elif all(r["record"] != rule["record"] for r in shared[suffix]):
                    shared[suffix].append(_for_all(rule))
            group["rules"] = kept
        path.write_text(yaml.safe_dump(doc, sort_keys=False, width=1 << 16))
    out = paths[0].parent / "zz-shared.yml"
    groups = [{"name": name, "interval": interval, "rules": shared[suffix]}
              for suffix, (name, interval) in SHARED.items()]
    out.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False, width=1 << 16))
    return [*paths, out]
