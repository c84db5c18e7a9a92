"""`slokit demo`: the whole loop in about a minute, told as a timeline in the terminal.

The checkout service (slokit/demo/service.py) runs on 127.0.0.1 with the middleware feeding the
in-process runtime. A traffic thread calls it at a capped rate. After a calm start the payment gateway
fails 30% of charges: /pay burns its error budget, the page-level burn is reached, the policy opens the
payments breaker (the fallback answers) and switches recommendations off. While the fault lasts the
breaker probes the gateway (a few calls, less often each time they fail); once the fault ends and the
probes pass, and the burn has stayed low for the hold time, traffic ramps back (10%, 50%, all) and the
switch comes back user by user. With a fault longer than the hold (`--fault 90s`) nothing flaps. Time is
compressed twice: the demo spec's 2h period scales the windows to seconds, and `--speed` runs the
runtime's clock faster than the wall.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
import requests
from prometheus_client import CollectorRegistry

from slokit.demo.service import Gateway, Served, create_app, serve
from slokit.runtime import Decisions, Metrics, Runtime, Transition
from slokit.spec import load
from slokit.status import StatusBoard, slo_row

SPEC = Path(__file__).with_name("demo.yml")
SLO = "checkout-availability"
SLO_KEY = ("checkout", "availability")
CALM, FAULT, TAIL = 12.0, 18.0, 6.0  # story seconds: calm start, default fault length, calm after recovery
NO_FAULT_LENGTH = 30.0
GIVE_UP_AFTER = 90.0  # story seconds after the fault: the story must be over by then (exit 1 otherwise)
FAILURE_RATIO = 0.3
PROGRESS_EVERY = 2.0  # story seconds between timeline lines
MAX_RATE = 160.0  # requests per wall second, whatever the speed


class ScaledClock:
    """Wall time running `speed` times faster from `start`: the runtime's injectable clock, sped up."""

    def __init__(self, speed: float = 1.0, start: float | None = None):
        self.speed = speed
        self.start = time.time() if start is None else start

    def __call__(self) -> float:
        return self.start + (time.time() - self.start) * self.speed

    def story(self) -> float:
        """Story seconds since the start."""
        return self() - self.start


@dataclass
class Counts:
    pay_ok: int = 0
    pay_failed: int = 0
    pay_fallback: int = 0
    recs_full: int = 0
    recs_degraded: int = 0
    unreachable: int = 0

    def copy(self) -> Counts:
        return Counts(**self.__dict__)


@dataclass
class Traffic:
    """Calls /pay (3 of 4 requests) and /recommendations at `rate` per wall second, on loopback only."""

    url: str
    rate: float
    limit: float  # wall seconds: the thread stops by then whatever happens
    events: queue.Queue[tuple[str, object]]
    counts: Counts = field(default_factory=Counts)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        interval, end = 1.0 / self.rate, time.monotonic() + self.limit
        due, i, c = time.monotonic(), 0, self.counts
        with requests.Session() as session:
            while not self._stop.is_set() and time.monotonic() < end:
                i += 1
                try:
                    if i % 4:
                        r = session.post(self.url + "/pay", timeout=2)
                        if r.status_code == 202:
                            if not c.pay_fallback:
                                self.events.put(("fallback", None))
                            c.pay_fallback += 1
                        elif r.ok:
                            c.pay_ok += 1
                        else:
                            c.pay_failed += 1
                    else:
                        degraded = session.get(f"{self.url}/recommendations?user=u{i % 40}", timeout=2).json()[
                            "degraded"]
                        if degraded and not c.recs_degraded:
                            self.events.put(("degraded", None))
                        c.recs_degraded += degraded
                        c.recs_full += not degraded
                except (requests.RequestException, ValueError, KeyError):
                    c.unreachable += 1
                due = max(due + interval, time.monotonic() - 1.0)  # never a burst to catch up
                self._stop.wait(max(0.0, due - time.monotonic()))


def _burns(burn: dict[str, float]) -> str:
    return ", ".join(f"{w} {v:.1f}x" for w, v in burn.items())


