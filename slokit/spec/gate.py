"""The `gate:` section of slokit/v1 specs: what a release gate checks before a new version takes more traffic.

    gate:
      budget: {min_remaining: 25%}            # remaining error budget of the period
      burn: {max: 2, windows: [5m, 1h]}       # fails when every window burns faster than `max`
      canary:                                 # canary vs baseline, told apart by a label
        label: version
        canary: canary
        baseline: stable
        window: 10m
        min_requests: 200                     # per side; fewer gives "cannot decide" (exit 3)
        confidence: 0.95                      # one-sided Fisher's exact test
        tolerance: 0.1%                       # an increase smaller than this never fails
      stop: {error_ratio: 0.5%, for: 2m}      # the (canary's) error ratio above this for 2m stops the stage

A per-SLO `gate:` replaces the top-level one. The section is read once, at load time, into `SLO.gate`;
`effective()` fills what it leaves out from the SLO's window table (the first page tier's factor and windows).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from slokit import names, promql
from slokit.spec.model import SLO, HttpSLI, LatencySLI
from slokit.spec.source import Doc, Fields, Path, number, short


@dataclass(frozen=True)
class Canary:
    label: str = "version"
    canary: str = "canary"
    baseline: str = "stable"
    window: int = 600  # seconds of traffic compared
    min_requests: int = 100  # per side, in the window
    confidence: float = 0.95  # 1 - the test's significance level
    tolerance: float = 0.0  # absolute error-ratio increase tolerated even when significant


@dataclass(frozen=True)
class Stop:
    error_ratio: float
    for_: int  # seconds the ratio must stay above the threshold


@dataclass(frozen=True)
class GateSpec:
    min_budget_remaining: float | None = 0.0  # share of the period's budget; None: no budget check
    max_burn: float | None = None  # None: the first page tier's factor
    burn_windows: tuple[int, ...] = ()  # (): the first page tier's short and long windows
    canary: Canary | None = None
    stop: Stop | None = None


def ratio(doc: Doc, path: Path, value: object) -> float:
    """A share written as 0.005 or "0.5%"; must lie in [0, 1]."""
    text = value.strip() if isinstance(value, str) else value
    percent = isinstance(text, str) and text.endswith("%")
    found = number(text[:-1] if isinstance(text, str) and percent else text)
    if found is None:
        doc.error(path, f"must be a ratio like 0.005 or a percentage like 0.5%, got {short(value)}")
        return 0.0
    share = found / 100 if percent else found
    if not 0 <= share <= 1:
        doc.error(path, "must be between 0 and 1 (0% and 100%)")
    return share


def _duration(doc: Doc, path: Path, value: object, default: int) -> int:
    return int(doc.duration(path, value, default, minimum=1))


def parse(doc: Doc, path: Path, value: Any) -> GateSpec:
    """A `gate:` mapping into a GateSpec; problems go to `doc` with their line and field path."""
    f = Fields(doc, path, value, ("budget", "burn", "canary", "stop"))
    spec = GateSpec()
    if not f.ok:
        return spec
    min_remaining: float | None = 0.0
    if f.raw("budget") is False:
        min_remaining = None
    elif f.has("budget"):
        b = Fields(doc, f.at("budget"), f.raw("budget"), ("min_remaining",))
        min_remaining = ratio(doc, b.at("min_remaining"), b.raw("min_remaining", 0.0))
    max_burn: float | None = None
    burn_windows: tuple[int, ...] = ()
    if f.has("burn"):
        b = Fields(doc, f.at("burn"), f.raw("burn"), ("max", "windows"))
        max_burn = b.num("max")
        if max_burn is not None and max_burn <= 0:
            doc.error(b.at("max"), "must be positive")
        burn_windows = tuple(_duration(doc, b.at("windows") + (i,), w, 60) for i, w in enumerate(b.list("windows")))
    return GateSpec(min_remaining, max_burn, burn_windows, _canary(doc, f) if f.has("canary") else None,
                    _stop(doc, f) if f.has("stop") else None)


def _canary(doc: Doc, f: Fields) -> Canary:
    c = Fields(doc, f.at("canary"), f.raw("canary"), ("label", "canary", "baseline", "window", "min_requests",
                                                      "confidence", "tolerance"))
    d = Canary()
    label = c.str("label", d.label) or d.label
    if not promql.is_label_name(label):
        doc.error(c.at("label"), f"{label!r} is not a label name")
    min_requests = int(c.num("min_requests", d.min_requests) or 0)
    if min_requests < 1:
        doc.error(c.at("min_requests"), "must be at least 1: a canary with no traffic cannot pass")
    confidence = c.num("confidence", d.confidence) or 0.0
    if not 0.5 <= confidence < 1:
        doc.error(c.at("confidence"), "must be at least 0.5 and below 1 (e.g. 0.95)")
    return Canary(label, c.str("canary", d.canary) or d.canary, c.str("baseline", d.baseline) or d.baseline,
                  _duration(doc, c.at("window"), c.raw("window"), d.window), min_requests, confidence,
                  ratio(doc, c.at("tolerance"), c.raw("tolerance", 0.0)))


def _stop(doc: Doc, f: Fields) -> Stop:
    s = Fields(doc, f.at("stop"), f.raw("stop"), ("error_ratio", "for"), required=("error_ratio", "for"))
    return Stop(ratio(doc, s.at("error_ratio"), s.raw("error_ratio", 0.0)),
                _duration(doc, s.at("for"), s.raw("for"), 60))


def read(doc: Doc, path: Path, value: Any, slo: SLO) -> GateSpec:
    """The gate section that applies to `slo` (its own at `path`, or the top-level one), checked against it.

    The top-level section is read once per SLO it applies to: each problem is reported once."""
    scratch = Doc(doc.file, doc.data, doc.marks, [], doc.base)
    spec = parse(scratch, path, value)
    if spec.canary and not isinstance(slo.sli, (HttpSLI, LatencySLI)):
        scratch.error(path + ("canary",), f"slo {slo.name!r}: a canary comparison needs an http or latency SLI, whose "
                                          "series slokit can split by a label (events and raw queries are opaque)")
    doc.problems.extend(p for p in scratch.problems if p not in doc.problems)
    return spec


def effective(slo: SLO) -> GateSpec:
    """The SLO's gate with what its section leaves out (or all of it, without one) from the window table."""
    spec = slo.gate or GateSpec()
    page = slo.table.by_severity(names.PAGE)[0]
    return replace(spec, max_burn=spec.max_burn if spec.max_burn is not None else page.factor,
                   burn_windows=spec.burn_windows or page.seconds)
