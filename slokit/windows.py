"""The burn-rate window table: the one place that says which windows alert, and at what burn.

The table is data, as in the Google SRE workbook (chapter 5, "Alerting on SLOs") for a 30-day period:

    tier    long window  short window  budget spent  burn factor (= share * period / long window)
    page    1h           5m            2%            14.4
    page    6h           30m           5%            6
    ticket  1d           2h            10%           3
    ticket  3d           6h            10%           1

For another period every window is scaled by period / 30d, so each row still means "this share of the
budget was spent in this share of the period" and the factor is unchanged (a 7d SLO pages when 2% of its
budget burns in 14m). Keeping the factor fixed rather than the windows keeps short periods meaningful: a
3d window is 43% of a 7d period, and for a compressed demo period of 1h it would not fit at all.
Rules, dashboards and the in-process runtime all read this module, so Prometheus and the app agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache

from slokit import names
from slokit.promql import float_literal, format_duration

BASE_PERIOD = names.DEFAULT_PERIOD


# The 30d table; `table(period)` scales it.
GOOGLE_30D: tuple[tuple[str, int, int, float], ...] = (
    ("page", 3600, 300, 0.02),
    ("page", 6 * 3600, 1800, 0.05),
    ("ticket", 86400, 2 * 3600, 0.10),
    ("ticket", 3 * 86400, 6 * 3600, 0.10),
)



@dataclass(frozen=True)
class Window:
    """A window of the table for one period, in seconds and as a Prometheus duration."""

    seconds: int

    @cached_property
    def name(self) -> str:
        return format_duration(self.seconds)


def above(burns: Mapping[int, float], seconds: Iterable[int], threshold: float) -> bool:
    """Every one of the windows burns faster than `threshold` (a window with no figure is not burning)."""
    return all(burns.get(s, 0.0) > threshold for s in seconds)


@dataclass(frozen=True)
class Condition:
    """One multiwindow condition: both windows burn faster than `factor` times the error budget.

    The long window says enough budget was spent to matter, the short one that it is still being spent
    (so the alert resets soon after the fault ends). `holds` evaluates it on burn figures (the runtime,
    the status page, retries); `promql` renders the same condition for the alert rules.
    """

    severity: str
    long: Window
    short: Window
    factor: float  # burn-rate threshold: error ratio > factor * (1 - objective)
    budget_share: float
    # Seconds the row's alert waits (Pyrra's per-row `for`, a `windows:` row's `for`); None: its tier's `for`.
    # A tier with any such row alerts once per row, so each row keeps its own wait.
    for_: int | None = None

    @property
    def seconds(self) -> tuple[int, int]:
        return self.short.seconds, self.long.seconds

    def holds(self, burns: Mapping[int, float]) -> bool:
        """Both windows above the factor; `burns` maps window seconds to burn (error ratio / budget)."""
        return above(burns, self.seconds, self.factor)

    def promql(self, ratio: Callable[[Window], str], budget: str, events: Callable[[Window], str] | None = None) -> str:
        """The condition over recorded error ratios: `ratio(window)` selects one window's series;
        `events(window)`, if given, is one more clause over the long window (enough events to judge)."""
        threshold = f"({float_literal(self.factor)} * {budget})"
        short, long = (f"max({ratio(w)} > {threshold}) without ({names.WINDOW})" for w in (self.short, self.long))
        extra = f"\n  and\n  {events(self.long)}" if events else ""
        return f"(\n  {short}\n  and\n  {long}{extra}\n)"


@dataclass(frozen=True)
class WindowTable:
    period: Window
    conditions: tuple[Condition, ...]

    @cached_property
    def windows(self) -> tuple[Window, ...]:
        """Every distinct alert window, shortest first (what the SLI recording rules must cover)."""
        seen = {w.seconds for c in self.conditions for w in (c.short, c.long)}
        return tuple(Window(s) for s in sorted(seen))

    @property
    def shortest(self) -> Window:
        return self.windows[0]

    @cached_property
    def step(self) -> int:
        """Evaluation step of the rules (seconds): a fifth of the shortest window (1m at 30d), at most 1m so
        recorded series stay within Prometheus' 5m lookback."""
        return max(1, min(60, self.shortest.seconds // 5))

    @cached_property
    def tile(self) -> Window:
        """The width of the recorded slices the windows longer than the raw limit sum (4 steps, 4m at 30d),
        and the period rules' interval. One slice per tile, each the rate over the tile before it, so a sum
        over them counts each event once and reads a quarter of the samples one per step would."""
        return Window(4 * self.step)

    @cached_property
    def coarse_tile(self) -> Window:
        """Fifteen tiles (1h at 30d): the slices of the part of a window older than `coarse_from`."""
        return Window(15 * self.tile.seconds)

    @cached_property
    def coarse_from(self) -> int:
        """Seconds back from which coarse tiles count: the shortest window past the raw limit (1d at 30d),
        so the ticket tier's 1d and the recent day of the 3d and the period are summed from fine tiles; and
        at least 24 coarse tiles, so their half-tile blur at the junction is small beside what lies after."""
        longer = [w.seconds for w in self.windows if w.seconds > self.raw_limit.seconds]
        return max(min(longer, default=self.period.seconds), 24 * self.coarse_tile.seconds)

    @cached_property
    def raw_limit(self) -> Window:
        """The long window of the fastest page condition (1h at 30d): up to it, ratios come from the raw
        series (exact, as fast as the data); longer windows and the period add the raw limit's recorded
        rate and recorded tiles, so their freshest part is exact too and the rest costs a sample per tile,
        not one per scrape (docs/spec.md "How budgets are counted")."""
        page = self.by_severity(names.PAGE)
        return min((c.long for c in page), key=lambda w: w.seconds) if page else self.shortest

    def by_severity(self, severity: str) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if c.severity == severity)

    def alerts(self, severity: str) -> tuple[tuple[Condition, ...], ...]:
        """The tier's conditions as its alert rules see them: one alert over all rows (either fires it), or,
        when a row has its own `for`, one alert per row (a `for` is per alert rule)."""
        rows = self.by_severity(severity)
        return tuple((c,) for c in rows) if any(c.for_ is not None for c in rows) else (rows,) if rows else ()

    def firing(self, severity: str, burns: Mapping[int, float]) -> Condition | None:
        """The first condition of the tier that holds on these burns (the alert would fire), or None."""
        return next((c for c in self.by_severity(severity) if c.holds(burns)), None)


def condition(severity: str, long: int, short: int, share: float, period: int, for_: int | None = None) -> Condition:
    """One row of a table: `share` of the period's budget spent within `long` seconds. The factor follows
    (share * period / long), as in Sloth's AlertWindows and the workbook."""
    return Condition(severity, Window(long), Window(short), round(share * period / long, 6), share, for_)


Row = tuple[str, int, int, float] | tuple[str, int, int, float, int | None]


def custom(period: int, rows: Iterable[Row]) -> WindowTable:
    """A table given as data (slokit/v1 `windows:`, Sloth's AlertWindows, Pyrra's windows): rows of
    (severity, long seconds, short seconds, budget share[, the row's own `for` in seconds]) for one period,
    used as they are."""
    return WindowTable(Window(period), tuple(
        condition(row[0], row[1], row[2], row[3], period, row[4] if len(row) == 5 else None) for row in rows))


def _scale(seconds: int, period: int) -> int:
    return max(1, round(seconds * period / BASE_PERIOD))


@lru_cache(maxsize=64)
def table(period_seconds: int) -> WindowTable:
    """The Google table scaled to a period; the factor is recomputed from the rounded window."""
    return custom(period_seconds, ((severity, _scale(long, period_seconds), _scale(short, period_seconds), share)
                                   for severity, long, short, share in GOOGLE_30D))


def detection_seconds(condition: Condition, error_budget: float, error_ratio: float) -> float:
    """Theoretical time for a step to `error_ratio` to fire `condition` (the long window is the slower)."""
    needed = condition.factor * error_budget
    if error_ratio <= needed:
        return float("inf")
    return condition.long.seconds * needed / error_ratio


@dataclass(frozen=True)
class Calendar:
    """A calendar-aligned period (OpenSLO `isRolling: false`): the budget starts over at every boundary.

    PromQL's time functions know only UTC, so a time zone is one fixed offset (`offset`, the zone's at the
    calendar's start; docs/spec.md says what that means across daylight saving time). Periods are either
    `months` long (a month, quarter or year: boundaries on the start's day of the month, 1-28, and time of
    day) or a fixed number of `seconds` (days, weeks: boundaries every `seconds` from `start`).
    """

    months: int  # 0: a fixed-length period of `seconds`
    seconds: int  # fixed-length periods only
    start: int  # the first period's start, Unix seconds (UTC)
    offset: int  # the time zone's offset from UTC, seconds (fixed)
    zone: str = field(default="", compare=False)  # as written, for messages (the offset is what counts)

    def index(self, t: float) -> int:
        """The number of the period `t` (Unix seconds) falls in, as `index_promql` computes it."""
        if not self.months:
            return math.floor((t - self.start) / self.seconds)
        local = datetime.fromtimestamp(t + self._shift, tz=UTC)
        return math.floor((12 * local.year + local.month - self._base) / self.months)

    def index_promql(self, lag: int = 0) -> str:
        """The period number at evaluation time minus `lag` seconds, as a one-element vector without labels."""
        if not self.months:
            return f"floor(vector((time() - {self.start + lag}) / {self.seconds}))"
        shift = self._shift - lag
        local = f"vector(time() {'-' if shift < 0 else '+'} {abs(shift)})"
        return f"floor((12 * year({local}) + month({local}) - {self._base}) / {self.months})"

    @cached_property
    def _shift(self) -> int:
        """Seconds that move a boundary onto the 1st of a month at 00:00 UTC: the zone's offset, less the start's
        day of the month and time of day."""
        local = datetime.fromtimestamp(self.start + self.offset, tz=UTC)
        return self.offset - (local.day - 1) * 86400 - (local.hour * 3600 + local.minute * 60 + local.second)

    @cached_property
    def _base(self) -> int:
        local = datetime.fromtimestamp(self.start + self._shift, tz=UTC)
        return 12 * local.year + local.month

    def boundary_after(self, t: float) -> int:
        """The first period boundary after `t` (Unix seconds): where the budget starts over."""
        if not self.months:
            return self.start + (self.index(t) + 1) * self.seconds
        count = self._base + (self.index(t) + 1) * self.months  # 12 x year + month of the next period's start
        first = datetime((count - 1) // 12, (count - 1) % 12 + 1, 1, tzinfo=UTC)
        return int(first.timestamp()) - self._shift
