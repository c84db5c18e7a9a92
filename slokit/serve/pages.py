"""The console's HTML: the list of SLOs and a page per SLO, server-rendered, with inline CSS and SVG charts.

Every string that comes from a spec or from Prometheus goes through `e()` (html.escape, quotes too), so a
`<script>` in a description is shown as text. Filtering and sorting are plain GET forms and links (they
work without JavaScript); their values are only compared with the spec's, never put into a query.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from slokit.serve.console import Console, View, alertmanager_link, sort_key
from slokit.spec.model import SLO
from slokit.status.board import exhaustion_text
from slokit.status.chart import Frame, Line, Mark, Ref, line_chart
from slokit.status.page import TRANSITION_COLOURS
from slokit.status.style import CSS

SORTS = {"worst": "worst first", "service": "service", "budget": "budget left", "burn": "fastest burn",
         "exhaustion": "soonest exhausted", "name": "name"}



def e(value: Any) -> str:
    """Escape for HTML text and attribute values; the console's only way of putting a string in a page."""
    return escape("" if value is None else str(value), quote=True)


def pct(value: Any, digits: int = 2) -> str:
    return "no data" if not isinstance(value, int | float) else f"{value * 100:.{digits}f}%"


def burn_text(value: Any) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def age_text(seconds: float) -> str:
    text = exhaustion_text(round(seconds))
    return "just now" if text in ("spent", "0s") else f"{text} ago"


def document(title: str, body: str, where: str, root: str, refresh: int | None = None) -> str:
    """The page around `body`; `root` is where the app is mounted ("" at the top), for its links."""
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
{meta}<title>{e(title)}</title><style>{CSS}</style></head>
<body><header><a href="{e(root)}/">slokit SLOs</a><span class="where">from {e(where)}</span>
<a class="api" href="{e(root)}/api/slos">JSON</a></header><main>
{body}
</main></body></html>
"""


def banner(view: View[Any], now: float) -> str:
    """The stale-data warning: what failed and how old the data shown is (nothing when the data is fresh)."""
    notes = "".join(f'<div class="banner note" role="status">{e(note)}: alerts show no silences or '
                    "inhibitions.</div>" for note in view.notes)
    if view.error is None:
        return notes
    age = view.age(now)
    if age is None:
        shown = "No data has been read from it yet."
    else:
        stamp = time.strftime("%H:%M:%S UTC", time.gmtime(view.read_at or 0))
        shown = f"Showing the last good data, read {age_text(age)} (at {stamp})."
    return (f'<div class="banner" role="alert" id="banner"><b>Prometheus is not answering.</b> {e(view.error)}. '
            f'{shown}</div>{notes}')


def select(rows: Sequence[dict[str, Any]], params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The rows a filter keeps (service, team, burning now), in the order asked for (worst first by default)."""
    kept = [r for r in rows
            if (not params.get("service") or r["service"] == params["service"])
            and (not params.get("team") or r.get("team") == params["team"])
            and (params.get("burning") not in ("1", "on", "true") or r["burning"])]
    order = params.get("sort", "worst")
    if order == "service":
        kept.sort(key=lambda r: (r["service"], r["name"]))
    elif order == "name":
        kept.sort(key=lambda r: (r["name"], r["service"]))
    elif order == "budget":
        kept.sort(key=lambda r: (2.0 if r["budget_remaining"] is None else r["budget_remaining"], r["id"]))
    elif order == "burn":
        kept.sort(key=lambda r: (sort_key(r)[2], r["id"]))
    elif order == "exhaustion":
        kept.sort(key=lambda r: (_exhaustion(r), r["id"]))
    else:
        kept.sort(key=lambda r: (*sort_key(r), r["id"]))
    return kept


def _exhaustion(row: Mapping[str, Any]) -> float:
    value = row.get("time_to_exhaustion")
    return float(value) if isinstance(value, int | float) else math.inf


def _conditions(row: Mapping[str, Any]) -> str:
    """Each alert condition: its two windows' burn against the tier's factor, coloured when both exceed it."""
    burns = {w["window"]: w["burn"] for w in row["windows"]}
    cells = []
    for c in row["conditions"]:
        short, long = burns.get(c["short"]), burns.get(c["long"])
        hot = short is not None and long is not None and short > c["factor"] and long > c["factor"]
        tier = c["severity"] if hot else ("unknown" if short is None else "ok")
        cells.append(f'<span class="burn cond tier-{e(tier)}" data-severity="{e(c["severity"])}" '
                     f'title="{e(c["severity"])}: both above {c["factor"]:g}x">{e(c["severity"])} '
                     f'{e(c["short"])} {burn_text(short)} · {e(c["long"])} {burn_text(long)} '
                     f'vs {c["factor"]:g}x</span>')
    return " ".join(cells)


