"""OpenSLO v1 alert policies (`AlertPolicy`, `AlertCondition`) as slokit alerts.

An SLO's `alertPolicies` entry is an AlertPolicy inline or an `alertPolicyRef` to one (in any file read);
its one condition is inline or a `conditionRef`. A `burnrate` condition (`op`, `threshold`,
`lookbackWindow`, `alertAfter`) becomes a row of the SLO's window table over that one window: the burn
over `lookbackWindow` above `threshold` (short window = long window), in the ticket tier for severity
`ticket` or `warning` and in the page tier otherwise, with `alertAfter` as the tier's `for` and the
severity kept as the alert's `severity` label. A tier no condition names keeps slokit's rows (the runtime
and dashboards read them) but raises no alert. `alertWhenNoData` turns the no-data alert on or off.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slokit import names
from slokit.spec import common
from slokit.spec.model import Alerting, Tier
from slokit.spec.source import Doc, Fields, Path
from slokit.windows import WindowTable, custom
from slokit.windows import table as scaled_table

if TYPE_CHECKING:
    from slokit.spec.openslo import Item

Objects = dict[tuple[str, str], "Item"]  # (kind, name) -> an AlertPolicy or AlertCondition document
_TICKET = ("ticket", "warning")


def read(doc: Doc, s: Fields, objects: Objects, default: Alerting, period: int
         ) -> tuple[Alerting, WindowTable | None]:
    """The SLO's alerting and window table from its `alertPolicies` (none: slokit's defaults)."""
    entries = s.list("alertPolicies")
    if not entries:
        return default, None
    rows: dict[str, list[tuple[str, int, int, float]]] = {names.PAGE: [], names.TICKET: []}
    tiers: dict[str, Tier] = {names.PAGE: Tier(enabled=False), names.TICKET: Tier(enabled=False)}
    no_data: bool | None = None
    shared: list[tuple[Doc, Doc]] = []
    for i, entry in enumerate(entries):
        found = _resolve(doc, s.at("alertPolicies") + (i,), entry, "alertPolicyRef", "AlertPolicy", objects, shared)
        if found is None:
            continue
        pdoc, ppath, policy = found
        p = Fields(pdoc, ppath + ("spec",), policy.get("spec"),
                   ("description", "alertWhenNoData", "alertWhenResolved", "alertWhenBreaching", "conditions",
                    "notificationTargets"), required=("conditions",))
        if p.bool("alertWhenNoData", False):
            no_data = True
        elif p.has("alertWhenNoData") and no_data is None:
            no_data = False
        if p.bool("alertWhenResolved", False):
            pdoc.warn(p.at("alertWhenResolved"), "resolved notifications are the Alertmanager receiver's "
                                                 "send_resolved; ignored here")
        conditions = p.list("conditions")
        if p.has("conditions") and len(conditions) != 1:
            pdoc.error(p.at("conditions"), "needs exactly one condition (OpenSLO allows one per policy)")
        if not conditions or not p.bool("alertWhenBreaching", True):
            continue
        found = _resolve(pdoc, p.at("conditions") + (0,), conditions[0], "conditionRef", "AlertCondition", objects,
                         shared)
        if found is not None:
            _condition(*found, period, rows, tiers)
    for scratch, real in shared:
        real.problems.extend(p for p in scratch.problems if p not in real.problems)
    alerting = replace(default, page=tiers[names.PAGE], ticket=tiers[names.TICKET])
    if no_data is not None:
        alerting = replace(alerting, no_data=replace(alerting.no_data, enabled=no_data))
    if not rows[names.PAGE] and not rows[names.TICKET]:
        return alerting, None
    google = scaled_table(period)
    table = []
    for severity in names.SEVERITIES:  # a tier no condition names: slokit's rows, its alert off
        table.extend(rows[severity] or [(c.severity, c.long.seconds, c.short.seconds, c.budget_share)
                                        for c in google.by_severity(severity)])
    return alerting, custom(period, table)


def _condition(doc: Doc, path: Path, data: dict[str, Any], period: int,
               rows: dict[str, list[tuple[str, int, int, float]]], tiers: dict[str, Tier]) -> None:
    cs = Fields(doc, path + ("spec",), data.get("spec"), ("description", "severity", "condition"),
                required=("severity", "condition"))
    c = Fields(doc, cs.at("condition"), cs.raw("condition", {}), ("kind", "op", "threshold", "lookbackWindow",
                                                                   "alertAfter"),
               required=("op", "threshold", "lookbackWindow") if cs.has("condition") else ())
    if not cs.ok or not c.ok:
        return
    if c.str("kind", "burnrate") != "burnrate":
        doc.error(c.at("kind"), f"{c.str('kind')!r}: OpenSLO alert conditions are of kind burnrate")
        return
    op = c.str("op", "")
    if op in ("lt", "lte"):
        doc.error(c.at("op"), f"{op!r} alerts while the budget burns slower than the threshold; slokit alerts "
                              "when it burns faster (gt or gte)")
        return
    if op not in ("gt", "gte"):
        doc.error(c.at("op"), f"{op!r} is not one of gt, gte, lt, lte")
        return
    threshold = c.num("threshold", 0.0)
    if threshold <= 0:
        doc.error(c.at("threshold"), "must be a positive burn rate (1: the budget lasts exactly the period)")
        return
    lookback = int(doc.duration(c.at("lookbackWindow"), c.raw("lookbackWindow"), 0, minimum=1))
    if lookback > period:
        doc.error(c.at("lookbackWindow"), "is longer than the SLO's time window")
        return
    if not lookback:
        return
    severity = cs.str("severity", "page")
    tier = names.TICKET if severity.lower() in _TICKET else names.PAGE
    after = common.check_duration(doc, c.at("alertAfter"), c.str("alertAfter"))
    rows[tier].append((tier, lookback, lookback, threshold * lookback / period))
    old = tiers[tier]
    if old.enabled and (old.for_, old.labels) != (after, {"severity": severity}):
        doc.warn(cs.path, f"a second {tier} condition: slokit's {tier} alert keeps the first one's alertAfter "
                          "and severity")
        return
    tiers[tier] = Tier(for_=after, labels={"severity": severity})


def _resolve(doc: Doc, path: Path, entry: object, ref_key: str, kind: str, objects: Objects,
             shared: list[tuple[Doc, Doc]]) -> tuple[Doc, Path, dict[str, Any]] | None:
    """An inline object (`kind: ...` with its spec) or a reference to one read from any file."""
    if isinstance(entry, dict) and ref_key in entry:
        Fields(doc, path, entry, (ref_key,))
        ref = str(entry[ref_key])
        item = objects.get((kind, ref))
        if item is None:
            known = sorted(n for k, n in objects if k == kind)
            doc.error(path + (ref_key,), f"no {kind} named {ref!r} in the files read"
                      + (f" (known: {', '.join(known)})" if known else ""))
            return None
        # a policy or condition many SLOs name is read once per SLO: its problems are kept once
        scratch = Doc(item.doc.file, item.doc.data, item.doc.marks, [], item.doc.base, item.doc.lenient)
        shared.append((scratch, item.doc))
        return scratch, (), item.doc.data
    f = Fields(doc, path, entry, ("apiVersion", "kind", "metadata", "spec"), required=("kind", "spec"))
    if not f.ok:
        return None
    if f.str("kind") != kind:
        doc.error(f.at("kind"), f"must be {kind} (or give {ref_key})")
        return None
    return doc, path, f.data

