"""`slokit status`: the status page's data as a terminal table, from a running service's JSON endpoint
or from Prometheus (the recorded rules `slokit generate` writes, and the runtime's own metrics)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from slokit import names, queries
from slokit.errors import RemoteError
from slokit.http import redact, request_json
from slokit.promapi import QueryError, instant_query
from slokit.spec.model import SLO
from slokit.status.board import slo_row


class StatusError(RemoteError):
    """The service or Prometheus could not be read (message for the terminal, without credentials)."""


def from_service(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """The snapshot a status page serves; `url` is its JSON endpoint or the page (status.json is added)."""
    if not url.endswith(".json"):
        url = url.rstrip("/") + "/status.json"
    snapshot = request_json(requests.Session(), "GET", url, "", server="the service", timeout=timeout,
                            error=StatusError)
    if not isinstance(snapshot, dict) or not {"slos", "breakers", "switches"} <= snapshot.keys():
        raise StatusError(f"{redact(url)} is not a slokit status endpoint (no slos, breakers and switches)")
    return snapshot


class Prometheus:
    """Instant queries against a Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics)."""

    def __init__(self, url: str, timeout: float = 5.0, headers: Mapping[str, str] | None = None):
        self.url, self.timeout, self.headers = url.rstrip("/"), timeout, headers

    def query(self, expr: str) -> list[dict[str, Any]]:
        try:
            return instant_query(self.url, expr, self.timeout, self.headers)
        except QueryError as exc:
            raise StatusError(f"cannot read {redact(self.url)}: {exc}: {expr}", exc.status, exc.transient) from None


def from_prometheus(prom: Prometheus, slos: Sequence[SLO]) -> dict[str, Any]:
    """A snapshot from the recorded SLI series (burn = error ratio / budget) and budget remaining, plus
    the breakers and switches of any runtime Prometheus scrapes (their states; the reasons live in the
    app's logs and its status page)."""
    rows = []
    for slo in slos:
        table = slo.table
        seconds = {w.name: w.seconds for w in table.windows}
        burn: dict[int, float] = {}
        for series in prom.query(queries.all_recorded_ratios(slo=slo)):
            window = series["metric"]["__name__"].removeprefix(names.SLI_RECORD)
            if window in seconds:
                burn[seconds[window]] = float(series["value"][1]) / slo.error_budget
        budget = prom.query(names.BUDGET_REMAINING + queries.slo_selector(slo))
        row = slo_row(slo, burn if burn else None, float(budget[0]["value"][1]) if budget else None)
        rows.append(row)
    breakers = [{"name": s["metric"].get("breaker", "?"),
                 "state": {v: k for k, v in names.STATE_VALUE.items()}.get(int(float(s["value"][1])), "?"),
                 "last": None}
                for s in prom.query(names.BREAKER_STATE)]
    switches = [{"name": s["metric"].get("switch", "?"), "state": "on" if float(s["value"][1]) else "off", "last": None}
                for s in prom.query(names.SWITCH_ENABLED)]
    now = time.time()
    return {"title": f"slokit status from {redact(prom.url)}", "time": now, "started": now, "slos": rows,
            "breakers": sorted(breakers, key=lambda b: b["name"]),
            "switches": sorted(switches, key=lambda s: s["name"]),
            "transitions": []}


def _columns(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _last(last: dict[str, Any] | None, started: float) -> str:
    if not last:
        return "-"
    burn = ", ".join(f"{w} {v:.1f}x" for w, v in last.get("burn", {}).items())
    slo = f", {last['slo']}" if last.get("slo") else ""
    because = f"{last['reason']}{slo}{': ' + burn if burn else ''}"
    return f"{last['from']} -> {last['to']} at t+{last['time'] - started:.1f}s ({because})"


def render(snapshot: dict[str, Any]) -> str:
    """The snapshot as three tables: SLOs, breakers, switches."""
    started = snapshot.get("started", 0.0)
    slo_rows = [["SLO", "OBJECTIVE", "SLI (errors)", "BUDGET", "STATE", "BURN PER WINDOW"]]
    for r in snapshot["slos"]:
        budget = "n/a" if r["budget_remaining"] is None else f"{r['budget_remaining'] * 100:.1f}%"
        burn = " ".join(f"{w['window']} {'n/a' if w['burn'] is None else format(w['burn'], '.1f') + 'x'}"
                        + ("!" * ("ok", "ticket", "page").index(w["tier"])) for w in r["windows"])
        slo_rows.append([r["id"], f"{r['objective']:g}%/{r['period']}", r["sli"], budget, r["state"].upper()
                         if r["state"] in ("page", "ticket") else r["state"], burn])
    out = [_columns(slo_rows)]
    for kind, items in (("BREAKER", snapshot["breakers"]), ("SWITCH", snapshot["switches"])):
        if items:
            out.append(_columns([[kind, "STATE", "LAST TRANSITION"]]
                                + [[i["name"], i["state"], _last(i.get("last"), started)] for i in items]))
    out.append("burn marks: ! above a ticket factor, !! above a page factor")
    return "\n\n".join(out)