def _alerts(alerts: Sequence[Mapping[str, str]]) -> str:
    if not alerts:
        return '<span class="why">none</span>'
    return " ".join(f'<span class="badge alert-{e(a["state"])}" data-alert="{e(a["name"])}"'
                    f'{_routed(a)}>{e(a["severity"])} {e(a["state"])}{" " + e(a["group"]) if a.get("group") else ""}'
                    f'{" · " + e(a["alertmanager"]) if a.get("alertmanager", "active") != "active" else ""}</span>'
                    for a in alerts)


def _routed(alert: Mapping[str, str]) -> str:
    return f' data-alertmanager="{e(alert["alertmanager"])}"' if "alertmanager" in alert else ""


def _budget_cell(value: Any) -> str:
    if not isinstance(value, int | float):
        return "no data"
    share = min(max(value, 0.0), 1.0) * 100
    low = ' class="low"' if value < 0.25 else ""
    return f'<span class="bar"><i{low} style="width:{share:.0f}%"></i></span>{pct(value, 1)}'


def slo_href(root: str, slo_id: str) -> str:
    return f"{root}/slo/" + quote(slo_id, safe="")


def list_page(console: Console, view: View[list[dict[str, Any]]], params: Mapping[str, str], now: float,
              root: str = "") -> str:
    rows = select(view.data or [], params)
    trs = []
    for r in rows:
        groups = "" if r["group_count"] is None else f'{r["group_count"]}'
        team = f' · team {e(r["team"])}' if r.get("team") else ""
        trs.append(
            f'<tr class="slo" data-slo="{e(r["id"])}" data-state="{e(r["state"])}" data-service="{e(r["service"])}">'
            f'<td class="slo"><a href="{e(slo_href(root, r["id"]))}"><b>{e(r["service"])}</b> / {e(r["name"])}</a>'
            f'<div class="desc">{e(r["description"])}</div><div class="why">{e(r["sli"])}{team}</div></td>'
            f'<td class="num">{r["objective"]:g}%<div class="why">{e(r["period"])}</div></td>'
            f'<td class="num sli">{"no data" if r["sli_period"] is None else format(r["sli_period"], ".3f") + "%"}</td>'
            f'<td class="num budget">{_budget_cell(r["budget_remaining"])}</td>'
            f'<td class="num tte">{e(exhaustion_text(r["time_to_exhaustion"]))}</td>'
            f'<td><span class="badge tier-{e(r["state"])}">{e(r["state"])}</span></td>'
            f'<td>{_conditions(r)}</td><td>{_alerts(r["alerts"])}</td><td class="num groups">{groups}</td></tr>')
    empty = '<tr><td colspan="9" class="why">no SLO matches the filter</td></tr>'
    head = "".join(f'<th><a href="?{e(urlencode({**params, "sort": key}))}">{e(label)}</a></th>' if key else
                   f"<th>{e(label)}</th>" for key, label in (
                       ("service", "SLO"), ("", "objective"), ("", "SLI over period"), ("budget", "budget left"),
                       ("exhaustion", "exhausted in"), ("worst", "state"), ("burn", "burn per alert window"),
                       ("", "alerts"), ("", "groups")))
    options = "".join
    services = options(f'<option value="{e(s)}"{" selected" if params.get("service") == s else ""}>{e(s)}</option>'
                       for s in console.services)
    teams = options(f'<option value="{e(t)}"{" selected" if params.get("team") == t else ""}>{e(t)}</option>'
                    for t in console.teams)
    sorts = options(f'<option value="{e(k)}"{" selected" if params.get("sort", "worst") == k else ""}>{e(v)}</option>'
                    for k, v in SORTS.items())
    burning = " checked" if params.get("burning") in ("1", "on", "true") else ""
    team_filter = (f'<label>team <select name="team"><option value="">all</option>{teams}</select></label>'
                   if console.teams else "")
    fresh = "" if view.read_at is None else f'data read {age_text(view.age(now) or 0)}'
    body = f"""{banner(view, now)}<h1>SLOs</h1>
<form class="filters" method="get">
<label>service <select name="service"><option value="">all</option>{services}</select></label>
{team_filter}<label><input type="checkbox" name="burning" value="1"{burning}> burning now</label>
<label>sort <select name="sort">{sorts}</select></label><button type="submit">apply</button>
<span class="count" id="count">{len(rows)} of {len(view.data or [])} SLOs · {fresh}</span></form>
<table id="slos"><thead><tr>{head}</tr></thead><tbody>{"".join(trs) or empty}</tbody></table>"""
    return document("slokit SLOs", body, console.prometheus.where, root, refresh=max(30, int(console.ttl)))