class Timeline:
    """Prints the story: one line per event, a progress line every PROGRESS_EVERY story seconds."""

    def __init__(self, echo: Callable[[str], None], clock: ScaledClock, runtime: Runtime, board: StatusBoard):
        self.echo, self.clock, self.runtime, self.board = echo, clock, runtime, board
        self.paged = False
        self.trips = 0  # policy trips of the breaker: more than one is a flap

    def say(self, text: str, colour: str | None = None, bold: bool = False) -> None:
        self.echo(click.style(f"[t+{self.clock.story():5.1f}s] {text}", fg=colour, bold=bold))

    def transition(self, t: Transition) -> None:
        kind, _, name = t.target.partition(":")
        if t.reason.startswith("policy") and t.to_state in ("open", "off") and kind == "breaker":
            self.trips += 1
        if t.reason == "policy" and not self.paged:
            self.paged = True
            self.say(f"PAGE-LEVEL BURN: {t.slo} burns {_burns(t.burn)}, above {t.threshold:g}x on both windows "
                     "(the CheckoutAvailability page alert's condition)", "red", bold=True)
        self.say(f"{kind} {name}: {t.from_state} -> {t.to_state}  ({self._why(t)})", _colour(t.to_state),
                 bold=t.reason not in ("open_timeout", "probes_failed", "probes_passed"))

    def _why(self, t: Transition) -> str:
        d = t.detail
        share = f"; {d['admit_percent']:g}% of the {'calls' if t.target.startswith('breaker') else 'users'}" \
            if "admit_percent" in d else ""
        return {
            "policy": f"policy: {t.slo} burns {_burns(t.burn)} > {t.threshold or 0:g}x",
            "policy_retrip": f"policy again, soon after recovering: held {d.get('hold', 0):g}s this time",
            "policy_recovered": f"policy recovered: {_burns(t.burn)} < {t.threshold or 0:g}x for "
                                f"{d.get('hold', 0):g}s and the probes passed{share}",
            "open_timeout": f"probing the gateway with up to {d.get('probes', 0)} calls",
            "probes_failed": f"{d.get('failed', 0)} of {d.get('calls', 0)} probes failed; next probe in "
                             f"{d.get('next_probe_in', 0):g}s",
            "probes_passed": "probes passed" + ("; the policy decides when traffic goes back" if d.get("held_by")
                                                else "") + share,
            "ramp_step": f"ramp{share}",
            "ramp_failed": f"ramp calls failed ({d.get('failed', 0)} of {d.get('calls', 0)}); next probe in "
                           f"{d.get('next_probe_in', 0):g}s",
            "ramp_done": f"ramp done: all the {'calls' if t.target.startswith('breaker') else 'users'}",
        }.get(t.reason, t.reason)

    def progress(self, delta: Counts) -> None:
        row = slo_row(self.runtime.slos[SLO_KEY], self.runtime.source.burn_rates(SLO_KEY),
                      self.board.ledger.remaining(SLO_KEY))
        page = {w for c in row["conditions"] if c["severity"] == "page" for w in (c["short"], c["long"])}
        colour = {"page": "red", "ticket": "yellow", "ok": None}
        parts = [click.style(f"{w['window']} {w['burn'] or 0:5.1f}x", fg=colour.get(w["tier"]))
                 for w in row["windows"] if w["window"] in page]
        snap = row["budget_remaining"]
        payments = self.runtime.breaker("payments")
        breaker = payments.state + (f" {payments.admitted_share:.0%}" if payments.state == "ramp" else "")
        switch = self.runtime.switches.state()["recommendations"]
        recs = {"on": "on", "off": "OFF"}.get(switch["state"], f"{switch['share']:.0%}")
        self.echo(f"[t+{self.clock.story():5.1f}s] /pay {delta.pay_ok:3d} ok {delta.pay_failed:3d} failed "
                  f"{delta.pay_fallback:3d} fallback | burn {' '.join(parts)} | budget {(snap or 0) * 100:5.1f}% | "
                  f"breaker {breaker} | recommendations {recs}")


def _colour(state: str) -> str:
    return {"open": "red", "off": "red", "half_open": "yellow", "ramp": "yellow"}.get(state, "green")


def _diff(now: Counts, before: Counts) -> Counts:
    return Counts(**{k: v - getattr(before, k) for k, v in now.__dict__.items()})


