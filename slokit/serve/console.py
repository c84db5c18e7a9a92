"""What `slokit serve` shows, read from Prometheus: one batched query per view, cached, last good data kept.

The list is one instant query (`queries.console_series`: every window's recorded error ratio, the budget
remaining and the ALERTS of every SLO at once); a detail page adds one range query for its charts
(`queries.console_history`). Answers are cached for `ttl` seconds (the rules' evaluation step: data cannot
change faster), failures too, so a hanging Prometheus costs one timeout per `ttl`, not one per page load.
When Prometheus is down, slow or answers garbage, a view carries the last good data, when it was read and
why it is stale, and the page says so in a banner.

Rows are `slokit.status.board.slo_row`s (the in-process status page's and `slokit status`'s data model),
with what only Prometheus knows added: the SLI over the period, the firing alerts, the groups.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import requests

from slokit import names, queries
from slokit.errors import RemoteError
from slokit.generate.rules import alert_expr
from slokit.http import new_session, redact, request_json
from slokit.promapi import QueryError, Sample, Series, instant_query, range_query
from slokit.spec.model import SLO
from slokit.spec.policy import Policy
from slokit.status.board import TIERS, recorded_burn, slo_row

log = logging.getLogger(__name__)
T = TypeVar("T")
HISTORY_POINTS = 240  # points per chart line: enough for a 720px chart, cheap for Prometheus
RANK = {"page": 3, "ticket": 2, "unknown": 1, "ok": 0}  # worst first


@dataclass(frozen=True)
class View(Generic[T]):
    """One answer for a page: the data (None: never read), when it was read, and why it is stale if it is."""

    data: T | None
    read_at: float | None
    error: str | None = None
    notes: tuple[str, ...] = ()  # problems beside Prometheus' (Alertmanager could not be read)

    def age(self, now: float) -> float | None:
        return None if self.read_at is None else max(0.0, now - self.read_at)


@dataclass
class _Entry(Generic[T]):
    good: T | None = None
    read_at: float | None = None
    tried_at: float = -math.inf
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Cache(Generic[T]):
    """Values by key, read again at most every `ttl` seconds; a failed read keeps the last good value."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.time, keep: int = 256):
        self.ttl, self.clock, self.keep = ttl, clock, keep
        self._entries: dict[str, _Entry[T]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, read: Callable[[], T]) -> View[T]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                if len(self._entries) >= self.keep:  # detail pages of many SLOs: forget the oldest read
                    del self._entries[min(self._entries, key=lambda k: self._entries[k].tried_at)]
                entry = self._entries[key] = _Entry()
        with entry.lock:  # one read at a time per key: concurrent page loads wait for it, then share it
            if self.clock() - entry.tried_at >= self.ttl:
                entry.tried_at = self.clock()
                try:
                    entry.good, entry.read_at, entry.error = read(), self.clock(), None
                except RemoteError as exc:
                    entry.error = str(exc)
            return View(entry.good, entry.read_at, entry.error)


class Prometheus:
    """The Prometheus-compatible API the console reads, with a total deadline on every call."""

    def __init__(self, url: str, timeout: float = 3.0, headers: Mapping[str, str] | None = None,
                 link: str | None = None):
        self.url, self.timeout, self.headers = url.rstrip("/"), timeout, dict(headers or {})
        self.link = (link or redact(url)).rstrip("/")  # where a person's browser reaches it (/graph links)
        self.session: requests.Session = new_session()
        self._lock = threading.Lock()  # requests' sessions are not thread-safe for concurrent use

    @property
    def where(self) -> str:
        return redact(self.url)

    def _fail(self, exc: QueryError) -> RemoteError:
        return RemoteError(f"Prometheus at {self.where} could not be read ({exc.reason}: {exc})", exc.status,
                           exc.transient)

    def instant(self, expr: str) -> list[Sample]:
        try:
            with self._lock:
                return instant_query(self.url, expr, self.timeout, self.headers, self.session)
        except QueryError as exc:
            raise self._fail(exc) from None

    def range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        try:
            with self._lock:
                return range_query(self.url, expr, start, end, step, self.timeout, self.headers, self.session)
        except QueryError as exc:
            raise self._fail(exc) from None


