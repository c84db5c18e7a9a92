"""Closed-loop scenarios (`version: slokit/scenario/v1`): traffic, a dependency that fails on a schedule,
and what the policy must achieve, for `slokit simulate --closed-loop` (slokit.runtime.closedloop).

    version: slokit/scenario/v1
    duration: 3h30m
    traffic: {slo: checkout-availability, rate: 10, users: 1000, features: [recommendations]}
    dependency:
      breaker: payments          # every request calls the dependency through this breaker of the policy
      fallback: false            # a refused call fails the request (true: a fallback answers it)
      latency: 50ms
      faults:
        - {from: 1h, to: 3h, down: true}
    expect: {trip_within: 2m, close_within: 15m, max_broken_calls: 1%, max_trips: 1}

Read with the specs' readers, so a mistake reads `scenario.yml:7: dependency.faults[0].to: ...`. See
docs/runtime.md, "Closed-loop simulation".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from slokit.errors import InputError, Problem
from slokit.spec.source import Doc, Fields, Path, number, read_documents

VERSION = "slokit/scenario/v1"


@dataclass(frozen=True)
class Fault:
    """From `start` to `end` (seconds into the run) `error_ratio` of the calls fail (spread evenly), each
    taking `latency` seconds (None: the dependency's usual latency)."""

    start: float
    end: float
    error_ratio: float
    latency: float | None = None
    line: int = 0

    @property
    def broken(self) -> bool:
        return self.error_ratio > 0


@dataclass(frozen=True)
class Expect:
    """What a trusted policy achieves for every fault that breaks the dependency; None: not checked."""

    trip_within: float | None = None  # seconds from the fault's start to the breaker leaving closed
    close_within: float | None = None  # seconds from the fault's end to the breaker closed again
    max_broken_calls: float | None = None  # share of the requests after the trip that may reach it
    max_trips: int | None = None  # trips per fault (more is flapping)
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # field -> line, for messages


@dataclass(frozen=True)
class Scenario:
    file: str
    duration: float
    slo: str  # the SLO id whose route the traffic hits (its service's other SLOs of that route count too)
    rate: float  # requests per second, evenly spaced
    breaker: str
    users: int = 1000  # keys `user-0` .. passed to the breaker and the features (0: no keys)
    features: tuple[str, ...] = ()  # switches every request asks about
    fallback: bool = False
    latency: float = 0.05
    faults: tuple[Fault, ...] = ()
    expect: Expect = field(default_factory=Expect)
    evaluate_every: float | None = None
    line: int = 0  # of `dependency.breaker`, for messages about it


def _share(doc: Doc, f: Fields, key: str, default: float | None) -> float | None:
    """A ratio written 0.01 or 1%."""
    raw = f.data.get(key)
    if raw is None:
        return default
    text = str(raw).strip()
    value = number(text.removesuffix("%")) if not isinstance(raw, bool) else None
    if value is not None and text.endswith("%"):
        value /= 100
    if value is None or not 0 <= value <= 1:
        doc.error(f.at(key), "must be a share between 0 and 1 (or a percentage like 1%)")
        return default
    return value


def _fault(doc: Doc, path: Path, value: Any, duration: float) -> Fault | None:
    f = Fields(doc, path, value, ("from", "to", "down", "error_ratio", "latency"), required=("from", "to"))
    if not f.ok:
        return None
    start = doc.duration(f.at("from"), f.raw("from"), 0.0)
    end = doc.duration(f.at("to"), f.raw("to"), 0.0)
    if end <= start:
        doc.error(f.at("to"), "must be after `from`")
    elif duration and end > duration:
        doc.error(f.at("to"), "is after the end of the scenario (`duration`)")
    down = f.bool("down", False)
    ratio = _share(doc, f, "error_ratio", None)
    latency = doc.duration(f.at("latency"), f.raw("latency"), 0.0) if f.has("latency") else None
    if down and ratio is not None:
        doc.error(f.at("error_ratio"), "goes without `down: true` (down means every call fails)")
    if not down and not f.has("error_ratio") and latency is None:
        doc.error(path, "needs down: true, error_ratio or latency")
    return Fault(start, end, 1.0 if down else ratio or 0.0, latency, doc.line(path))


def read_scenario(file: str, text: str) -> Scenario:
    """A scenario file's text, or InputError with every `file:line: field: message`."""
    docs = read_documents(file, text)
    if len(docs) != 1:
        raise InputError([Problem(file, 1, "", f"a scenario file holds one YAML document, found {len(docs)}")])
    doc = docs[0]
    f = Fields(doc, (), doc.data, ("version", "duration", "evaluate_every", "traffic", "dependency", "expect"),
               required=("version", "duration", "traffic", "dependency"))
    if f.ok and f.str("version") != VERSION:
        doc.error(f.at("version"), f"must be {VERSION}")
    duration = doc.duration(f.at("duration"), f.raw("duration"), 0.0)
    if f.has("duration") and duration <= 0:
        doc.error(f.at("duration"), "must be positive")
    t = Fields(doc, f.at("traffic"), f.raw("traffic", {}), ("slo", "rate", "users", "features"),
               required=("slo", "rate"))
    rate = t.num("rate", 1.0)
    if t.has("rate") and not 0 < rate <= 10_000:
        doc.error(t.at("rate"), "must be a number of requests per second above 0 (at most 10000)")
    users = t.num("users", 1000)
    if users < 0 or users != int(users):
        doc.error(t.at("users"), "must be a whole number (0: requests carry no key)")
    features = t.raw("features", [])
    if not isinstance(features, list) or not all(isinstance(x, str) and x for x in features):
        doc.error(t.at("features"), "must be a list of switch names")
        features = []
    d = Fields(doc, f.at("dependency"), f.raw("dependency", {}), ("breaker", "fallback", "latency", "faults"),
               required=("breaker",))
    faults = [x for i, item in enumerate(d.list("faults"))
              if (x := _fault(doc, d.at("faults") + (i,), item, duration)) is not None]
    for i, (a, b) in enumerate(zip(faults, faults[1:], strict=False)):
        if b.start < a.end:
            doc.error(d.at("faults") + (i + 1, "from"), "overlaps the fault before it (list faults in time order)")
    e = Fields(doc, f.at("expect"), f.raw("expect", {}), ("trip_within", "close_within", "max_broken_calls",
                                                            "max_trips"))
    max_trips = e.num("max_trips")
    if max_trips is not None and (max_trips < 1 or max_trips != int(max_trips)):
        doc.error(e.at("max_trips"), "must be a whole number of at least 1")
    expect = Expect(
        trip_within=doc.duration(e.at("trip_within"), e.raw("trip_within"), 0.0) if e.has("trip_within") else None,
        close_within=doc.duration(e.at("close_within"), e.raw("close_within"), 0.0)
        if e.has("close_within") else None,
        max_broken_calls=_share(doc, e, "max_broken_calls", None),
        max_trips=int(max_trips) if max_trips is not None and max_trips >= 1 else None,
        lines={key: doc.line(e.at(key)) for key in e.data})
    every = doc.duration(f.at("evaluate_every"), f.raw("evaluate_every"), 0.0) or None
    if doc.errors:
        raise InputError(doc.problems)
    return Scenario(file=file, duration=duration, slo=t.str("slo") or "", rate=rate, breaker=d.str("breaker") or "",
                    users=int(users), features=tuple(features), fallback=d.bool("fallback", False),
                    latency=doc.duration(d.at("latency"), d.raw("latency"), 0.05), faults=tuple(faults),
                    expect=expect, evaluate_every=every, line=doc.line(d.at("breaker")))


def load_scenario(path: str) -> Scenario:
    try:
        text = FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(path, 0, "", f"cannot read: {exc}")]) from None
    return read_scenario(path, text)
