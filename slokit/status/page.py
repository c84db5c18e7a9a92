"""The status page as one self-contained HTML document: server-rendered SVG charts with time axes (the
console's, slokit.status.chart), the console's look (slokit.status.style), and a few lines of JavaScript that
re-fetch the page every second. No build step, no CDN: it works offline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from slokit.status.board import exhaustion_text
from slokit.status.chart import Frame, Line, Mark, Ref, line_chart
from slokit.status.style import CSS as STYLE

# The console's look (slokit.status.style), plus the breaker, switch and health badges only this page has.
CSS = STYLE + """
.state-closed,.state-on{background:#e3f4e8;color:#13622e}.state-open,.state-off{background:#fde0de;color:#9d1c13}
.state-half_open,.state-ramp{background:#fff1cc;color:#7a5300} .charts{display:flex;gap:.8rem;flex-wrap:wrap}
.health-pass{background:#e3f4e8;color:#13622e}.health-warn{background:#fff1cc;color:#7a5300}.health-fail{background:#fde0de;color:#9d1c13}.health-unknown{background:#eceef1;color:#5b6570}
.meta{color:#5b6570;margin-bottom:1rem} tr.charts-row td{padding-top:0}
"""  # noqa: E501 - one CSS rule per line, as the page sends it

REFRESH = """
setInterval(async () => {
  try {
    const html = await (await fetch(location.href, {cache: "no-store"})).text();
    const next = new DOMParser().parseFromString(html, "text/html").querySelector("main");
    if (next) document.querySelector("main").replaceWith(next);
  } catch (e) { /* the service went away: keep the last picture */ }
}, 1000);
"""



def _fmt_burn(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


def _fmt_budget(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.1f}%"


TRANSITION_COLOURS = {"open": "#9d1c13", "off": "#9d1c13", "half_open": "#b7791f", "ramp": "#b7791f"}  # else green


def _events(transitions: Sequence[dict[str, Any]], started: float) -> list[Mark]:
    """The transitions as chart marks: red when a target degrades, amber while it probes or ramps, green back."""
    return [Mark(t["time"], f't+{t["time"] - started:.1f}s {t["target"]}: {t["from"]} → {t["to"]} ({t["reason"]})',
                 TRANSITION_COLOURS.get(t["to"], "#13622e")) for t in transitions]


def _charts(row: dict[str, Any], started: float, events: Sequence[Mark] = ()) -> str:
    history = row["history"]
    times = history["time"]
    if len(times) < 2:
        return '<div class="why">collecting…</div>'
    page = next((c for c in row["conditions"] if c["severity"] == "page"), row["conditions"][0])
    shown = [Line(f'{w} burn', list(zip(times, history["burn"].get(w, []), strict=False)))
             for w in (page["short"], page["long"])]
    peak = max([v for line in shown for _, v in line.points if v is not None] + [0.0])
    span = Frame(times[0], times[-1], 0.0, max(page["factor"] * 1.5, peak * 1.1), lambda v: f"{v:g}x", started)
    burn_svg = line_chart("burn", span, shown, [Ref(page["factor"], f'page {page["factor"]:g}x')], events,
                          width=500, height=180)
    budget = [None if v is None else v * 100 for v in history["budget"]]
    low = min([v for v in budget if v is not None] + [100.0])
    bottom = min(90.0, math.floor(low / 10) * 10)  # a 1% drop is visible, a negative budget still fits
    budget_svg = line_chart("budget", Frame(times[0], times[-1], bottom, 100.0, lambda v: f"{v:g}%", started),
                            [Line("budget left", list(zip(times, budget, strict=False)))], [Ref(0.0, "spent")],
                            width=500, height=180)
    seconds = times[-1] - times[0]
    marked = ", transitions as vertical lines" if any(times[0] <= m.time <= times[-1] for m in events) else ""
    return (f'<div class="charts"><figure>{burn_svg}<figcaption>burn {page["short"]} (blue), {page["long"]} (red), '
            f'page at {page["factor"]:g}x{marked}, last {seconds:.0f}s</figcaption></figure>'
            f'<figure>{budget_svg}<figcaption>budget remaining ({bottom:g}–100%), last {seconds:.0f}s</figcaption>'
            '</figure></div>')


def _why(last: dict[str, Any] | None, started: float) -> str:
    """The last transition of a breaker or switch, in words."""
    if not last:
        return '<span class="why">no transition yet</span>'
    burn = ", ".join(f"{w} {_fmt_burn(v)}" for w, v in last.get("burn", {}).items())
    threshold = f' vs {last["threshold"]:g}x' if last.get("threshold") is not None else ""
    slo = f' · {escape(last["slo"])}' if last.get("slo") else ""
    return (f'{escape(last["from"])} → {escape(last["to"])} <span class="why">at t+{last["time"] - started:.1f}s · '
            f'{escape(last["reason"])}{slo}{" · " + escape(burn) if burn else ""}{threshold}</span>')


def _health(health: dict[str, Any] | None, started: float) -> str:
    """The probes' last answer: readiness, then each component (the /healthz document)."""
    if health is None:
        return ""
    status, state = str(health.get("status")), str(health.get("state"))
    since = f' · since t+{health["since"] - started:.1f}s' if isinstance(health.get("since"), int | float) else ""
    rows = [f'<tr class="readiness" data-state="{escape(state)}" data-status="{escape(status)}"><td><b>readiness</b>'
            f'</td><td><span class="badge health-{escape(status)}">{escape(state)}</span></td>'
            f'<td>{escape(str(health.get("output", "")))}<span class="why">{since}</span></td></tr>']
    for key, entries in health.get("checks", {}).items():
        for c in entries:
            value = c.get("observedValue")
            seen = f'{value:g}{c.get("observedUnit", "")}' if isinstance(value, int | float) else str(value or "")
            rows.append(f'<tr class="component" data-component="{escape(key)}" data-status="{escape(c["status"])}">'
                        f'<td>{escape(key)} <span class="why">{escape(c["componentType"])}'
                        f'{", critical" if c.get("critical") else ""}</span></td>'
                        f'<td><span class="badge health-{escape(c["status"])}">{escape(c["status"])}</span></td>'
                        f'<td>{escape(seen)} <span class="why">{escape(c.get("output", ""))}</span></td></tr>')
    return ('<h2>Health probes</h2><table id="health"><thead><tr><th>/healthz</th><th>status</th><th>observed, '
            f'why</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def render(snapshot: dict[str, Any]) -> str:
    """The whole page for one snapshot."""
    started, now = snapshot["started"], snapshot["time"]
    events = _events(snapshot.get("transitions", ()), started)
    slo_rows = []
    for row in snapshot["slos"]:
        burns = "".join(f'<span class="burn tier-{w["tier"] if w["burn"] is not None else "unknown"}" '
                        f'data-window="{escape(w["window"])}">{escape(w["window"])} {_fmt_burn(w["burn"])}</span>'
                        for w in row["windows"])
        slo_rows.append(
            f'<tr class="slo" data-slo="{escape(row["id"])}" data-state="{escape(row["state"])}">'
            f'<td><b>{escape(row["id"])}</b><div class="why">{escape(row["description"])}</div></td>'
            f'<td>{row["objective"]:g}% / {escape(row["period"])}</td><td>{escape(row["sli"])}</td>'
            f'<td>{_fmt_budget(row["budget_remaining"])}'
            f'<div class="why">exhausted in {exhaustion_text(row.get("time_to_exhaustion"))}</div></td>'
            f'<td><span class="badge tier-{escape(row["state"])}">{escape(row["state"])}</span></td>'
            f'<td>{burns}</td></tr><tr class="charts-row"><td colspan="6">{_charts(row, started, events)}</td></tr>')
    breakers = "".join(
        f'<tr class="breaker" data-breaker="{escape(b["name"])}" data-state="{escape(b["state"])}">'
        f'<td><b>{escape(b["name"])}</b></td>'
        f'<td><span class="badge state-{escape(b["state"])}">{escape(b["state"])}</span></td>'
        f'<td>{_why(b["last"], started)}</td></tr>' for b in snapshot["breakers"])
    switches = "".join(
        f'<tr class="switch" data-switch="{escape(s["name"])}" data-state="{escape(s["state"])}">'
        f'<td><b>{escape(s["name"])}</b></td>'
        f'<td><span class="badge state-{escape(s["state"])}">{escape(s["state"])}</span></td>'
        f'<td>{_why(s["last"], started)}</td></tr>' for s in snapshot["switches"])
    empty = '<tr><td colspan="3" class="why">none</td></tr>'
    title = escape(snapshot["title"])
    meta = f't+{now - started:.1f}s since start · refreshes every second · <a href="status.json">status.json</a>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{CSS}</style></head>
<body><header><a href="./">{title}</a><span class="where">the in-process runtime</span>
<a class="api" href="status.json">JSON</a></header><main>
<h1>{title}</h1>
<div class="meta">{meta}</div>
<h2>SLOs</h2>
<table id="slos"><thead><tr><th>SLO</th><th>objective</th><th>SLI (errors)</th><th>budget remaining</th><th>state</th>
<th>burn per window</th></tr></thead><tbody>{"".join(slo_rows)}</tbody></table>
<h2>Circuit breakers</h2>
<table id="breakers"><thead><tr><th>breaker</th><th>state</th><th>last transition and why</th></tr></thead>
<tbody>{breakers or empty}</tbody></table>
<h2>Degrade switches</h2>
<table id="switches"><thead><tr><th>switch</th><th>state</th><th>last transition and why</th></tr></thead>
<tbody>{switches or empty}</tbody></table>
{_health(snapshot.get("health"), started)}
</main><script>{REFRESH}</script></body></html>
"""