def _card(label: str, value: str, cls: str = "") -> str:
    return f'<div class="card {e(cls)}"><b>{value}</b><span>{e(label)}</span></div>'


def _charts(slo: SLO, history: dict[str, Any] | None) -> str:
    if not history:
        return '<p class="why">no history read yet</p>'
    series = history["series"]
    frame_args = {"start": history["start"], "end": history["end"]}
    budget_lines = [Line(_group_label(s["labels"]) or "budget left", [(t, v * 100) for t, v in s["budget"]])
                    for s in series if s["budget"]]
    low = min([v for line in budget_lines for _, v in line.points if v is not None] + [0.0])
    low = max(math.floor(low / 10) * 10, -1000.0)  # a budget overspent 10x still fits; beyond that it is clipped
    marks = [Mark(m["time"], _transition(m), TRANSITION_COLOURS.get(m["to"], "#13622e"))
             for m in history.get("transitions", ())]
    budget = line_chart("budget", Frame(low=low, high=100.0, unit=lambda v: f"{v:g}%", **frame_args), budget_lines,
                        [Ref(0.0, "spent")], marks, width=960, height=240)
    sli_lines = [Line(_group_label(s["labels"]) or f'SLI {history["window"]}', s["sli"]) for s in series if s["sli"]]
    worst = min([v for line in sli_lines for _, v in line.points if v is not None] + [slo.objective])
    room = 100 - worst
    bottom = max(0.0, 100 - room * 1.25) if room > 0 else slo.objective - 1
    sli = line_chart("sli", Frame(low=bottom, high=100.0, unit=lambda v: f"{v:.4g}%", **frame_args), sli_lines,
                     [Ref(slo.objective, f"objective {slo.objective:g}%", "#13622e")], marks, width=960, height=240)
    empty = "" if budget_lines or sli_lines else '<p class="why">Prometheus has no history of this SLO yet.</p>'
    step = exhaustion_text(history["step"])
    marked = (f"; the runtime's decisions ({len(marks)}) as vertical lines: red degraded, amber probing or "
              "ramping, green back" if marks else "")
    return (f'{empty}<figure>{budget}<figcaption>Error budget left over the {e(slo.table.period.name)} period '
            f'(burn-down; 0% = spent), one point every {e(step)}{marked}.</figcaption></figure>'
            f'<figure>{sli}<figcaption>SLI over {e(history["window"])} windows against the objective '
            f'({slo.objective:g}%).</figcaption></figure>')


def _transition(mark: Mapping[str, Any]) -> str:
    times = f' ({mark["count"]} times in this step)' if mark["count"] > 1 else ""
    stamp = time.strftime("%b %d %H:%M UTC", time.gmtime(mark["time"]))
    return f'{stamp} {mark["target"]}: {mark["from"]} → {mark["to"]}{times}'