def run(speed: float = 1.0, fault: bool = True, keep_serving: bool = False, port: int = 0,
        echo: Callable[[str], None] = click.echo, fault_for: float = FAULT) -> int:
    """Tell the story; 0 when it went as told (recovered without flapping; with no fault, nothing tripped),
    1 otherwise."""
    spec = load([str(SPEC)])
    slos = spec.slos
    registry = CollectorRegistry()
    quiet = logging.getLogger("slokit.demo.decisions")  # the timeline says it; no log lines on stderr
    quiet.propagate = False
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    clock = ScaledClock(speed)
    runtime = Runtime(spec.policy, slos, clock=clock, decisions=Decisions(Metrics(registry), logger=quiet))
    board = StatusBoard(runtime, slos, title="slokit demo: checkout")
    gateway = Gateway()
    try:
        served: Served = serve(create_app(runtime, board, gateway, registry), port)
    except OSError as exc:  # the port is taken
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}: {exc}") from None
    events: queue.Queue[tuple[str, object]] = queue.Queue()
    runtime.decisions.listeners.append(lambda t: events.put(("transition", t)))
    give_up = CALM + (fault_for if fault else NO_FAULT_LENGTH) + GIVE_UP_AFTER
    traffic = Traffic(served.url, min(40.0 * speed, MAX_RATE), give_up / speed + 5, events)
    timeline = Timeline(echo, clock, runtime, board)
    echo(click.style(f"slokit demo: checkout on {served.url}  status page {served.url}/slokit/", bold=True))
    table = runtime.slos[SLO_KEY].table
    page = " or ".join(f"{c.short.name}+{c.long.name} (>{c.factor:g}x)" for c in table.by_severity("page"))
    echo(f"SLOs from {SPEC.name}: {', '.join(f'{s.id} {s.objective:g}%' for s in slos)} over a "
         f"{table.period.name} period, so the page tier reads {page}.")
    echo(f"Time runs {speed:g}x; traffic {traffic.rate:.0f} req/s on loopback. "
         + (f"At t+{CALM:g}s the payment gateway starts failing {FAILURE_RATIO:.0%} of charges for {fault_for:g}s."
            if fault else "No fault this time: watch the burn stay at zero."))
    runtime.start()
    board.start(lambda: 0.5 / speed)
    traffic.start()
    status, injected, healed, recovered_at = 1, False, False, None
    last, next_progress = traffic.counts.copy(), PROGRESS_EVERY
    try:
        while True:
            while not events.empty():
                kind, item = events.get()
                if kind == "transition":
                    timeline.transition(item)  # type: ignore[arg-type]
                elif kind == "fallback":
                    timeline.say("fallback serving: /pay answers 202 \"charge queued\" without calling the gateway",
                                 "yellow")
                elif kind == "degraded":
                    timeline.say("degraded: /recommendations answers an empty list while its switch is off", "yellow")
            now = clock.story()
            if fault and not injected and now >= CALM:
                injected, gateway.failure_ratio = True, FAILURE_RATIO
                timeline.say(f"FAULT: the payment gateway fails {FAILURE_RATIO:.0%} of charges; /pay answers 503",
                             "red", bold=True)
            if injected and not healed and now >= CALM + fault_for:
                healed, gateway.failure_ratio = True, 0.0
                timeline.say("FAULT ENDS: the gateway is healthy again; traffic comes back once the probes pass and "
                             "the burn has stayed low for the hold time, gradually", "green", bold=True)
            if now >= next_progress:
                counts = traffic.counts.copy()
                timeline.progress(_diff(counts, last))
                last, next_progress = counts, next_progress + PROGRESS_EVERY
            calm = (runtime.breaker("payments").state == "closed"
                    and runtime.switches.state()["recommendations"]["state"] == "on")
            if recovered_at is None and calm and (healed and timeline.paged or not fault and now >= NO_FAULT_LENGTH):
                recovered_at = now
            if recovered_at is not None and now >= recovered_at + (TAIL if fault else 0):
                status = 0 if timeline.trips <= 1 else 1
                if status:
                    timeline.say(f"FLAPPING: the policy opened the breaker {timeline.trips} times", "red", bold=True)
                break
            if now >= give_up:
                timeline.say("the story did not finish in time (was the machine too busy?)", "red")
                break
            time.sleep(min(0.1, 0.25 / speed))
        traffic.stop()
        c = traffic.counts
        budget = board.ledger.remaining(SLO_KEY) or 0.0
        echo(click.style(
            f"done in {clock.story():.0f}s of story time: /pay {c.pay_ok} ok, {c.pay_failed} failed, "
            f"{c.pay_fallback} from the fallback; {len(runtime.decisions.recent)} transition(s); "
            f"{SLO} budget remaining {budget:.1%}", bold=True))
        if keep_serving:
            echo(f"serving {served.url}/slokit/ (JSON: {served.url}/slokit/status.json); Ctrl-C to stop")
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        traffic.stop()
        board.stop()
        runtime.stop()
        served.stop()
    return status
