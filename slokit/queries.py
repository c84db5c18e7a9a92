"""The one SLI -> PromQL builder: every query slokit writes about an SLO comes from here.

Modelled on Pyrra's `slo/promql.go`: an SLO is normalised once into an `Objective` (which series, which
label matchers, which latency bound), and its methods build the queries every consumer needs — the
recording rules, the alerts, the dashboards, the promtool tests' input series, the delivery templates,
the release gate, `slokit status` and the runtime's Prometheus source. A query is parameterised by:

- `window`: a duration ("5m"), or a placeholder the consumer fills later ("{{.window}}", Grafana's
  "$__rate_interval", Flagger's "{{ interval }}");
- `fn`: `rate` (per-second, for ratios over a window) or `increase` (event counts, for the gate's tests);
- extra `matchers` (exact) and `regex` matchers, e.g. the canary's version label;
- `by`: a grouping label, e.g. one count per version.

Only http and latency SLIs can take extra matchers or grouping: slokit knows their series. Events and raw
SLIs are the user's own PromQL, used as written with the window filled in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from slokit import names, promql
from slokit.spec.model import SLO, EventsSLI, HttpSLI, LatencySLI, RawSLI
from slokit.windows import Window, WindowTable

RATE, INCREASE = "rate", "increase"


def slo_labels(slo: SLO, **extra: str) -> dict[str, str]:
    """The labels of every series slokit records for an SLO: its own labels, then its identity."""
    return {**slo.labels, names.SERVICE: slo.service, names.NAME: slo.name, **extra}


def slo_selector(slo: SLO) -> str:
    """`{slo_name="...",slo_service="..."}`: selects one SLO's recorded series and alerts."""
    return promql.selector({names.SERVICE: slo.service, names.NAME: slo.name})


def recorded(slo: SLO, window: str) -> str:
    """One SLO's recorded error ratio over a window of its table."""
    return names.sli_record(window) + slo_selector(slo)


def all_recorded_ratios(services: list[str] | None = None, slo: SLO | None = None) -> str:
    """Every window's recorded error ratio in one query: of one SLO, or of every SLO of some services."""
    pattern = promql.quote(names.SLI_RECORD + ".+")  # __name__ is reserved in selector(): written here
    if slo is not None:
        return "{__name__=~" + pattern + "," + slo_selector(slo)[1:]
    return _of_services(pattern, services or [])


def console_series(services: list[str]) -> str:
    """Everything `slokit serve` lists, for every SLO of some services, in one instant query: each window's
    and the period's recorded error ratio, the budget remaining and the alerts (pending or firing)."""
    wanted = promql.any_of((names.BUDGET_REMAINING, names.ALERTS))
    return _of_services(promql.quote(promql.regex_escape(names.SLI_RECORD) + ".+|" + wanted), services)


def _of_services(pattern: str, services: list[str]) -> str:
    """The series whose name matches `pattern` (a quoted regex) of every SLO of some services."""
    return "{" + f"__name__=~{pattern}, {names.SERVICE}=~{promql.quote(promql.any_of(services))}" + "}"


def console_history(slo: SLO, window: str, targets: Sequence[str] = ()) -> str:
    """What an SLO's detail page charts, in one range query: the budget remaining and the error ratio over
    `window` (a window of its table), and the runtime's transition counters of `targets` (the breakers and
    switches its policy acts on, "breaker:payments"), whose steps mark the runtime's decisions."""
    pattern = promql.quote(promql.any_of((names.BUDGET_REMAINING, names.sli_record(window))))
    query = "{__name__=~" + pattern + "," + slo_selector(slo)[1:]
    if not targets:
        return query
    return f"{query} or {names.DECISION_TRANSITIONS}{{target=~{promql.quote(promql.any_of(targets))}}}"


def recorded_rate(selector: str, series: str, window: str) -> str:
    """A recorded event rate (names.SLI_BAD or names.SLI_TOTAL) over a window, of the SLOs `selector`
    selects: one SLO's (`slo_selector`) or a scope's (`generate.rules.Scope`)."""
    return f"{series}{window}{selector}"


def rates_ratio(selector: str, window: str) -> str:
    """The error ratio over a window from its recorded bad and total event rates, of the SLOs `selector`
    selects (the scope records it; the alerts divide the `-sli` group's own rates the same way)."""
    return f"{recorded_rate(selector, names.SLI_BAD, window)} / {recorded_rate(selector, names.SLI_TOTAL, window)}"


