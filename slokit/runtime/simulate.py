"""Replay an event stream through the engine and the policy in simulated time; yield every transition.

Input (CSV with a header, or JSON lines), one row per time step and SLO:
    timestamp,slo,good,bad          counts of events at that time
    timestamp,slo,outcome           one request ("good" or "bad")
`timestamp` is seconds (any epoch) or an ISO 8601 time; rows must not go back in time. The runtime is
evaluated every `step` seconds of simulated time (default: the engine's bucket width), so a decision
happens within one bucket of when the windows say it should. See docs/runtime.md.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Any

from slokit.errors import InputError, Problem
from slokit.runtime.clock import ManualClock
from slokit.runtime.decisions import Decisions, Transition
from slokit.runtime.runtime import Runtime
from slokit.spec.model import SLO
from slokit.spec.policy import Policy

# Where the replayed decisions are logged. Quiet it (or not) in the application: `slokit simulate` prints
# the decisions as JSON lines instead and disables this logger while it replays.
log = logging.getLogger("slokit.runtime.simulate")


@dataclass(frozen=True)
class Event:
    time: float  # seconds
    slo: str
    good: int
    bad: int
    line: int = 0


def _time(value: Any) -> tuple[float, bool]:
    """(seconds, was ISO) from a number or an ISO 8601 text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), False
    text = str(value).strip()
    try:
        return float(text), False
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp(), True


def _event(file: str, line: int, row: dict[str, Any]) -> tuple[Event, bool]:
    try:
        when, iso = _time(row["timestamp"])
        slo = str(row["slo"]).strip()
        if row.get("outcome") not in (None, ""):
            outcome = str(row["outcome"]).strip()
            if outcome not in ("good", "bad"):
                raise ValueError(f"outcome must be good or bad, got {outcome!r}")
            good, bad = (1, 0) if outcome == "good" else (0, 1)
        else:
            good, bad = int(row.get("good") or 0), int(row.get("bad") or 0)
        if good < 0 or bad < 0:
            raise ValueError("good and bad must not be negative")
    except KeyError as exc:
        message = f"missing column {exc.args[0]!r} (need timestamp, slo, good/bad or outcome)"
        raise InputError([Problem(file, line, "", message)]) from None
    except (ValueError, TypeError) as exc:
        raise InputError([Problem(file, line, "", str(exc))]) from None
    return Event(when, slo, good, bad, line), iso


def read_events(path: str) -> Iterator[tuple[Event, bool]]:
    """Events of a .csv or .jsonl/.json file (by suffix; other suffixes: sniffed from the first character)."""
    with open(path, encoding="utf-8", newline="") as f:
        head = f.read(1)
        f.seek(0)
        jsonl = FilePath(path).suffix in (".jsonl", ".json", ".ndjson") or head == "{"
        if jsonl:
            for n, text in enumerate(f, 1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise InputError([Problem(path, n, "", f"invalid JSON: {exc.msg}")]) from None
                if not isinstance(row, dict):
                    raise InputError([Problem(path, n, "", "each line must be a JSON object")])
                yield _event(path, n, row)
        else:
            reader = csv.DictReader(f)
            for row in reader:
                yield _event(path, reader.line_num, row)


def simulate(events: Iterable[tuple[Event, bool]] | Iterable[Event], policy: Policy, slos: Sequence[SLO],
             until: float = 0.0, step: float | None = None, file: str = "events") -> Iterator[dict[str, Any]]:
    """Transitions as JSON-ready dicts, in time order. `until`: seconds to go on after the last event."""
    clock: ManualClock | None = None
    decisions = Decisions(logger=log)
    out: list[Transition] = []
    decisions.listeners.append(out.append)
    runtime: Runtime | None = None
    next_eval = 0.0
    iso = False
    by_id: dict[str, list[SLO]] = {}  # event files name SLOs as policy files do: `service-name`
    for s in slos:
        by_id.setdefault(s.id, []).append(s)

    def run_until(t: float) -> Iterator[dict[str, Any]]:
        nonlocal next_eval
        assert clock is not None and runtime is not None
        while next_eval <= t:
            clock.set(next_eval)
            runtime.evaluate()
            next_eval += every
            while out:
                yield _json(out.pop(0), iso)

    every = 0.0
    for item in events:
        event, iso = item if isinstance(item, tuple) else (item, False)
        found = by_id.get(event.slo, [])
        if len(found) != 1:
            message = (f"{event.slo!r} names " + " and ".join(f"SLO {s.name!r} of service {s.service!r}" for s in found)
                       if found else f"no SLO {event.slo!r} in the specs (known: {', '.join(sorted(by_id))})")
            raise InputError([Problem(file, event.line, "", message)])
        if clock is None:
            clock = ManualClock(event.time)
            runtime = Runtime(policy, slos, clock=clock, decisions=decisions, environ={})
            every = step or runtime.evaluate_every
            next_eval = event.time
        elif event.time < clock.now:
            raise InputError([Problem(file, event.line, "", f"time goes back ({event.time} < {clock.now})")])
        yield from run_until(event.time - 1e-9)
        clock.set(max(clock.now, event.time))
        assert runtime is not None and runtime.engine is not None
        runtime.engine.record(found[0].key, event.good, event.bad)
    if clock is not None:
        yield from run_until(clock.now + until)


def _json(t: Transition, iso: bool) -> dict[str, Any]:
    record = t.as_json()
    if iso:
        record["time"] = datetime.fromtimestamp(t.time, UTC).isoformat().replace("+00:00", "Z")
    return record