class Alertmanager:
    """Alertmanager's v2 API, read for what became of the firing alerts (silenced, inhibited, not received)."""

    def __init__(self, url: str, timeout: float = 3.0, headers: Mapping[str, str] | None = None):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.link = redact(self.url)  # its UI, for links
        self.session: requests.Session = new_session()
        self.session.headers.update(headers or {})
        self._lock = threading.Lock()

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds (labels and status), with silenced and inhibited ones."""
        with self._lock:
            answer = request_json(self.session, "GET", self.url, "/api/v2/alerts", server="Alertmanager",
                                  timeout=self.timeout, error=RemoteError)
        if not isinstance(answer, list) or not all(
                isinstance(a, dict) and isinstance(a.get("labels"), dict) and isinstance(a.get("status"), dict)
                for a in answer):
            raise RemoteError(f"Alertmanager at {self.link} answered something that is not a list of alerts")
        return answer


def _routing(alert: Mapping[str, Any], held: Sequence[Mapping[str, Any]], slo: SLO) -> str:
    """What Alertmanager did with one firing alert: "silenced", "inhibited", "active" or "not received"."""
    want = {names.ALERT_NAME: alert["name"], names.SERVICE: slo.service, names.NAME: slo.name,
            names.SEVERITY: alert["severity"], **alert.get("labels", {})}
    for candidate in held:
        labels = candidate["labels"]
        if all(labels.get(k) == v for k, v in want.items()):
            status = candidate["status"]
            return "silenced" if status.get("silencedBy") else "inhibited" if status.get("inhibitedBy") else "active"
    return "not received"


def _group_key(slo: SLO, labels: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(labels.get(label, "") for label in slo.group_by)


@dataclass
class _Read:
    """One SLO's share of the batched answer, by group (the group's label values; () when ungrouped)."""

    ratios: dict[tuple[str, ...], dict[str, float]] = field(default_factory=dict)
    budget: dict[tuple[str, ...], float] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)


def _split(slos: Mapping[tuple[str, str], SLO], answer: Sequence[Sample]) -> dict[tuple[str, str], _Read]:
    reads: dict[tuple[str, str], _Read] = {key: _Read() for key in slos}
    for sample in answer:
        labels = sample.labels
        key = (labels.get(names.SERVICE, ""), labels.get(names.NAME, ""))
        slo = slos.get(key)
        if slo is None:  # another SLO of the same service, not in these specs
            continue
        read, metric = reads[key], labels.get("__name__", "")
        if metric == names.ALERTS:
            read.alerts.append({"name": labels.get(names.ALERT_NAME, ""), "state": labels.get(names.ALERT_STATE, ""),
                                "severity": labels.get(names.SEVERITY, ""),
                                "group": ",".join(f"{k}={labels.get(k, '')}" for k in slo.group_by),
                                "labels": {k: labels.get(k, "") for k in slo.group_by}})
        elif metric == names.BUDGET_REMAINING:
            if math.isfinite(sample.value):
                read.budget[_group_key(slo, labels)] = sample.value
        elif metric.startswith(names.SLI_RECORD):
            read.ratios.setdefault(_group_key(slo, labels), {})[metric.removeprefix(names.SLI_RECORD)] = sample.value
    return reads


def _group_row(slo: SLO, ratios: Mapping[str, float] | None, budget: float | None) -> dict[str, Any]:
    """slo_row for one group, plus its SLI over the period and the windows whose ratio no rule writes (the
    group then reads "unknown" rather than a figure built on them)."""
    burn, invalid = recorded_burn(slo, ratios or {})
    row = slo_row(slo, burn if burn and not invalid else None, budget)
    period = (ratios or {}).get(slo.table.period.name)
    row["sli_period"] = None if period is None or not 0 <= period <= 1 else round((1 - period) * 100, 6)
    row["invalid"] = [f"{window}: {ratio:g}" for window, ratio in invalid]
    return row


def worst(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The group a row of the list stands for: the most urgent state, then the least budget."""
    return min(rows, key=sort_key, default=None)


def sort_key(row: Mapping[str, Any]) -> tuple[float, ...]:
    """Worst first: page, ticket, no data, ok; then the least budget left; then the fastest burn."""
    budget = row.get("budget_remaining")
    burns = [w["burn"] for w in row.get("windows", ()) if w.get("burn") is not None]
    return (-RANK.get(str(row.get("state")), 1), 2.0 if budget is None else float(budget), -max(burns, default=0.0))


