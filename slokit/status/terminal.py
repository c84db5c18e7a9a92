"""`slokit status`: the status page's data as a terminal table, from a running service's JSON endpoint
or from Prometheus (the recorded rules `slokit generate` writes, and the runtime's own metrics)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from slokit import names, queries
from slokit.errors import RemoteError
from slokit.http import new_session, printable, redact, request_json
from slokit.promapi import QueryError, Sample, instant_query
from slokit.spec.model import SLO
from slokit.status.board import TIERS, exhaustion_text, recorded_burn, slo_row


class StatusError(RemoteError):
    """The service or Prometheus could not be read (message for the terminal, without credentials)."""


def from_service(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """The snapshot a status page serves; `url` is its JSON endpoint or the page (status.json is added)."""
    if not url.endswith(".json"):
        url = url.rstrip("/") + "/status.json"
    snapshot = request_json(new_session(), "GET", url, "", server="the service", timeout=timeout,
                            error=StatusError)
    if not isinstance(snapshot, dict) or not all(isinstance(snapshot.get(k), list)
                                                 for k in ("slos", "breakers", "switches")):
        raise StatusError(f"{redact(url)} is not a slokit status endpoint (no lists of slos, breakers and switches)")
    return snapshot


class Prometheus:
    """Instant queries against a Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics)."""

    def __init__(self, url: str, timeout: float = 5.0, headers: Mapping[str, str] | None = None):
        self.url, self.timeout, self.headers = url.rstrip("/"), timeout, headers
        self.session = new_session()

    def query(self, expr: str) -> list[Sample]:
        try:
            return instant_query(self.url, expr, self.timeout, self.headers, self.session)
        except QueryError as exc:
            raise StatusError(f"cannot read {redact(self.url)}: {exc}: {expr}", exc.status, exc.transient) from None


def from_prometheus(prom: Prometheus, slos: Sequence[SLO]) -> dict[str, Any]:
    """A snapshot from the recorded SLI series (burn = error ratio / budget) and budget remaining, plus
    the breakers and switches of any runtime Prometheus scrapes (their states; the reasons live in the
    app's logs and its status page).

    As in the runtime and the alerts, a NaN ratio (0/0, no traffic) is no burn and a NaN budget is
    unknown; a negative or infinite ratio is no figure a recorded rule writes: StatusError."""
    rows = []
    for slo in slos:
        burn, invalid = recorded_burn(slo, {s.labels.get("__name__", "").removeprefix(names.SLI_RECORD): s.value
                                            for s in prom.query(queries.all_recorded_ratios(slo=slo))})
        if invalid:
            window, ratio = invalid[0]
            raise StatusError(f"cannot use {redact(prom.url)}: {slo.id} has an error ratio of {ratio:g} over {window}")
        budget = [s.value for s in prom.query(names.BUDGET_REMAINING + queries.slo_selector(slo))
                  if math.isfinite(s.value)]
        rows.append(slo_row(slo, burn if burn else None, budget[0] if budget else None))
    states = {v: k for k, v in names.STATE_VALUE.items()}
    breakers = [{"name": s.labels.get("breaker", "?"), "last": None,
                 "state": states.get(int(s.value), "?") if math.isfinite(s.value) else "?"}
                for s in prom.query(names.BREAKER_STATE)]
    switches = [{"name": s.labels.get("switch", "?"), "last": None,
                 "state": "?" if math.isnan(s.value) else "on" if s.value else "off"}
                for s in prom.query(names.SWITCH_ENABLED)]
    now = time.time()
    return {"title": f"slokit status from {redact(prom.url)}", "time": now, "started": now, "slos": rows,
            "breakers": sorted(breakers, key=lambda b: b["name"]),
            "switches": sorted(switches, key=lambda s: s["name"]),
            "transitions": []}


def _columns(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows)


# A snapshot may come from any server (--url): every cell is shown through these, so an odd field is "?"
# and a name with terminal escape sequences is shown, never obeyed.
def _text(value: Any) -> str:
    return "?" if value is None else printable(str(value), 80)


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _last(last: Any, started: float) -> str:
    if not isinstance(last, dict):
        return "-"
    burn = last.get("burn")
    shown = ", ".join(f"{_text(w)} {v:.1f}x" for w, v in burn.items() if _number(v) is not None) \
        if isinstance(burn, dict) else ""
    slo = f", {_text(last['slo'])}" if last.get("slo") else ""
    because = f"{_text(last.get('reason'))}{slo}{': ' + shown if shown else ''}"
    at = _number(last.get("time"))
    when = f"t+{at - started:.1f}s" if at is not None else "?"
    return f"{_text(last.get('from'))} -> {_text(last.get('to'))} at {when} ({because})"


def _burn_cell(w: dict[str, Any]) -> str:
    burn = _number(w.get("burn"))
    tier = w.get("tier")
    marks = "!" * TIERS.index(tier) if tier in TIERS else "?"
    return f"{_text(w.get('window'))} {'n/a' if burn is None else format(burn, '.1f') + 'x'}{marks}"


def render(snapshot: dict[str, Any]) -> str:
    """The snapshot as tables: SLOs, breakers, switches (and the health probes, when the service has them)."""
    started = _number(snapshot.get("started")) or 0.0
    slo_rows = [["SLO", "OBJECTIVE", "SLI (errors)", "BUDGET", "EXHAUSTED IN", "STATE", "BURN PER WINDOW"]]
    for r in _items(snapshot.get("slos")):
        budget = _number(r.get("budget_remaining"))
        objective = _number(r.get("objective"))
        state = _text(r.get("state"))
        slo_rows.append([_text(r.get("id")), f"{'?' if objective is None else format(objective, 'g')}%/"
                         f"{_text(r.get('period'))}", _text(r.get("sli")),
                         "no data" if budget is None else f"{budget * 100:.1f}%",
                         exhaustion_text(r.get("time_to_exhaustion")),
                         state.upper() if state in ("page", "ticket") else state,
                         " ".join(_burn_cell(w) for w in _items(r.get("windows")))])
    out = [_columns(slo_rows)]
    for kind, items in (("BREAKER", _items(snapshot.get("breakers"))), ("SWITCH", _items(snapshot.get("switches")))):
        if items:
            out.append(_columns([[kind, "STATE", "LAST TRANSITION"]]
                                + [[_text(i.get("name")), _text(i.get("state")), _last(i.get("last"), started)]
                                   for i in items]))
    if isinstance(health := snapshot.get("health"), dict):
        out.append(_columns(_health_rows(health)))
    out.append("burn marks: ! above a ticket factor, !! above a page factor")
    return "\n\n".join(out)


def _health_rows(health: dict[str, Any]) -> list[list[str]]:
    """The health probes' last answer (the /healthz document): readiness, then each component."""
    rows = [["PROBE", "STATUS", "OBSERVED", "WHY"],
            ["readiness", f"{_text(health.get('state'))} ({_text(health.get('status'))})", "",
             _text(health.get("output", ""))]]
    checks = health.get("checks")
    for key, entries in checks.items() if isinstance(checks, dict) else ():
        for c in _items(entries):
            value, unit = c.get("observedValue"), c.get("observedUnit")
            seen = "" if value is None else f"{_text(value)}{_text(unit) if unit else ''}"
            rows.append([_text(key), _text(c.get("status")), seen, _text(c.get("output", ""))])
    return rows