def _group_label(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def detail_page(console: Console, slo: SLO, overview: View[list[dict[str, Any]]],
                history: View[dict[str, Any]], now: float, root: str = "") -> str:
    row = next((r for r in overview.data or [] if r["id"] == slo.id), None)
    stale = overview if overview.error else history
    parts = [banner(stale, now), f'<h1>{e(slo.service)} / {e(slo.name)}</h1>',
             f'<p class="desc" id="description">{e(slo.description)}</p>']
    if row is not None:
        state = f'<span class="badge tier-{e(row["state"])}">{e(row["state"])}</span>'
        sli = "no data" if row["sli_period"] is None else f'{row["sli_period"]:.3f}%'
        parts.append('<div class="cards">' + "".join((
            _card("objective", f'{slo.objective:g}%'), _card("period", e(slo.table.period.name)),
            _card("SLI over period", sli), _card("budget left", pct(row["budget_remaining"], 1)),
            _card("exhausted in", e(exhaustion_text(row["time_to_exhaustion"]))), _card("state", state),
            _card("SLI (errors)", e(row["sli"])))) + "</div>")
    parts.append("<h2>Budget and SLI over the period</h2>" + _charts(slo, history.data))
    if row is not None:
        parts.append(_burn_table(row))
    parts.append(_alert_rules(console, slo))
    if row is not None and row["groups"]:
        parts.append(_groups(row))
    if row is not None:
        routed = (f' <a class="alertmanager" href="{e(alertmanager_link(console.alertmanager.link, slo))}">in '
                  'Alertmanager</a>' if console.alertmanager else "")
        parts.append(f'<h2>Alerts now</h2><p id="alerts">{_alerts(row["alerts"])}{routed}</p>')
    labels = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in sorted(slo.labels.items()))
    if labels:
        parts.append(f'<h2>Labels</h2><table id="labels">{labels}</table>')
    return document(f"{slo.id} · slokit", "\n".join(parts), console.prometheus.where, root,
                    refresh=max(30, int(console.ttl)))


def _burn_table(row: Mapping[str, Any]) -> str:
    """Burn per window against the factor of every tier condition that reads the window."""
    trs = []
    for w in row["windows"]:
        limits = [f'{c["severity"]} {c["factor"]:g}x (with {c["long"] if c["short"] == w["window"] else c["short"]})'
                  for c in row["conditions"] if w["window"] in (c["short"], c["long"])]
        tier = w["tier"] if w["burn"] is not None else "unknown"
        trs.append(f'<tr class="window" data-window="{e(w["window"])}"><td>{e(w["window"])}</td>'
                   f'<td class="num"><span class="burn tier-{e(tier)}">{burn_text(w["burn"])}</span></td>'
                   f'<td>{e(", ".join(limits))}</td></tr>')
    return ('<h2>Burn per alert window</h2><table id="burn"><thead><tr><th>window</th><th>burn (error ratio / '
            f'budget)</th><th>thresholds</th></tr></thead><tbody>{"".join(trs)}</tbody></table>')


def _alert_rules(console: Console, slo: SLO) -> str:
    rules = console.alert_rules(slo)
    if not rules:
        return '<h2>Alert conditions</h2><p class="why">This SLO has no alerts (recording rules only).</p>'
    out = ["<h2>Alert conditions</h2>"]
    for r in rules:
        words = "".join(f"<li>{e(w)}</li>" for w in r["words"])
        wait = f', for {e(r["for"])}' if r["for"] else ""
        out.append(f'<div class="rule" data-severity="{e(r["severity"])}"><p><b>{e(r["alert"])}</b> '
                   f'<span class="badge tier-{e(r["severity"])}">{e(r["severity"])}</span> fires when either{wait}:'
                   f'</p><ul>{words}</ul><pre>{e(r["promql"])}</pre>'
                   f'<p><a class="graph" href="{e(r["link"])}">run it in Prometheus</a></p></div>')
    return "".join(out)


def _groups(row: Mapping[str, Any]) -> str:
    trs = []
    for g in sorted(row["groups"], key=lambda g: (*sort_key(g), _group_label(g["labels"]))):
        trs.append(f'<tr class="group" data-state="{e(g["state"])}"><td>{e(_group_label(g["labels"]))}</td>'
                   f'<td class="num">{_budget_cell(g["budget_remaining"])}</td>'
                   f'<td class="num">{e(exhaustion_text(g["time_to_exhaustion"]))}</td>'
                   f'<td><span class="badge tier-{e(g["state"])}">{e(g["state"])}</span></td>'
                   f'<td>{_conditions(g)}</td></tr>')
    return (f'<h2>Groups ({len(trs)})</h2><table id="groups"><thead><tr><th>group</th><th>budget left</th>'
            f'<th>exhausted in</th><th>state</th><th>burn per alert window</th></tr></thead>'
            f'<tbody>{"".join(trs)}</tbody></table>')


def not_found_page(console: Console, what: str, root: str = "") -> str:
    return document("not found · slokit", f'<h1>Not found</h1><p>{e(what)}</p><p><a href="{e(root)}/">all SLOs</a>'
                    '</p>', console.prometheus.where, root)