@dataclass(frozen=True)
class Console:
    """The SLOs of some specs, read from one Prometheus. `overview()` for the list, `detail(slo)` for a page."""

    slos: tuple[SLO, ...]
    prometheus: Prometheus
    ttl: float
    team_label: str = "team"
    alertmanager: Alertmanager | None = None  # where the alerts go: their silences and inhibitions are shown
    policy: Policy | None = None  # the degrade policy: its breakers and switches mark the SLO's charts
    clock: Callable[[], float] = time.time
    cache: Cache[Any] = field(init=False)
    by_id: dict[str, SLO] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cache", Cache(self.ttl, self.clock))
        object.__setattr__(self, "by_id", {slo.id: slo for slo in self.slos})

    @property
    def services(self) -> list[str]:
        return sorted({slo.service for slo in self.slos})

    @property
    def teams(self) -> list[str]:
        return sorted({slo.labels[self.team_label] for slo in self.slos if self.team_label in slo.labels})

    def overview(self) -> View[list[dict[str, Any]]]:
        """Every SLO's row, worst first (one instant query, cached)."""
        view: View[list[dict[str, Any]]] = self.cache.get("overview", self._read_overview)
        if view.data is None:  # never read: every SLO is listed, with no data
            view = View(self.rows([]), None, view.error)
        if self.alertmanager is None:
            return view
        held: View[list[dict[str, Any]]] = self.cache.get("alertmanager", self.alertmanager.alerts)
        rows = []
        for row in view.data or []:
            slo = self.by_id[row["id"]]
            alerts = [{**a, "alertmanager": _routing(a, held.data, slo) if held.data is not None else "unknown"}
                      for a in row["alerts"] if a["state"] == names.FIRING]
            rows.append({**row, "alerts": alerts + [a for a in row["alerts"] if a["state"] != names.FIRING]})
        return View(rows, view.read_at, view.error, (held.error,) if held.error else ())

    def _read_overview(self) -> list[dict[str, Any]]:
        answer = self.prometheus.instant(queries.console_series(self.services))
        return self.rows(answer)

    def rows(self, answer: Sequence[Sample]) -> list[dict[str, Any]]:
        """The list's rows from the batched answer (pure: tests and the benchmark call it on answers too)."""
        reads = _split({slo.key: slo for slo in self.slos}, answer)
        rows = [self._row(slo, reads[slo.key]) for slo in self.slos]
        return sorted(rows, key=lambda r: (*sort_key(r), r["id"]))

    def _row(self, slo: SLO, read: _Read) -> dict[str, Any]:
        keys = sorted(set(read.ratios) | set(read.budget))
        groups = [{"labels": dict(zip(slo.group_by, key, strict=True)),
                   **_group_row(slo, read.ratios.get(key), read.budget.get(key))} for key in keys]
        chosen = worst(groups)
        row = dict(chosen) if chosen is not None else _group_row(slo, None, None)
        row.pop("labels", None)
        firing = sorted(read.alerts, key=lambda a: (a["state"] != names.FIRING, a["severity"] != names.PAGE,
                                                    a["name"], a["group"]))
        row.update({
            "labels": dict(slo.labels), "team": slo.labels.get(self.team_label),
            "group_by": list(slo.group_by), "group_count": len(groups) if slo.group_by else None,
            "alerts": firing,
            "burning": row["state"] in TIERS[1:] or any(a["state"] == names.FIRING for a in firing),
            "groups": groups if slo.group_by else [],
        })
        return row

    def detail(self, slo: SLO) -> tuple[View[list[dict[str, Any]]], View[dict[str, Any]]]:
        """The list's view (for the SLO's row and groups) and its chart history (one range query, cached)."""
        return self.overview(), self.cache.get(f"history:{slo.id}", lambda: self._read_history(slo))

    def history_window(self, slo: SLO) -> tuple[int, str]:
        """(step, window) of the charts: a period in HISTORY_POINTS steps, each point the error ratio over
        the shortest window of the table that covers a step (so no stretch between points goes unseen)."""
        table = slo.table
        step = max(table.step, math.ceil(table.period.seconds / HISTORY_POINTS))
        window = next((w for w in table.windows if w.seconds >= step), table.windows[-1])
        return step, window.name

    def targets(self, slo: SLO) -> tuple[str, ...]:
        """The breakers and switches the policy's rules on this SLO act on ("breaker:payments")."""
        rules = self.policy.rules if self.policy else ()
        return tuple(sorted({t for rule in rules if rule.slo == slo.key for t in rule.targets}))

    def _read_history(self, slo: SLO) -> dict[str, Any]:
        step, window = self.history_window(slo)
        end = float(math.floor(self.clock()))  # whole seconds: the points Prometheus answers fall inside [start, end]
        start = end - slo.table.period.seconds
        answer = self.prometheus.range(queries.console_history(slo, window, self.targets(slo)), start, end, step)
        lines: dict[tuple[str, ...], dict[str, Any]] = {}
        marks: list[dict[str, Any]] = []
        for series in answer:
            if series.labels.get("__name__") == names.DECISION_TRANSITIONS:
                marks += transitions(series, start + step)
                continue
            key = _group_key(slo, series.labels)
            line = lines.setdefault(key, {"labels": dict(zip(slo.group_by, key, strict=True)), "budget": [],
                                          "sli": []})
            # Several series of one group (a recording rule moved, replicas behind Thanos) are one line.
            if series.labels.get("__name__", "") == names.BUDGET_REMAINING:
                line["budget"] += [[t, v] for t, v in series.points if math.isfinite(v)]
            else:
                line["sli"] += [[t, (1 - v) * 100] for t, v in series.points if 0 <= v <= 1]
        for line in lines.values():
            for kind in ("budget", "sli"):
                line[kind] = [[t, v] for t, v in dict(sorted((t, v) for t, v in line[kind])).items()]
        return {"start": start, "end": end, "step": step, "window": window,
                "series": [lines[k] for k in sorted(lines)],
                "transitions": sorted(marks, key=lambda m: (m["time"], m["target"], m["to"]))}

    def alert_rules(self, slo: SLO) -> list[dict[str, Any]]:
        """The generated burn-rate alerts in words and PromQL (the expression `slokit generate` writes),
        with a link that runs each in Prometheus."""
        if slo.alerting is None:
            return []
        table, out = slo.table, []
        budget = slo.error_budget
        for severity, tier in ((names.PAGE, slo.alerting.page), (names.TICKET, slo.alerting.ticket)):
            conditions = table.by_severity(severity)
            if not tier.enabled or not conditions:
                continue
            expr = alert_expr(slo, conditions)
            words = [f"the error ratio over both {c.short.name} and {c.long.name} is above {c.factor:g}x the "
                     f"error budget ({c.factor * budget * 100:.4g}% errors): {c.budget_share * 100:g}% of the "
                     f"{table.period.name} budget spent within {c.long.name}" for c in conditions]
            out.append({"severity": severity, "alert": slo.alerting.name, "for": tier.for_,
                        "words": words, "promql": expr, "link": graph_link(self.prometheus.link, expr)})
        return out


