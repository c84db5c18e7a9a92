"""`promtool test rules` files that prove the generated alerts fire when they should, and only then.

Per SLO with alerts, three scenarios over synthetic series:
  - a steady error ratio at half the budget: no alert (not even pending) at any alert window;
  - a step from no errors to 100% errors after a calm as long as the page's longest window: the page fires
    within its theoretical detection time (needed ratio x long window) plus one evaluation (plus `for`);
  - a steady burn of 4.5x (between the ticket's 3x and the page's 6x): the ticket fires, the page never.

For http and latency SLIs the synthetic series are the raw metrics, so the SLI queries are exercised
too. For events and raw SLIs slokit cannot know which series make the user's queries true, so it feeds
the recorded window ratios directly (their exact shape for the scenario): the alert logic is proven,
the user's SLI queries are not, and the test file says so.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from slokit import names, promql, queries, windows
from slokit.generate import rules
from slokit.spec.model import SLO, EventsSLI, Guard, HttpSLI, RawSLI, Tier

REQUESTS_PER_STEP = 1000.0
# promtool evaluates every rule at every step from 1970-01-01: a calendar boundary further than this is too slow
# to reach (a week of 1m steps takes it about a minute).
CALENDAR_REACH = 7 * 86400


@dataclass(frozen=True)
class Phase:
    steps: int
    error_ratio: float
    requests: float = REQUESTS_PER_STEP  # per step: uneven traffic is phases of different volume


def step_seconds(slo: SLO) -> int:
    """Input series and evaluation step: the rules' step (a fifth of the shortest window, 1m at 30d)."""
    return slo.table.step


def on_a_tile(steps: int, slo: SLO) -> int:
    """`steps`, rounded up to a time the rules write a tile at: the tiles record themselves once per tile from
    their first sample, which needs two raw samples (time 0 and one step), so one step past each tile
    boundary. The `-period` group reads its tiles the evaluation it writes them, so a check there sees the
    junctions as Prometheus' own evaluations do: exact."""
    per = slo.table.tile.seconds // step_seconds(slo)
    return steps + (1 - steps) % per


def exact_ratio(phases: list[Phase], last: int | None = None) -> float:
    """Bad events over all events in the `last` steps (all of them by default): what the recorded ratios
    must come close to, counted event by event."""
    bad = total = 0.0
    left = sum(p.steps for p in phases) if last is None else last
    for phase in reversed(phases):
        n = min(phase.steps, left)
        bad, total, left = bad + n * phase.requests * phase.error_ratio, total + n * phase.requests, left - n
    return bad / total if total else 0.0


def _num(value: float) -> str:
    """A number for promtool's series notation: fixed-point (its parser reads `1e-05` as an operator)."""
    text = f"{round(value, 9):.9f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def expand(values: list[float]) -> str:
    """Values as promtool's expanding notation, one `a+bxn` segment per arithmetic run."""
    segments, i = [], 0
    while i < len(values):
        j = i + 1
        if j < len(values):
            step = round(values[j] - values[i], 9)
            while j + 1 < len(values) and round(values[j + 1] - values[j], 9) == step:
                j += 1
            segments.append(f"{_num(values[i])}{'+' if step >= 0 else ''}{_num(step)}x{j - i}")
        else:
            segments.append(_num(values[i]))
        i = j + 1
    return " ".join(segments)


def _counter(phases: list[Phase], share: str) -> str:
    """A counter of REQUESTS_PER_STEP requests per step, `share` ("bad", "good", "all") of them: one
    promtool segment per phase, so the text stays short however long the scenario."""
    segments, value = [], 0.0
    for i, phase in enumerate(phases):
        per = {"bad": phase.error_ratio, "good": 1 - phase.error_ratio, "all": 1.0}[share] * phase.requests
        first = value if i == 0 else value + per  # the first segment also holds the sample at time 0
        count = phase.steps if i == 0 else phase.steps - 1
        segments.append(f"{_num(first)}+{_num(per)}x{count}")
        value = first + per * count
    return " ".join(segments)


