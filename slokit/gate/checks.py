"""The checks of a gate, each over a query function (PromQL -> samples): budget, burn, canary, stop."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from slokit import names, promql, queries, windows
from slokit.gate.report import FAIL, PASS, UNDECIDED, Check, Report, verdict
from slokit.gate.stats import fisher_greater
from slokit.promapi import QueryError
from slokit.spec.gate import Canary, GateSpec, effective
from slokit.spec.model import SLO

Query = Callable[[str], list[tuple[dict[str, str], float]]]  # PromQL -> [(labels, value)]
UNSPLITTABLE = ("cannot compare versions: the SLI's own queries (events or raw) cannot be split by a label; "
                "compare http or latency SLOs only")


def unsplittable(slos: Sequence[SLO]) -> list[str]:
    """Ids of the SLOs a canary comparison cannot cover (events and raw SLIs)."""
    return [s.id for s in slos if not queries.Objective.of(s).splittable]


def _single(query: Query, promql_text: str) -> float | None:
    """One number from an instant query; None when there is no series or only NaN (no traffic)."""
    values = [v for _, v in query(promql_text) if not math.isnan(v)]
    return values[0] if len(values) == 1 else None


def budget_check(slo: SLO, spec: GateSpec, query: Query) -> Check:
    q = names.BUDGET_REMAINING + queries.slo_selector(slo)
    q = f"min({q})" if slo.group_by else q  # a grouped SLO: the group with the least budget left decides
    threshold = spec.min_budget_remaining
    assert threshold is not None  # no budget check without one (_checks)
    value = _single(query, q)
    if value is None:
        return Check(slo.id, "budget", UNDECIDED, "no budget series (are the generated rules loaded?)", q, None,
                     threshold)
    ok = value >= threshold
    return Check(slo.id, "budget", PASS if ok else FAIL,
                 f"{value:.1%} of the error budget left ({'>=' if ok else '<'} {threshold:.1%})", q, value, threshold)


def burn_check(slo: SLO, spec: GateSpec, query: Query) -> Check:
    budget, objective = promql.float_literal(slo.error_budget), queries.Objective.of(slo)
    asked = [f"({objective.count_ratio(promql.format_duration(w), worst=True)})\n/ {budget}" for w in spec.burn_windows]
    burns = {w: _single(query, q) for w, q in zip(spec.burn_windows, asked, strict=True)}
    by_window = {promql.format_duration(w): v for w, v in burns.items()}
    if any(v is None for v in burns.values()):
        missing = ", ".join(n for n, v in by_window.items() if v is None)
        return Check(slo.id, "burn", UNDECIDED, f"no burn rate over {missing} (no traffic or no series)", asked,
                     by_window, spec.max_burn)
    assert spec.max_burn is not None  # effective() filled it
    over = windows.above({w: v for w, v in burns.items() if v is not None}, spec.burn_windows, spec.max_burn)
    shown = ", ".join(f"{n} {v:.2f}x" for n, v in by_window.items())
    return Check(slo.id, "burn", FAIL if over else PASS,
                 f"burn {shown} ({'all above' if over else 'not all above'} {spec.max_burn:g}x)", asked, by_window,
                 spec.max_burn)


def _side_counts(rows: list[tuple[dict[str, str], float]], label: str) -> dict[str, float]:
    """Counts per label value; NaN is no traffic, and a negative or infinite count is no count at all."""
    counts = {labels.get(label, ""): value for labels, value in rows if not math.isnan(value)}
    for name, value in counts.items():
        if not 0 <= value < math.inf:
            raise QueryError("garbage", f"{value:g} requests counted for {label}={name!r}")
    return counts


def canary_check(slo: SLO, canary: Canary, query: Query) -> Check:
    versions = {canary.label: promql.any_of((canary.canary, canary.baseline))}
    objective, window = queries.Objective.of(slo), promql.format_duration(canary.window)
    bad_q = objective.errors(window, queries.INCREASE, regex=versions, by=canary.label)
    total_q = objective.total(window, queries.INCREASE, regex=versions, by=canary.label)
    bad, total = _side_counts(query(bad_q), canary.label), _side_counts(query(total_q), canary.label)
    status, detail, value = compare(canary, bad, total)
    threshold = {"min_requests": canary.min_requests, "confidence": canary.confidence, "tolerance": canary.tolerance}
    return Check(slo.id, "canary", status, detail, [bad_q, total_q], value, threshold)


def compare(canary: Canary, bad: Mapping[str, float], total: Mapping[str, float]) -> tuple[str, str, dict[str, Any]]:
    """(status, detail, values) from bad and total counts per label value: minimum requests on both sides,
    then the one-sided Fisher test and the tolerance. Pure: `slokit simulate --rollout` uses it too."""
    value: dict[str, Any] = {}
    for side, name in (("canary", canary.canary), ("baseline", canary.baseline)):
        t = round(total.get(name, 0.0))
        b = min(max(round(bad.get(name, 0.0)), 0), t)
        value[side] = {"total": t, "bad": b, "ratio": b / t if t else None}
    # No requests is too little whatever min_requests says: there is no ratio to compare.
    short = [s for s in ("canary", "baseline") if value[s]["total"] < max(1, canary.min_requests)]
    if short:
        detail = ", ".join(f"{s} {value[s]['total']} requests" for s in short)
        return UNDECIDED, (f"too little traffic to compare: {detail} "
                           f"(< {canary.min_requests} in {promql.format_duration(canary.window)})"), value
    c, b = value["canary"], value["baseline"]
    p = fisher_greater(c["bad"], c["total"], b["bad"], b["total"])
    value["p_value"] = p
    worse = p < 1 - canary.confidence and c["ratio"] - b["ratio"] > canary.tolerance
    detail = (f"canary {c['ratio']:.3%} vs baseline {b['ratio']:.3%} bad ({c['total']} vs {b['total']} requests), "
              f"one-sided Fisher p={p:.3g}: " + ("significantly worse" if worse else "not significantly worse"))
    return (FAIL if worse else PASS), detail, value


def stop_check(slo: SLO, spec: GateSpec, query: Query) -> Check:
    stop = spec.stop
    assert stop is not None
    step = max(1, stop.for_ // 4)  # at least four points in `for`, as "consecutive" needs
    inner = max(30, 2 * step)  # each point a rate over two steps, and never under 30s (two scrapes at 15s)
    matchers = {spec.canary.label: spec.canary.canary} if spec.canary else None
    ratio = queries.Objective.of(slo).count_ratio(promql.format_duration(inner), matchers)
    q = f"min_over_time((\n{ratio}\n)[{promql.format_duration(stop.for_)}:{promql.format_duration(step)}])"
    value = _single(query, q)
    who = "canary" if spec.canary else "error"
    if value is None:
        return Check(slo.id, "stop", UNDECIDED, f"no {who} ratio over the last {promql.format_duration(stop.for_)}",
                     q, None, stop.error_ratio)
    stopped = value > stop.error_ratio
    return Check(slo.id, "stop", FAIL if stopped else PASS,
                 f"{who} ratio {'stayed above' if stopped else 'was not always above'} {stop.error_ratio:.3%} for "
                 f"{promql.format_duration(stop.for_)} (lowest {value:.3%})", q, value, stop.error_ratio)


def evaluate(slos: Sequence[SLO], query: Query, canary: Mapping[str, Any] | None = None) -> Report:
    """Every check of every SLO. `canary` fields (from the command line or a webhook) override the specs'
    canary sections, and add one to http/latency SLOs that have none; an SLO whose queries cannot be split
    by version (events, raw) gets an undecided canary check instead: asked for a comparison, the gate never
    passes without one."""
    checks: list[Check] = []
    for slo in slos:
        spec = effective(slo)
        if canary and not queries.Objective.of(slo).splittable:
            checks.append(Check(slo.id, "canary", UNDECIDED, UNSPLITTABLE, []))
        elif canary:
            spec = replace(spec, canary=replace(spec.canary or Canary(), **canary))
        for name, run in _checks(spec):
            asked: list[str] = []  # the queries sent, for the report even when the source fails
            try:
                checks.append(run(slo, spec, _recording(query, asked)))
            except QueryError as exc:
                checks.append(Check(slo.id, name, UNDECIDED, f"source cannot answer: {exc}",
                                    asked[0] if len(asked) == 1 else asked))
    return Report(verdict(checks), checks)


def _recording(query: Query, asked: list[str]) -> Query:
    def recorded(text: str) -> list[tuple[dict[str, str], float]]:
        asked.append(text)
        return query(text)
    return recorded


def _checks(spec: GateSpec) -> list[tuple[str, Callable[[SLO, GateSpec, Query], Check]]]:
    out: list[tuple[str, Callable[[SLO, GateSpec, Query], Check]]] = []
    if spec.min_budget_remaining is not None:
        out.append(("budget", budget_check))
    out.append(("burn", burn_check))
    if spec.canary is not None:
        out.append(("canary", lambda slo, s, q: canary_check(slo, s.canary, q)))  # type: ignore[arg-type]
    if spec.stop is not None:
        out.append(("stop", stop_check))
    return out