def tiled(query: str, record: str, tile: Window, table: WindowTable, matched: bool = False) -> str:
    """`query` (a rate over one tile) recorded as `record` (its series selector) only when its last sample is
    a tile old: one sample per tile whatever interval runs the rule, Prometheus' own (a tile: the rule's
    group) or promtool's, which evaluates every group at every step. The look-back stops half a step short
    of a tile, so neither the last sample's own evaluation nor the next slot is on its edge. `matched`: the
    query's series carry the record's labels (it reads recorded series), so each is checked on its own;
    else one SLO's query, whose labels the rule adds, is checked as one (`on ()`)."""
    fresh = promql.format_duration(tile.seconds - table.step // 2)
    unless = "unless" if matched else "unless on ()"
    return f"(\n{_indent(query)}\n)\n{unless}\nlast_over_time({record}[{fresh}])"


def fine_tiles(table: WindowTable, selector: str, series: str, fine: str) -> str:
    """The recorded fine tiles of `series` (SLI_BAD or SLI_TOTAL) of one SLO, from `fine` (the SLI's query
    over one tile)."""
    return tiled(fine, recorded_rate(selector, names.TILE[series], table.tile.name), table.tile, table)


def coarse_tiles(table: WindowTable, selector: str, series: str) -> str:
    """The recorded coarse tiles of `series`, each the sum of the 15 fine tiles before it (one coarse tile's
    events); they keep the fine tiles' labels, so one rule records them for every SLO `selector` selects."""
    tile, coarse = table.tile, table.coarse_tile
    # A second short of the coarse tile: Prometheus 2 includes a sample on a range's start, 3 does not.
    span = promql.format_duration(coarse.seconds - 1)
    fine = recorded_rate(selector, names.TILE[series], tile.name)
    from_fine = f"sum_over_time({fine}[{span}]) * {tile.seconds} / {coarse.seconds}"
    return tiled(from_fine, recorded_rate(selector, names.TILE[series], coarse.name), coarse, table, matched=True)


def events(table: WindowTable, selector: str, series: str, window: Window, recorded: bool = False) -> str:
    """The number of `series` events (SLI_BAD or SLI_TOTAL) over a window longer than the table's raw limit,
    from recorded rates only: never a multi-day range over raw counters, never an average of ratios. Of
    every SLO `selector` selects: each keeps its own labels through the sums.

    Events in (t-W, t] = the raw limit's recorded rate x its length (the recent part, exact)
                       + the events before it (`older_events`: summed here, or, `recorded`, the window's
                         count the scope records).
    """
    limit = table.raw_limit
    recent = f"{recorded_rate(selector, series, limit.name)} * {limit.seconds}"
    if recorded:
        return f"{recent} + {recorded_rate(selector, names.OLDER[series], window.name)}"
    return f"{recent}\n+\n{older_events(table, selector, series, window)}"


def older_events(table: WindowTable, selector: str, series: str, window: Window,
                 shorter: Window | None = None) -> str:
    """The `series` events of a window longer than the raw limit that are older than the raw limit, from the
    recorded tiles: a tile x the sum of the tiles back to `coarse_from` (1d at 30d), plus a coarse tile x
    the sum of the coarse tiles over the rest. `shorter`: a shorter window past the raw limit whose older
    events are recorded (by an earlier rule of the same group, so at the same time): its count, plus the
    tiles between the two windows (each window then sums only its own stretch).

    Each tile sample is the rate over the tile before it, one sample per tile (`tiled`), so a sum counts
    each event once. Each range is shifted by half its tile, so the tile that straddles a boundary is
    centred on it; adjacent ranges select adjacent samples, so a sum split at a window is the same sum.
    What is left is the sampling of the tiles at the junction of the widths and at t-W (docs/spec.md "How
    budgets are counted"). A service younger than a part counts what it has (the part may be empty: 0,
    with the raw limit's rate's labels)."""
    limit, tile, coarse, middle = table.raw_limit, table.tile, table.coarse_tile, table.coarse_from
    recent = recorded_rate(selector, series, limit.name)

    def part(width: Window, start: int, end: int) -> str:
        """The tiles of `width` in (t-end, t-start], shifted by half a tile and a second: the second keeps
        the range's ends off the evaluation grid, so Prometheus 2 and 3 select the same samples."""
        rate = recorded_rate(selector, names.TILE[series], width.name)
        return (f"({width.seconds} * sum_over_time({rate}[{promql.format_duration(end - start)}] offset "
                f"{promql.format_duration(start - width.seconds // 2 + 1)}) or 0 * {recent})")

    start = shorter.seconds if shorter else limit.seconds
    parts = [recorded_rate(selector, names.OLDER[series], shorter.name)] if shorter else []
    if start < middle:
        parts.append(part(tile, start, min(window.seconds, middle)))
    if window.seconds > middle:
        parts.append(part(coarse, max(start, middle), window.seconds))
    return "\n+\n".join(parts)


def long_ratio(table: WindowTable, selector: str, window: Window) -> str:
    """The error ratio over a window longer than the raw limit, bad over all events (`events`, with the
    recorded older counts), on one line: the scope records it, and the alerts read it so, each one rule
    group from the SLI's rates."""
    bad, total = (events(table, selector, s, window, recorded=True) for s in (names.SLI_BAD, names.SLI_TOTAL))
    return f"({bad}) / ({total})"


def event_weighted_ratio(table: WindowTable, selector: str, window: Window) -> str:
    """The error ratio over a window longer than the raw limit in one expression (`events`): the period's,
    which nothing reads the parts of."""
    return divided(events(table, selector, names.SLI_BAD, window), events(table, selector, names.SLI_TOTAL, window))


def divided(numerator: str, denominator: str) -> str:
    """`numerator / denominator`, each parenthesised on its own lines (how every generated ratio reads)."""
    return f"(\n{_indent(numerator)}\n)\n/\n(\n{_indent(denominator)}\n)"


def _indent(query: str) -> str:
    return "\n".join(f"  {line}" if line.strip() else line for line in query.strip().split("\n"))


Grouping = str | tuple[str, ...] | None  # labels to keep (`sum by (...)`); None or (): one series


def _labels(by: Grouping) -> tuple[str, ...]:
    return (by,) if isinstance(by, str) else tuple(by or ())


def _agg(by: Grouping) -> str:
    labels = _labels(by)
    return f"sum by ({', '.join(labels)}) " if labels else "sum"


@dataclass(frozen=True)
class Objective:
    """An SLO normalised for query building.

    For http and latency SLIs: `histogram` is the base name (`_count` and `_bucket` are queried),
    `matchers` the exact label matchers, `counted` the regex matchers every counted request meets
    (the middleware's good|bad outcomes), `threshold` the latency bound (None: availability, where bad
    means the middleware classified the request bad).
    """

    slo: SLO
    histogram: str | None = None
    matchers: dict[str, str] = field(default_factory=dict)
    counted: dict[str, str] = field(default_factory=dict)
    threshold: float | None = None

    @classmethod
    def of(cls, slo: SLO) -> Objective:
        sli = slo.sli
        if isinstance(sli, HttpSLI):
            matchers = {names.SERVICE_LABEL: sli.service}
            if sli.route:
                matchers[names.ROUTE_LABEL] = sli.route
            if sli.method:
                matchers[names.METHOD_LABEL] = sli.method
            return cls(slo, names.HTTP_SERVER_DURATION, matchers,
                       {names.OUTCOME_LABEL: "|".join(names.COUNTED_OUTCOMES)}, sli.latency)
        if isinstance(sli, LatencySLI):
            return cls(slo, sli.histogram, dict(sli.matchers), {}, sli.threshold)
        return cls(slo)

    @cached_property
    def splittable(self) -> bool:
        """Whether slokit knows the series, so it can add matchers and group by labels (http, latency)."""
        return self.histogram is not None

    @property
    def grouping(self) -> Grouping:
        """The SLO's group_by where slokit writes the queries (events SLIs keep their labels themselves)."""
        return self.slo.group_by if self.splittable else None

    def _series(self, suffix: str, window: str, fn: str, matchers: Mapping[str, str], regex: Mapping[str, str],
                by: Grouping, le: bool = False, bad: bool = False) -> str:
        # A label matched exactly by the caller and by regex (a canary split) keeps only the regex.
        exact = {k: v for k, v in {**self.matchers, **matchers}.items() if k not in regex}
        if bad:
            exact[names.OUTCOME_LABEL] = names.BAD
            chosen = dict(regex)
        else:
            chosen = {**self.counted, **regex}
        if le:
            assert self.threshold is not None
            chosen["le"] = promql.le_regex(self.threshold)
        return f"{_agg(by)}({fn}({self.histogram}{suffix}{promql.selector(exact, chosen)}[{window}]))"

    def total(self, window: str, fn: str = RATE, matchers: Mapping[str, str] | None = None,
              regex: Mapping[str, str] | None = None, by: Grouping = None) -> str:
        """All counted events over `window`."""
        sli = self.slo.sli
        if isinstance(sli, EventsSLI):
            return promql.render_window(sli.total_query, window)
        self._require_series(matchers, regex, by, fn)
        return self._series("_count", window, fn, matchers or {}, regex or {}, by)

    def errors(self, window: str, fn: str = RATE, matchers: Mapping[str, str] | None = None,
               regex: Mapping[str, str] | None = None, by: Grouping = None, guard: bool = False,
               total: str | None = None) -> str:
        """Bad events over `window`. `guard`: a service that never failed has no `outcome="bad"` series, so
        its availability errors read 0 (` or vector(0)`), not "no data"; grouped, each group that has
        traffic reads 0 (` or 0 * total`: a label-less 0 would match no group). `total`: a recorded total to
        guard with instead, ungrouped too, so the errors exist exactly when it does (the tiles: bad and
        total recorded at the same evaluations)."""
        sli = self.slo.sli
        if isinstance(sli, EventsSLI):
            return promql.render_window(sli.error_query, window)
        self._require_series(matchers, regex, by, fn)
        if self.threshold is None:
            bad = self._series("_count", window, fn, matchers or {}, regex or {}, by, bad=True)
            if not guard:
                return bad
            if total is not None:  # `on`: the recorded total carries the SLO's labels too
                return f"{bad}\nor on ({', '.join(_labels(by))})\n0 * {total}"
            if by:
                return f"{bad}\nor\n0 * {self.total(window, fn, matchers, regex, by)}"
            return f"{bad} or vector(0)"
        fast = self._series("_bucket", window, fn, matchers or {}, regex or {}, by, le=True)
        return f"{self.total(window, fn, matchers, regex, by)}\n-\n{fast}"

    def ratio(self, window: str, by: Grouping = None) -> str:
        """The error ratio over `window` as the recording rules write it (rates; raw SLIs as given)."""
        sli = self.slo.sli
        if isinstance(sli, RawSLI):
            return promql.render_window(sli.error_ratio_query, window)
        return divided(self.errors(window, guard=True, by=by), self.total(window, by=by))

    def count_ratio(self, window: str, matchers: Mapping[str, str] | None = None, worst: bool = False) -> str:
        """The error ratio of the events counted over `window` (`increase`), optionally of the series
        matching `matchers` only (a canary). For events and raw SLIs: `ratio(window)`. `worst`: of a grouped
        SLO, the group with the highest ratio (one number, as a gate needs)."""
        if not self.splittable:
            if matchers:
                raise TypeError(f"no per-label queries for {type(self.slo.sli).__name__} SLIs")
            ratio = self.ratio(window)
            return f"max(\n{ratio}\n)" if worst and self.slo.group_by else ratio
        if worst and self.slo.group_by:
            by = self.slo.group_by
            bad = self.errors(window, INCREASE, matchers, by=by, guard=True)
            return f"max(\n(\n{bad}\n)\n/\n(\n{self.total(window, INCREASE, matchers, by=by)}\n)\n)"
        bad, total = self.errors(window, INCREASE, matchers), self.total(window, INCREASE, matchers)
        return f"(\n{bad}\nor vector(0)\n)\n/\n(\n{total}\n)"

    def buckets(self, window: str) -> str:
        """The latency histogram's bucket rates by `le`, for quantiles (latency SLIs only)."""
        if self.threshold is None or not self.splittable:
            raise TypeError("buckets are for latency SLIs")
        selector = promql.selector(self.matchers, self.counted or None)
        return f"sum by (le) (rate({self.histogram}_bucket{selector}[{window}]))"

    def _require_series(self, matchers: Mapping[str, str] | None, regex: Mapping[str, str] | None,
                        by: Grouping, fn: str) -> None:
        if not self.splittable:
            raise TypeError(f"no events queries for {type(self.slo.sli).__name__} SLIs")
        if fn not in (RATE, INCREASE):
            raise ValueError(f"fn must be {RATE} or {INCREASE}, got {fn!r}")