def _window_rate(phases: list[Phase], window_steps: int, step: int, share: str) -> list[float]:
    """The per-second rate of `share` ("bad" or "all") events a `rate()` over `window_steps` steps sees,
    sample by sample: the events of the steps inside the window over its length (running sums)."""
    per_step = [p.requests * (p.error_ratio if share == "bad" else 1.0) for p in phases for _ in range(p.steps)]
    total = [0.0, *itertools.accumulate(per_step)]
    return [(total[t] - total[max(0, t - window_steps)]) / (window_steps * step) for t in range(len(per_step) + 1)]


def _window_ratio(phases: list[Phase], window_steps: int) -> list[float]:
    """The error ratio a `rate()` over `window_steps` steps sees, sample by sample (running sums: O(steps))."""
    per_step = [p.error_ratio for p in phases for _ in range(p.steps)]
    total = [0.0, *itertools.accumulate(per_step)]
    span = max(1, window_steps - 1)  # rate() sees the samples inside the window: one step fewer
    first = [per_step[0] if per_step else 0.0]
    return first + [(total[t] - total[max(0, t - span)]) / (t - max(0, t - span)) for t in range(1, len(per_step) + 1)]


def _series(name: str, labels: dict[str, str], values: list[float] | str) -> dict[str, str]:
    return {"series": f"{name}{promql.selector(labels)}",
            "values": values if isinstance(values, str) else expand(values)}


def group_labels(slo: SLO) -> dict[str, str]:
    """The one group the scenarios run (grouped SLOs keep these labels on every recorded series): the value
    the input series carry, a plain one where the SLI leaves the label open."""
    given = {names.ROUTE_LABEL: "/", names.METHOD_LABEL: "GET", **queries.Objective.of(slo).matchers}
    return {label: given.get(label, "a") for label in slo.group_by}


def recorded_labels(slo: SLO, window: str | None = None) -> dict[str, str]:
    """The labels of a recorded series of the scenario's group."""
    extra = {names.WINDOW: window} if window else {}
    return {**queries.slo_labels(slo, **extra), **group_labels(slo)}


def feeds_event_rates(slo: SLO) -> bool:
    """Whether the tests of an events SLI feed the recorded event rates. Not when its queries answer without
    any series (`... or on() vector(0)`): the rules then write those rates themselves, and promtool refuses
    two samples of one series at one time."""
    sli = slo.sli
    return isinstance(sli, EventsSLI) and not any("vector(" in q.lower() for q in (sli.error_query, sli.total_query))


