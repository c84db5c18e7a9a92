"""What the status page, its JSON endpoint and `slokit status` show: one snapshot of SLOs and decisions.

`StatusBoard` reads the runtime (burn rates from its engine or Prometheus source, breaker and switch
states, the recent transitions with their reasons) and keeps a bounded history of burn and budget for
the charts. The snapshot is plain JSON-able data, so the HTML page, the JSON endpoint and the terminal
table all render the same thing.
"""

from __future__ import annotations

import collections
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slokit import windows
from slokit.instrument.core import Listener
from slokit.promql import format_duration
from slokit.runtime.listener import request_listener
from slokit.runtime.periodic import Periodic
from slokit.runtime.runtime import Runtime
from slokit.spec.model import SLO, EventsSLI, HttpSLI, LatencySLI, RawSLI
from slokit.status.budget import BudgetLedger

if TYPE_CHECKING:
    from slokit.health import Health

TIERS = ("ok", "ticket", "page")  # in rising order of urgency


@dataclass(frozen=True)
class Sample:
    time: float
    burn: dict[str, float]  # window name -> burn rate
    budget: float | None  # share of the period's budget left


def describe_sli(slo: SLO) -> str:
    """One line a person reads: what counts as an error."""
    sli = slo.sli
    if isinstance(sli, HttpSLI):
        where = f"{sli.method + ' ' if sli.method else ''}{sli.route or 'every route'}"
        if sli.latency is not None:
            return f"http {where}: slower than {sli.latency * 1000:g}ms"
        return f"http {where}: 5xx and 429"
    if isinstance(sli, LatencySLI):
        return f"{sli.histogram}: slower than {sli.threshold * 1000:g}ms"
    if isinstance(sli, EventsSLI):
        return "events: errors / total"
    if isinstance(sli, RawSLI):
        return "raw error ratio query"
    return type(sli).__name__


def window_tiers(table: windows.WindowTable, burn: dict[int, float]) -> tuple[dict[int, str], str]:
    """(tier per window, tier of the SLO): a window is coloured by the most urgent condition it exceeds;
    the SLO is at a tier when both windows of one of its conditions exceed the factor (the alert)."""
    per_window = {w.seconds: "ok" for w in table.windows}
    state = "ok"
    for c in table.conditions:
        for seconds in c.seconds:
            if windows.above(burn, (seconds,), c.factor) and TIERS.index(c.severity) > TIERS.index(per_window[seconds]):
                per_window[seconds] = c.severity
        if c.holds(burn) and TIERS.index(c.severity) > TIERS.index(state):
            state = c.severity
    return per_window, state


def time_to_exhaustion(remaining: float | None, period: int) -> float | None:
    """Seconds until the budget is spent at the period's pace so far (the rule slo:time_to_exhaustion:seconds
    computes the same): the budget left over the share spent, times the period. None: no data; inf: no burn."""
    if remaining is None:
        return None
    spent = 1 - remaining
    return math.inf if spent <= 0 else max(remaining, 0.0) / spent * period


def exhaustion_text(value: Any) -> str:
    """A row's time to exhaustion for people: the largest two units ("3d4h"), "spent", "never", "no data"."""
    if value == "never":
        return "never"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return "no data"
    if value == 0:
        return "spent"
    days, rest = divmod(int(value), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts[:2]) or "0s"


def _finite(seconds: float | None) -> float | str | None:
    """JSON has no infinity: "never" when nothing burns."""
    return "never" if seconds == math.inf else (None if seconds is None else round(seconds))


def recorded_burn(slo: SLO, ratios: Mapping[str, float]) -> tuple[dict[int, float], list[tuple[str, float]]]:
    """Burn per window of the SLO's table (seconds -> error ratio / budget) from its recorded error ratios by
    window name, and the (window, ratio) pairs no recorded rule writes. As in the runtime and the alerts, a
    NaN ratio (0/0, no traffic) is no burn; a negative or infinite one is invalid, never a figure."""
    seconds = {w.name: w.seconds for w in slo.table.windows}
    burn: dict[int, float] = {}
    invalid: list[tuple[str, float]] = []
    for window, ratio in ratios.items():
        if window not in seconds or math.isnan(ratio):
            continue
        if not 0 <= ratio < math.inf:
            invalid.append((window, ratio))
        else:
            burn[seconds[window]] = ratio / slo.error_budget
    return burn, invalid