def transitions(series: Series, since: float) -> list[dict[str, Any]]:
    """The steps at which a transition counter (target, from_state, to_state) went up: the runtime's decisions,
    at the chart's resolution. A counter that first appears within the range (`since` or later) counts from
    0, as a labelled child is created at its first transition; a reset counts its new value."""
    labels, out = series.labels, []
    previous: float | None = None
    for moment, value in series.points:
        if not math.isfinite(value):
            continue
        if previous is None:
            grown = value if moment >= since else 0.0
        else:
            grown = value - previous if value >= previous else value
        previous = value
        if grown > 0:
            out.append({"time": moment, "target": labels.get("target", ""), "from": labels.get("from_state", ""),
                        "to": labels.get("to_state", ""), "count": round(grown)})
    return out


def alertmanager_link(base: str, slo: SLO) -> str:
    """Alertmanager's alert list filtered to one SLO's alerts."""
    matchers = f'{{{names.SERVICE}="{slo.service}",{names.NAME}="{slo.name}"}}'
    return f"{base.rstrip('/')}/#/alerts?" + urlencode({"filter": matchers})


def graph_link(base: str, expr: str) -> str:
    """Prometheus' expression browser with `expr` filled in (table tab)."""
    return f"{base}/graph?" + urlencode({"g0.expr": expr, "g0.tab": "1"})