def input_series(slo: SLO, phases: list[Phase]) -> list[dict[str, str]]:
    """Series the SLI's queries select, fed `phases`: the middleware's or the histogram's own series for
    http and latency SLIs (labels the query leaves open get a plain value), else the recorded ratios."""
    objective = queries.Objective.of(slo)
    if objective.splittable:
        assert objective.histogram is not None
        labels = {**group_labels(slo), **objective.matchers}
        if isinstance(slo.sli, HttpSLI):  # a concrete request: the route and method the query leaves open
            labels = {names.ROUTE_LABEL: "/", names.METHOD_LABEL: "GET", **labels}
            good = {**labels, names.CODE_LABEL: "200", names.OUTCOME_LABEL: names.GOOD}
            if objective.threshold is None:
                bad = {**labels, names.CODE_LABEL: "500", names.OUTCOME_LABEL: names.BAD}
                return [_series(f"{objective.histogram}_count", good, _counter(phases, "good")),
                        _series(f"{objective.histogram}_count", bad, _counter(phases, "bad"))]
            labels = good
        assert objective.threshold is not None
        return [
            _series(f"{objective.histogram}_count", labels, _counter(phases, "all")),
            _series(f"{objective.histogram}_bucket", {**labels, "le": repr(float(objective.threshold))},
                    _counter(phases, "good")),
        ]
    # Events and raw SLIs: the recorded series the rules build on, in their exact shape for the scenario —
    # event rates where the rules record them (events SLIs), error ratios for the other windows.
    table, step = slo.table, step_seconds(slo)
    counted = rules.counted_windows(slo, table) if feeds_event_rates(slo) else set()
    out = []
    for w in table.windows:
        if counted and w.seconds > table.raw_limit.seconds:
            continue  # the rules build it from the fed rates and tiles
        if w.seconds in counted:
            out += [_series(name + w.name, recorded_labels(slo),
                            _window_rate(phases, w.seconds // step, step, share))
                    for name, share in ((names.SLI_BAD, "bad"), (names.SLI_TOTAL, "all"))]
        else:
            out.append(_series(names.sli_record(w.name), recorded_labels(slo, w.name),
                               _window_ratio(phases, w.seconds // step)))
    if counted:  # the tiles, one sample per tile from the first step on, as `queries.tiled` records them
        every = table.tile.seconds // step
        out += [_series(names.TILE[name] + table.tile.name, recorded_labels(slo),
                        "_ " + " ".join(f"{_num(v)} _x{every - 1}"
                                        for v in _window_rate(phases, every, step, share)[1::every]))
                for name, share in ((names.SLI_BAD, "bad"), (names.SLI_TOTAL, "all"))]
    return out


def exercises_sli_queries(slo: SLO) -> bool:
    return queries.Objective.of(slo).splittable


def _alerts(slo: SLO, extra: str = "") -> str:
    assert slo.alerting is not None
    sel = promql.selector({"alertname": slo.alerting.name, names.SERVICE: slo.service, names.NAME: slo.name})
    return "ALERTS" + (sel[:-1] + extra + "}" if extra else sel)


def _seconds(value: str | None) -> int:
    return promql.parse_duration(value) if value else 0


def _wait(tier: Tier, condition: windows.Condition) -> int:
    """Seconds a row's alert waits once its condition holds (the row's `for`, else the tier's)."""
    return _seconds(rules.row_for(tier, condition))


def _tier_firing(slo: SLO, severity: str, extra: str) -> str:
    """One sample per firing tier: a tier whose rows alert separately may fire several alerts at once."""
    per_row = any(c.for_ is not None for c in slo.table.by_severity(severity))
    return f"{'group' if per_row else 'count'} by (slo_severity) ({_alerts(slo, extra)})"


def _fed(slo: SLO, severity: str, rows: Sequence[windows.Condition]) -> tuple[list[windows.Condition], list[str]]:
    """The rows of a tier whose windows the tests can drive, and a note on each of the others: the rows
    reading event rates that the rules record themselves (events queries that answer without series)."""
    if not isinstance(slo.sli, EventsSLI) or feeds_event_rates(slo):
        return list(rows), []
    fed = [c for c in rows if all(rules.reads_recorded(slo, w) for w in (c.short, c.long))]
    return fed, [f"{slo.id}: the {severity} over {c.short.name} and {c.long.name} reads the event rates the rules "
                 "record themselves: not asserted" for c in rows if c not in fed]


def _at(seconds: int, step: int) -> str:
    """An eval time on the step grid (promtool evaluates at multiples of the evaluation interval)."""
    return promql.format_duration(max(step, math.ceil(seconds / step) * step))


def slo_tests(slo: SLO) -> tuple[list[dict[str, Any]], list[str]]:
    """The test groups for one SLO, and notes on what could not be asserted."""
    if slo.alerting is None:
        return [], [f"{slo.id}: no alerting, no alert tests"]
    table, step, budget = slo.table, step_seconds(slo), slo.error_budget
    page, ticket = slo.alerting.page, slo.alerting.ticket
    # Under a steady ratio every window sees the same ratio, so the scenarios need only run as long as the
    # page's longest window (6h at 30d), not the ticket's 3d: promtool evaluates every rule at every step.
    horizon = max(c.long.seconds for c in table.by_severity("page"))
    calm_steps = math.ceil(horizon / step)
    firing = ',alertstate="firing"'
    page_firing = firing + ',slo_severity="page"'
    tests, notes = [], []

    # 1. Steady error ratio at half the budget: nothing fires or even pends, at any window's end.
    checks = sorted({_at(w.seconds + step, step) for w in table.windows if w.seconds <= horizon},
                    key=promql.parse_duration)
    tests.append(_test(slo, "steady error ratio at half the budget: no alert", [Phase(calm_steps + 2, budget / 2)],
                       [{"expr": _alerts(slo), "eval_time": t, "exp_samples": []} for t in checks]))

    # 1b. A service that never failed has no bad series at all: its error ratio must read 0, not be absent.
    if isinstance(slo.sli, HttpSLI) and slo.sli.latency is None:
        series = input_series(slo, [Phase(calm_steps + 2, 0.0)])[:1]  # the good series alone
        short = table.shortest
        labels = promql.selector(recorded_labels(slo, short.name))
        test = _test(slo, "no failure yet: the error ratio is 0, not absent", [], [
            {"expr": queries.recorded(slo, short.name), "eval_time": _at(short.seconds * 2, step),
             "exp_samples": [{"labels": names.sli_record(short.name) + labels, "value": 0}]}])
        tests.append({**test, "input_series": series})

    # 2. Step to 100% errors after a calm: the page fires within needed x long window + one evaluation.
    if page.enabled:
        needed = [c.factor * budget for c in table.by_severity("page")]
        if min(needed) >= 1:
            notes.append(f"{slo.id}: page cannot fire: {min(needed):.3g} of all events would have to fail")
        else:
            rows = [c for c in table.by_severity("page") if c.factor * budget < 1]
            rows, unfed = _fed(slo, names.PAGE, rows)
            notes += unfed
            if rows:
                detect = min(c.long.seconds * c.factor * budget for c in rows)
                fire = calm_steps * step + step + min(math.ceil(c.long.seconds * c.factor * budget / step) * step
                                                      + _wait(page, c) for c in rows)
                after = math.ceil((fire - calm_steps * step) / step) + 3
                tests.append(_test(
                    slo, f"100% errors after a calm: page fires within {promql.format_duration(math.ceil(detect))} "
                         f"plus one evaluation", [Phase(calm_steps, 0.0), Phase(after, 1.0)],
                    [{"expr": _alerts(slo), "eval_time": _at((calm_steps - 1) * step, step), "exp_samples": []},
                     {"expr": _tier_firing(slo, names.PAGE, page_firing),
                      "eval_time": _at(fire, step), "exp_samples": [{"labels": '{slo_severity="page"}', "value": 1}]}]))

    # 3. A steady burn between the tiers (4.5x for the Google table: above the ticket's 3x, below the page's 6x).
    page_floor = min((c.factor for c in table.by_severity(names.PAGE)), default=math.inf)
    ticket_top = max((c.factor for c in table.by_severity(names.TICKET)), default=0.0)
    burn = (page_floor + ticket_top) / 2 if page_floor < math.inf else 1.5 * ticket_top
    if ticket.enabled:
        ratio = burn * budget
        fed, unfed = _fed(slo, names.TICKET, table.by_severity(names.TICKET))
        notes += unfed
        if ticket_top >= page_floor:
            notes.append(f"{slo.id}: no burn tickets without paging (page {page_floor:g}x, ticket {ticket_top:g}x); "
                         "ticket-only test skipped")
        elif ratio >= 1:
            notes.append(f"{slo.id}: a {burn:g}x burn is over 100% errors; ticket-only test skipped")
        elif fed:
            start = 3 * step + min(_wait(ticket, c) for c in fed)
            times = [_at(start, step), _at(horizon + start, step)]
            steps = math.ceil(max(promql.parse_duration(t) for t in times) / step) + 2
            tests.append(_test(
                slo, f"steady {burn:g}x burn: ticket fires, page does not", [Phase(steps, ratio)],
                [{"expr": _tier_firing(slo, names.TICKET, firing), "eval_time": t,
                  "exp_samples": [{"labels": '{slo_severity="ticket"}', "value": 1}]} for t in times]))
    if isinstance(slo.sli, RawSLI):
        notes.append(f"{slo.id}: raw SLI: no events, so no budget tests (its period ratio is a time average)")
    elif isinstance(slo.sli, EventsSLI) and not feeds_event_rates(slo):
        notes.append(f"{slo.id}: events SLI whose queries answer without any series (`vector(...)`): the rules "
                     "record its event rates themselves, so no budget or no-data tests can feed them")
    elif slo.calendar is not None:
        scenario = calendar_tests(slo)
        tests += scenario + guard_tests(slo)
        if not scenario:
            first = promql.format_duration(slo.calendar.boundary_after(0))
            notes.append(f"{slo.id}: the calendar's first boundary after 1970-01-01, where promtool's clock starts, is "
                         f"{first} in: too far for promtool (over {promql.format_duration(CALENDAR_REACH)}), so no "
                         "budget-reset test (tests/test_openslo_calendar.py proves the reset on an early boundary)")
    else:
        tests += budget_tests(slo) + guard_tests(slo)
    if not exercises_sli_queries(slo):
        notes.append(f"{slo.id}: {slo.sli_kind} SLI: tests feed the recorded "
                     "window ratios; the SLI queries themselves are not exercised")
    return tests, notes


def _within(expr: str, labels: dict[str, str], exact: float, tolerance: float, eval_time: str) -> dict[str, Any]:
    """A check that a recorded figure (a series with `labels`) is within `tolerance` of the exact value:
    promtool compares samples exactly, so the comparison is in PromQL."""
    return {"expr": f"abs({expr} - {_num(exact)}) < bool {_num(tolerance)}", "eval_time": eval_time,
            "exp_samples": [{"labels": promql.selector(labels), "value": 1}]}


def _guard_alert(slo: SLO, guard: Guard, suffix: str) -> str:
    assert slo.alerting is not None
    return "ALERTS" + promql.selector({"alertname": slo.alerting.guard_name(guard, suffix), names.SERVICE: slo.service,
                                       names.NAME: slo.name, "alertstate": "firing"})


def _fires(expr: str, eval_time: str, labels: dict[str, str] | None) -> dict[str, Any]:
    """`count(expr)` at `eval_time`: 1 when `labels` is given (the alert fires), no sample otherwise."""
    samples = [{"labels": promql.selector(labels), "value": 1}] if labels is not None else []
    return {"expr": f"count({expr})", "eval_time": eval_time, "exp_samples": samples}


def guard_tests(slo: SLO) -> list[dict[str, Any]]:
    """No data, too few events to page, and budget exhaustion ahead: each shown on both sides."""
    assert slo.alerting is not None
    alerting, table, step, budget = slo.alerting, slo.table, step_seconds(slo), slo.error_budget
    short, tests = table.shortest, []
    if alerting.no_data.enabled:
        # Traffic, then the series stop: the alert waits out the lookback (5m), the window and its `for`.
        live = math.ceil(2 * short.seconds / step)
        wait = 300 + short.seconds + _seconds(alerting.no_data.for_ or short.name) + 2 * step
        gone = math.ceil(wait / step) + 1
        test = _test(slo, "the SLI's series stop: no-data alert", [Phase(live, 0.0)], [
            _fires(_guard_alert(slo, alerting.no_data, names.NO_DATA_SUFFIX), _at(live * step, step), None),
            _fires(_guard_alert(slo, alerting.no_data, names.NO_DATA_SUFFIX), _at((live + gone) * step, step), {})])
        for series in test["input_series"]:
            series["values"] += f" _x{gone}"
        tests.append(test)
    objective = queries.Objective.of(slo)
    if alerting.invalid.enabled and (objective.threshold is not None or isinstance(slo.sli, EventsSLI)):
        # A fast bucket above its count (latency), or bad events above the total (events): a broken SLI.
        broken = 1.5 if isinstance(slo.sli, EventsSLI) else -0.5
        steps = math.ceil((2 * short.seconds + _seconds(alerting.invalid.for_ or short.name)) / step) + 3
        tests.append(_test(slo, "an error ratio outside [0, 1]: invalid-SLI alert", [Phase(steps, broken)],
                           [_fires(_guard_alert(slo, alerting.invalid, names.INVALID_SUFFIX),
                                   _at(steps * step, step), {})]))
    page = table.by_severity(names.PAGE)
    if alerting.min_events and alerting.page.enabled and page:
        # 100% errors on too few requests: every page window stays under min_events, so nothing pages,
        # though without the minimum the first page condition would fire within a step or two.
        steps = math.ceil((3 * short.seconds + min(_wait(alerting.page, c) for c in page)) / step) + 3
        few = alerting.min_events / (2 * steps)
        tests.append(_test(slo, f"100% errors on fewer than {alerting.min_events} events: no page",
                           [Phase(steps, 1.0, few)],
                           [_fires(_alerts(slo, f',alertstate="firing",{names.SEVERITY}="page"'),
                                   _at(steps * step, step), None)]))
    if alerting.exhaustion.enabled:
        # At the period's pace so far: a half-budget burn lasts, an over-budget burn has spent it.
        p, within = table.period.seconds, alerting.exhaustion.within
        quiet = 0.5 * p / (p + within)
        steps = math.ceil((2 * short.seconds + _seconds(alerting.exhaustion.for_ or short.name)) / step) + 3
        at = _at(steps * step, step)
        for burn, fires in ((quiet, False), (1.2, True)):
            if burn * budget >= 1:
                continue
            tests.append(_test(slo, f"steady {burn:.2g}x burn: exhaustion alert {'fires' if fires else 'quiet'}",
                               [Phase(steps, burn * budget)],
                               [_fires(_guard_alert(slo, alerting.exhaustion, names.EXHAUSTION_SUFFIX), at,
                                       {} if fires else None)]))
    return tests


def calendar_tests(slo: SLO) -> list[dict[str, Any]]:
    """A calendar period's budget starts over at the boundary: errors late in one period (10x the budget) are
    not counted in the next, whose night and day traffic (100x busier by day, errors at 2x and 0.2x the budget)
    gives a budget remaining within 0.01 of the exact value. The scenario is placed at the calendar's first
    boundary after 1970-01-01 (where promtool's clock starts), after steps without traffic. The errors stop two
    shortest windows before the boundary: events within half a shortest window of it count partly in each period
    (docs/spec.md, calendar windows)."""
    assert slo.calendar is not None
    table, step, budget = slo.table, step_seconds(slo), slo.error_budget
    half = max(1, 20 * table.shortest.seconds // step)
    gap = math.ceil(2 * table.shortest.seconds / step)
    boundary = slo.calendar.boundary_after(0)
    lead = boundary // step - half - gap
    if lead < 0:
        boundary = slo.calendar.boundary_after(boundary)
        lead = boundary // step - half - gap
    if boundary > CALENDAR_REACH:
        return []
    night, day = REQUESTS_PER_STEP / 100, REQUESTS_PER_STEP
    before = [Phase(half, 10 * budget, day)]
    after = [Phase(half, 2 * budget, night), Phase(half, 0.2 * budget, day)]
    remaining = names.BUDGET_REMAINING + queries.slo_selector(slo)
    labels = recorded_labels(slo, table.period.name)
    late = 1 - exact_ratio(before) / budget
    fresh = 1 - exact_ratio(after) / budget
    checks = [_within(remaining, labels, late, 0.01, _at((lead + half) * step, step)),
              _within(remaining, labels, fresh, 0.01, _at((lead + half + gap + 2 * half) * step, step))]
    test = _test(slo, f"calendar period: errors before the boundary (budget remaining {late:.3f}) are not counted "
                      f"after it ({fresh:.3f} within 0.01)", [*before, Phase(gap, 0.0, day), *after], checks)
    for series in test["input_series"]:  # no series before the scenario: promtool's idle steps stay cheap
        series["values"] = f"_x{lead} {series['values']}" if lead else series["values"]
    return [test]


def budget_tests(slo: SLO) -> list[dict[str, Any]]:
    """Night and day traffic, 100x busier by day, each half as long as the raw limit (the recent part of the
    event-weighted windows, so the older part is exercised too) and 20 shortest windows (100m at 30d): the
    recorded budget remaining must be within 0.01 of the exact one, counted event by event — where an
    average of ratios over time is wrong by far."""
    table, step, budget = slo.table, step_seconds(slo), slo.error_budget
    # The junction of the two parts sits on the step from night to day: the worst case, where events within
    # half a shortest window of it count 0.6 to 1.4 times; halves of at least 20 shortest windows keep that
    # within the tolerance (a table whose shortest window is large beside its page windows needs them).
    half = max(1, max(table.raw_limit.seconds, 20 * table.shortest.seconds) // step)
    days = on_a_tile(2 * half, slo) - half  # the check on a tile: the junction a step or three past night
    night, day = REQUESTS_PER_STEP / 100, REQUESTS_PER_STEP
    scenarios = [
        ("errors only at night", [Phase(half, 50 * budget, night), Phase(days, 0.1 * budget, day)]),
        ("errors only at the day peak", [Phase(half, 0.0, night), Phase(days, 1.5 * budget, day)]),
    ]
    end = _at((half + days) * step, step)
    tests = []
    for title, phases in scenarios:
        exact = 1 - exact_ratio(phases) / budget
        remaining = names.BUDGET_REMAINING + queries.slo_selector(slo)
        longest = max(table.windows, key=lambda w: w.seconds)  # event-weighted too
        # the meta rules keep the period ratio's labels, slo_window included
        checks = [_within(remaining, recorded_labels(slo, table.period.name), exact, 0.01, end),
                  _within(queries.recorded(slo, longest.name), recorded_labels(slo, longest.name),
                          exact_ratio(phases, longest.seconds // step), 0.01 * budget, end)]
        tests.append(_test(slo, f"day/night traffic, {title}: budget remaining {exact:.3f} within 0.01", phases,
                           checks))
    return tests


def _test(slo: SLO, name: str, phases: list[Phase], checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": f"{slo.service}/{slo.name}: {name}",
        "interval": promql.format_duration(step_seconds(slo)),
        "input_series": input_series(slo, phases),
        "promql_expr_test": checks,
    }


def tests_document(rules_file: str, slos: list[SLO]) -> tuple[dict[str, Any], list[str]]:
    """A promtool test file for one service's rules file, and the notes on what it skips."""
    tests, notes = [], []
    for slo in slos:
        t, n = slo_tests(slo)
        tests.extend(t)
        notes.extend(n)
    doc = {
        # The scopes' rules (beside the service's) cover other services' SLOs too: their series are not here.
        "rule_files": [rules_file] + [str(PurePosixPath(rules_file).with_name(scope.file))
                                      for scope in rules.scopes(slos)],
        "evaluation_interval": promql.format_duration(min((step_seconds(s) for s in slos), default=60)),
        "group_eval_order": rules.eval_order(slos),
        "tests": tests,
    }
    return doc, notes