def slo_row(slo: SLO, burn: dict[int, float] | None, budget: float | None) -> dict[str, Any]:
    """An SLO's row of the snapshot; `burn` None means the source has no answer (stale or unknown)."""
    table = slo.table
    tiers, state = window_tiers(table, burn or {})
    return {
        "id": slo.id, "service": slo.service, "name": slo.name, "objective": slo.objective,
        "period": table.period.name, "sli": describe_sli(slo), "description": slo.description,
        "budget_remaining": None if budget is None else round(budget, 6),
        "time_to_exhaustion": _finite(time_to_exhaustion(budget, table.period.seconds)),
        "state": state if burn is not None else "unknown",
        "windows": [{"window": w.name, "seconds": w.seconds,
                     "burn": None if burn is None else round(burn.get(w.seconds, 0.0), 4),
                     "tier": tiers[w.seconds]} for w in table.windows],
        "conditions": [{"severity": c.severity, "short": c.short.name, "long": c.long.name, "factor": c.factor}
                       for c in table.conditions],
    }


class StatusBoard:
    """The runtime's state for people: snapshot() now, plus a sampled history of burn and budget."""

    def __init__(self, runtime: Runtime, slos: Sequence[SLO], keep: int = 300, title: str = "slokit status",
                 health: Health | None = None):
        self.runtime, self.slos, self.title = runtime, tuple(slos), title
        self.health = health  # its last probe result is shown; the page runs no checks itself
        self.clock = runtime.clock
        self.started = self.clock()
        self.ledger = BudgetLedger(self.clock)
        for slo in self.slos:
            self.ledger.add_slo(slo.key, slo.error_budget, slo.period, slo.table)
        self.history: dict[tuple[str, str], collections.deque[Sample]] = {
            s.key: collections.deque(maxlen=keep) for s in self.slos}
        self._lock = threading.Lock()
        self._loop: Periodic | None = None

    def listener(self) -> Listener:
        """The middleware listener: feeds the runtime's engine (if it has one) and the budget ledger."""
        engine = self.runtime.listener()  # a no-op when the runtime reads Prometheus
        ledger = request_listener(self.ledger, self.slos)  # shaped like Engine (a listener Sink)

        def listener(route: str, outcome: str, duration_seconds: float) -> None:
            engine(route, outcome, duration_seconds)
            ledger(route, outcome, duration_seconds)

        return listener

    def _burn(self, slo: SLO) -> dict[int, float] | None:
        return self.runtime.source.burn_rates(slo.key)

    def sample(self) -> None:
        """Add one point per SLO to the chart history (called every `every` seconds by `start`)."""
        now = self.clock()
        with self._lock:
            for slo in self.slos:
                burn = self._burn(slo) or {}
                self.history[slo.key].append(Sample(now, {format_duration(s): round(v, 4) for s, v in burn.items()},
                                                   self.ledger.remaining(slo.key)))

    def start(self, every: float | Callable[[], float] = 1.0) -> None:
        """Sample in a daemon thread every `every` (wall) seconds until `stop()`."""
        interval = every if callable(every) else (lambda: float(every))
        self._loop = Periodic("status", self.sample, interval, first=True)
        self._loop.start()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()

    def _last(self, target: str) -> dict[str, Any] | None:
        for t in reversed(self.runtime.decisions.recent):
            if t.target == target:
                return t.as_json()
        return None

    def snapshot(self, transitions: int = 100) -> dict[str, Any]:
        """Everything the page shows, as JSON-able data (the /status.json body)."""
        rows = []
        with self._lock:
            for slo in self.slos:
                row = slo_row(slo, self._burn(slo), self.ledger.remaining(slo.key))
                samples = list(self.history[slo.key])
                row["history"] = {"time": [round(s.time, 3) for s in samples],
                                  "burn": {w["window"]: [s.burn.get(w["window"], 0.0) for s in samples]
                                           for w in row["windows"]},
                                  "budget": [None if s.budget is None else round(s.budget, 6) for s in samples]}
                rows.append(row)
        rt = self.runtime
        breakers = [{"name": n, "state": b.state, "mode": b.mode, "policy_held": b.policy_held,
                     "last": self._last(b.target)} for n, b in sorted(rt.breakers.items())]
        switches = [{"name": n, "enabled": s["enabled"], "state": "on" if s["enabled"] else "off",
                     "override": s["override"], "last": self._last(f"switch:{n}")}
                    for n, s in rt.switches.state().items()]
        recent = [t.as_json() for t in list(rt.decisions.recent)[-transitions:]][::-1]
        snapshot = {"title": self.title, "time": round(self.clock(), 3), "started": round(self.started, 3),
                    "slos": rows, "breakers": breakers, "switches": switches, "transitions": recent}
        if self.health is not None:
            report = self.health.last()
            snapshot["health"] = report.as_json() if report else {"status": "unknown", "state": "unknown",
                                                                  "output": "not probed yet", "checks": {}}
        return snapshot
