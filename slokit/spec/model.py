"""The one SLO model every input format is read into and every generator reads from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slokit import windows
from slokit.spec.policy import Policy
from slokit.windows import WindowTable

if TYPE_CHECKING:
    from slokit.spec.alertmanager import Group, Settings
    from slokit.spec.gate import GateSpec


@dataclass(frozen=True)
class EventsSLI:
    """Error and total event rates; both queries contain the `{{.window}}` placeholder."""

    error_query: str
    total_query: str


@dataclass(frozen=True)
class RawSLI:
    """A query that already is the error ratio (0..1) over `{{.window}}`."""

    error_ratio_query: str


@dataclass(frozen=True)
class LatencySLI:
    """Share of requests slower than `threshold` seconds, from a Prometheus histogram."""

    histogram: str  # base name: <histogram>_bucket and <histogram>_count are queried
    threshold: float  # seconds; must be one of the histogram's bucket bounds
    matchers: dict[str, str] = field(default_factory=dict)  # label: value (exact match)


@dataclass(frozen=True)
class HttpSLI:
    """Shorthand over slokit's own middleware metrics (slokit.names).

    Without `latency` it measures availability (requests classified bad / all requests); with it,
    the share of requests slower than `latency` seconds.
    """

    service: str
    route: str | None = None
    method: str | None = None
    latency: float | None = None


SLI = EventsSLI | RawSLI | LatencySLI | HttpSLI


@dataclass(frozen=True)
class Tier:
    """One alert tier (page or ticket)."""

    enabled: bool = True
    for_: str | None = None  # Prometheus duration for the alert's `for`
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Guard:
    """An alert about the SLI itself or the budget, beside the burn-rate tiers: no data, an impossible
    ratio, budget exhaustion. `severity` routes it like the tiers (slo_severity)."""

    enabled: bool = True
    severity: str = "ticket"
    for_: str | None = None  # None: a default sized to the window table (see generate/rules.py)
    within: int = 0  # exhaustion only: fire when the budget runs out within this many seconds (0: when spent)
    name: str | None = None  # the alert's name; None: the SLO's alert name + the guard's suffix (names.py)
    labels: dict[str, str] = field(default_factory=dict)  # on the alert, beside the SLO's alerting labels


@dataclass(frozen=True)
class Alerting:
    name: str  # alert name; the same name for both tiers, told apart by slo_severity
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    page: Tier = field(default_factory=Tier)
    ticket: Tier = field(default_factory=Tier)
    # Fewer events than this in a condition's long window and the tier does not fire: one failure among
    # three night-time requests is 33% errors, not a reason to page (0: no minimum).
    min_events: int = 0
    no_data: Guard = field(default_factory=Guard)  # the SLI's total series are gone: never "within budget"
    invalid: Guard = field(default_factory=Guard)  # an error ratio above 1 or below 0: a broken SLI
    exhaustion: Guard = field(default_factory=lambda: Guard(enabled=False))  # opt-in

    def guard_name(self, guard: Guard, suffix: str) -> str:
        """A guard's alert name: its own (Pyrra's `absentName`), else the SLO's alert name + the suffix."""
        return guard.name or self.name + suffix


@dataclass(frozen=True)
class Source:
    """Where an SLO came from, for messages: file, line, and the input format."""

    file: str
    line: int
    format: str  # "slokit/v1", "prometheus/v1", "sloth.slok.dev/v1", "pyrra.dev/v1alpha1", "openslo/v1", ...


@dataclass(frozen=True)
class ObjectMeta:
    """The Kubernetes object an SLO was read from (Sloth's and Pyrra's CRDs). Their controllers give the
    PrometheusRule they generate its namespace, labels and annotations; slokit's prometheus-operator output too."""

    name: str
    namespace: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SLO:
    service: str
    name: str
    objective: float  # percent, 0 < objective < 100
    period: int  # seconds
    sli: SLI
    alerting: Alerting | None  # None: no alerts, recording rules only
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    silence_group: str | None = None
    alertmanager: Settings | None = None  # the silence group's routing settings (slokit.spec.alertmanager)
    gate: GateSpec | None = None  # the release gate's section (slokit.spec.gate), None: defaults only
    # Labels that split the SLO into groups, each with its own budget and alerts (e.g. ("route",)).
    group_by: tuple[str, ...] = ()
    # A window table given as data (custom alert windows); None: the Google table scaled to the period.
    window_table: WindowTable | None = None
    # A calendar-aligned period (OpenSLO `isRolling: false`): the budget starts over at each boundary; `period`
    # is then its nominal length (a month: 30d), which the window table scales to. None: a rolling period.
    calendar: windows.Calendar | None = None
    k8s: ObjectMeta | None = None  # read from a Kubernetes object (Sloth's or Pyrra's CRD)
    source: Source | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        """What identifies an SLO: service `a-b` with SLO `c` is not service `a` with SLO `b-c`."""
        return (self.service, self.name)

    @property
    def id(self) -> str:
        """`service-name`, for display and for references in policy files (not unique: see `key`)."""
        return f"{self.service}-{self.name}"

    @property
    def table(self) -> WindowTable:
        """The burn-rate windows and factors every consumer uses for this SLO (slokit.windows)."""
        return self.window_table or windows.table(self.period)

    @property
    def sli_kind(self) -> str:
        """"http", "latency", "events" or "raw"."""
        return type(self.sli).__name__.removesuffix("SLI").lower()

    @property
    def error_budget(self) -> float:
        """Allowed error ratio: 1 - objective/100 (0.001 for 99.9)."""
        return round(1 - self.objective / 100, 12)


@dataclass(frozen=True)
class Spec:
    """Every SLO read from a set of files, their silence groups and degrade policy (`policy:` sections), and
    the warnings met while reading."""

    slos: tuple[SLO, ...]
    warnings: tuple[str, ...] = ()
    silence_groups: dict[str, Group] = field(default_factory=dict)  # by name (slokit.spec.alertmanager)
    policy: Policy = field(default_factory=Policy)
