"""Line charts with time and value axes as inline SVG: what the console's and the status page's charts draw.

Hand-written because a chart here is a few lines, reference lines and tick labels: no asset to ship, no CDN,
nothing to load before the page shows. Every label is escaped; gaps in the data (None, NaN) break the line
instead of joining across them, so "no data" never looks like a straight healthy stretch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from slokit.promql import format_duration

COLOURS = ("#2f6fd0", "#d0552f", "#7a4fc2", "#2f9d6a", "#b7791f", "#5b6570")
# Tick spacings for the time axis (seconds), smallest first: the first that gives at most MAX_TICKS wins.
TIME_STEPS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600, 86400,
              2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400)
MAX_TICKS = 7


@dataclass(frozen=True)
class Line:
    """One series: (unix time, value or None) points, oldest first."""

    label: str
    points: Sequence[tuple[float, float | None]]
    colour: str = ""


@dataclass(frozen=True)
class Ref:
    """A horizontal reference line (an objective, a threshold), dashed, with its label at the right."""

    value: float
    label: str
    colour: str = "#9d1c13"


@dataclass(frozen=True)
class Mark:
    """A vertical marker at a moment (a decision's transition), with what happened as its tooltip."""

    time: float
    label: str
    colour: str = "#9d1c13"


@dataclass(frozen=True)
class Frame:
    """Where a chart draws: the time span, the value span, and how values read on the axis."""

    start: float
    end: float
    low: float
    high: float
    unit: Callable[[float], str] = field(default=lambda v: f"{v:g}")
    origin: float | None = None  # set: the time axis reads "t+90s" from this moment instead of UTC clock time


def nice_step(span: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about `ticks` ticks over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def value_ticks(low: float, high: float) -> list[float]:
    step = nice_step(high - low)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def time_ticks(start: float, end: float, origin: float = 0.0) -> tuple[list[float], str]:
    """Tick times on round boundaries (UTC, or from `origin`) and their strftime format (clock time within two
    days, else the date)."""
    span = max(end - start, 1.0)
    step = next((s for s in TIME_STEPS if span / s <= MAX_TICKS), TIME_STEPS[-1])
    first = origin + math.ceil((start - origin) / step) * step
    ticks = [float(first + i * step) for i in range(int((end - first) // step) + 1)]
    fmt = "%H:%M:%S" if step < 60 else "%H:%M" if span <= 2 * 86400 else "%b %d"
    return ticks, fmt


def time_label(moment: float, fmt: str) -> str:
    return time.strftime(fmt, time.gmtime(moment))


def line_chart(name: str, frame: Frame, lines: Sequence[Line], refs: Sequence[Ref] = (),
               marks: Sequence[Mark] = (), width: int = 720, height: int = 220) -> str:
    """An SVG line chart with a UTC time axis (bottom), a value axis (left), reference lines and markers.
    `name` becomes its data-chart attribute (tests and styles find it by that)."""
    left, right, top, bottom = 58, 110, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    span_t = (frame.end - frame.start) or 1.0
    span_v = (frame.high - frame.low) or 1.0

    def x(t: float) -> float:
        return left + (t - frame.start) / span_t * plot_w

    def y(v: float) -> float:
        return top + plot_h - (min(max(v, frame.low), frame.high) - frame.low) / span_v * plot_h

    out = [f'<svg class="chart" data-chart="{escape(name)}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" style="max-width:100%;height:auto" role="img" '
           f'aria-label="{escape(name)} chart">',
           f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#d5d9de"/>']
    out.append('<g class="axis y">')
    for v in value_ticks(frame.low, frame.high):
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eef0f2"/>'
                   f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{escape(frame.unit(v))}</text>')
    out.append('</g><g class="axis x">')
    ticks, fmt = time_ticks(frame.start, frame.end, frame.origin or 0.0)
    for t in ticks:
        since = round(t - (frame.origin or 0.0))
        label = time_label(t, fmt) if frame.origin is None else f"t+{format_duration(since) if since > 0 else '0s'}"
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
                   f'stroke="#5b6570"/><text x="{x(t):.1f}" y="{height - 10}" text-anchor="middle">'
                   f'{escape(label)}</text>')
    unit = "UTC" if frame.origin is None else "since start"
    out.append(f'<text x="{left + plot_w}" y="{height - 1}" text-anchor="end" class="unit">{unit}</text></g>')
    for ref in refs:
        if frame.low <= ref.value <= frame.high:
            above = y(ref.value) - 4 if y(ref.value) - 4 > top + 10 else y(ref.value) + 13
            out.append(f'<g class="ref"><line x1="{left}" x2="{left + plot_w}" y1="{y(ref.value):.1f}" '
                       f'y2="{y(ref.value):.1f}" stroke="{ref.colour}" stroke-dasharray="5 4" stroke-width="1.2"/>'
                       f'<text x="{left + 4}" y="{above:.1f}" style="fill:{ref.colour}">{escape(ref.label)}</text></g>')
    for mark in marks:
        if frame.start <= mark.time <= frame.end:
            out.append(f'<line class="transition" x1="{x(mark.time):.1f}" x2="{x(mark.time):.1f}" y1="{top}" '
                       f'y2="{top + plot_h}" stroke="{mark.colour}"><title>{escape(mark.label)}</title></line>')
    for i, line in enumerate(lines):
        colour = line.colour or COLOURS[i % len(COLOURS)]
        path, dots = _path(line.points, x, y)
        if path:
            out.append(f'<path class="line" d="{path}" fill="none" stroke="{colour}" stroke-width="2" '
                       f'stroke-linejoin="round"><title>{escape(line.label)}</title></path>')
        out.extend(f'<circle class="dot" cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{colour}"><title>'
                   f'{escape(line.label)}</title></circle>' for cx, cy in dots)
    legend_y = top + 4
    for i, line in enumerate(lines[:8]):
        colour = line.colour or COLOURS[i % len(COLOURS)]
        legend_y += 14
        out.append(f'<g class="legend"><rect x="{left + plot_w + 4}" y="{legend_y - 8}" width="10" height="3" '
                   f'fill="{colour}"/><text x="{left + plot_w + 18}" y="{legend_y - 4}">'
                   f'{escape(_short(line.label))}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _short(label: str, limit: int = 14) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _path(points: Sequence[tuple[float, float | None]], x: Callable[[float], float],
          y: Callable[[float], float]) -> tuple[str, list[tuple[float, float]]]:
    """SVG path data with a new segment (M) after every gap, so missing data is not drawn over; and the
    points that stand alone (between gaps, or a series' only sample), drawn as dots."""
    segments: list[list[tuple[float, float]]] = [[]]
    for t, v in points:
        if v is None or not math.isfinite(v):
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((x(t), y(v)))
    path = " ".join("M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in s) for s in segments if len(s) > 1)
    return path, [s[0] for s in segments if len(s) == 1]
