"""Synthetic HTTP traffic for N services: every counter is a closed-form function of time.

The same function writes the backfilled history (OpenMetrics for promtool) and answers the live exporter's
scrapes, so history and live data are one continuous series, and the exact event counts over any window
are known (the budget figures of both rule sets are checked against them).

Per service: a day/night curve (the night trough is 5% of the peak), a constant share of failures, for odd
services extra failures at night (the pattern that fools a time average of ratios), and for a few
services one fault: 10% of requests fail for two hours around their daily peak.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

DAY = 86400
STEP = 30  # seconds between samples: the scrape interval of the history and of the live exporter
METRIC = "http_request_duration_seconds_count"
INSTANCES = (("a", 0.6), ("b", 0.4))  # two instances share each service's traffic
GOOD, BAD = "200", "500"
NIGHT_FLOOR = 0.05  # traffic at the trough, as a share of the peak
BASE_ERRORS = 0.0002  # failed share of every request
NIGHT_ERRORS = 0.0001  # odd services: extra failures per second, as a share of the peak rate, at night
FAULT_RATIO = 0.10  # share of requests failing during the fault
FAULT_SECONDS = 2 * 3600
MAX_FAULTY = 10
_OMEGA = 2 * math.pi / DAY


@dataclass(frozen=True)
class Service:
    """One service with one SLO: `job` label `name`, peak `rate` requests/s, its day shifted by `phase` s."""

    name: str
    rate: float
    phase: int
    night_errors: float
    fault: tuple[int, int] | None  # [start, end) in unix seconds

    def selector(self, bad: bool) -> str:
        code = f',code=~"{BAD[0]}.."' if bad else ""
        return f'{METRIC}{{job="{self.name}"{code}}}'

    def counts(self, t: float, origin: int) -> tuple[float, float]:
        """(requests, failed requests) from `origin` to `t`, as real numbers."""
        total = self.rate * (_day(t, self.phase) - _day(origin, self.phase))
        bad = BASE_ERRORS * total
        bad += self.night_errors * self.rate * (_night(t, self.phase) - _night(origin, self.phase))
        if self.fault is not None and t > self.fault[0]:
            start, end = self.fault
            bad += FAULT_RATIO * self.rate * (_day(min(t, end), self.phase) - _day(start, self.phase))
        return total, bad

    def series(self, t: float, origin: int) -> Iterator[tuple[str, int]]:
        """(labels, counter value) of each of the service's series at `t`: integers, never decreasing."""
        total, bad = self.counts(t, origin)
        for instance, share in INSTANCES:
            labels = f'job="{self.name}",instance="{instance}"'
            yield f'{labels},code="{GOOD}"', math.floor(share * (total - bad))
            yield f'{labels},code="{BAD}"', math.floor(share * bad)

    def exact_ratio(self, start: float, end: float, origin: int) -> float:
        """Failed / all requests counted by the series between `start` and `end` (what an SLO should report)."""
        values = [dict(self.series(t, origin)) for t in (start, end)]
        bad = sum(values[1][k] - values[0][k] for k in values[0] if k.endswith(f'"{BAD}"'))
        total = sum(values[1][k] - values[0][k] for k in values[0])
        return bad / total


def _day(t: float, phase: int) -> float:
    """Integral of the traffic curve (peak 1 at 12:00 UTC + phase, trough NIGHT_FLOOR at midnight)."""
    x = (t - phase) % DAY
    cycles = (t - phase - x) / DAY
    per_day = NIGHT_FLOOR * DAY + (1 - NIGHT_FLOOR) / 2 * DAY
    return cycles * per_day + NIGHT_FLOOR * x + (1 - NIGHT_FLOOR) / 2 * (x - math.sin(_OMEGA * x) / _OMEGA)


def _night(t: float, phase: int) -> float:
    """Integral of the night curve (1 at midnight + phase, 0 at noon)."""
    x = (t - phase) % DAY
    cycles = (t - phase - x) / DAY
    return cycles * DAY / 2 + (x + math.sin(_OMEGA * x) / _OMEGA) / 2


def services(n: int, fault_start: int) -> list[Service]:
    """n services; every sixth (up to MAX_FAULTY) has the fault, starting at `fault_start`."""
    out = []
    for i in range(n):
        faulty = i % 6 == 0 and i // 6 < MAX_FAULTY
        out.append(Service(
            name=f"svc{i:05d}",
            rate=5.0 * (1 + i % 10),
            phase=0 if i % 6 == 0 else (i % 6) * 4 * 3600,
            night_errors=NIGHT_ERRORS if i % 2 else 0.0,
            fault=(fault_start, fault_start + FAULT_SECONDS) if faulty else None))
    return out


def fault_start(end: int) -> int:
    """11:00 UTC two days before `end`: one hour before the peak of the faulty services (phase 0)."""
    return (end - 2 * DAY) // DAY * DAY + 11 * 3600


def openmetrics(svcs: list[Service], origin: int, start: int, end: int) -> Iterator[str]:
    """OpenMetrics text for the samples at origin + k*STEP in [start, end): series by series, then # EOF.

    The same arithmetic as `Service.counts`, one curve per phase for all services sharing it (the history
    of 500 services is 190 million samples)."""
    times = range(origin + -(-(start - origin) // STEP) * STEP, end, STEP)
    stamps = [f" {t}\n" for t in times]
    day: dict[int, list[float]] = {}
    night: dict[int, list[float]] = {}
    for phase in {svc.phase for svc in svcs}:
        d0, n0 = _day(origin, phase), _night(origin, phase)
        day[phase] = [_day(t, phase) - d0 for t in times]
        night[phase] = [_night(t, phase) - n0 for t in times]
    for svc in svcs:
        total = [svc.rate * d for d in day[svc.phase]]
        bad = [BASE_ERRORS * x for x in total]
        if svc.night_errors:
            k = svc.night_errors * svc.rate
            bad = [b + k * n for b, n in zip(bad, night[svc.phase], strict=True)]
        if svc.fault is not None:
            f0, f1 = svc.fault
            k, d0 = FAULT_RATIO * svc.rate, _day(f0, svc.phase)
            bad = [b + k * (_day(min(t, f1), svc.phase) - d0) if t > f0 else b
                   for b, t in zip(bad, times, strict=True)]
        for instance, share in INSTANCES:
            labels = f'{METRIC}{{job="{svc.name}",instance="{instance}",code='
            good = [math.floor(share * (x - b)) for x, b in zip(total, bad, strict=True)]
            yield "".join([f'{labels}"{GOOD}"}} {v}{s}' for v, s in zip(good, stamps, strict=True)])
            failed = [math.floor(share * b) for b in bad]
            yield "".join([f'{labels}"{BAD}"}} {v}{s}' for v, s in zip(failed, stamps, strict=True)])
    yield "# EOF\n"


def exposition(svcs: list[Service], t: float, origin: int) -> str:
    """The live exporter's answer at `t` (Prometheus text format, no timestamps: the scrape time is used)."""
    return "".join(f"{METRIC}{{{labels}}} {value}\n" for svc in svcs for labels, value in svc.series(t, origin))
