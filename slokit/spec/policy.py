"""Degrade policy: which SLO burn opens which breaker and turns off which switch, and when it recovers.

Read from a policy file (`version: slokit/policy/v1`) or from the `policy:` sections of slokit/v1 specs,
with the spec readers' file:line errors. Windows must be windows of the SLO's table (slokit.windows), so
a rule means the same in the app as the generated alerts mean in Prometheus. Rules name SLOs by the id
`service-name`; the model keeps the SLO's key `(service, name)`. See docs/runtime.md.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any

from slokit import names, promql, windows
from slokit.errors import Problem, SpecError
from slokit.spec.source import Doc, Fields, Path, number, read_documents

if TYPE_CHECKING:
    from slokit.spec.model import SLO

VERSION = "slokit/policy/v1"
IF_UNKNOWN = ("inactive", "active")
MODES = ("normal", "forced_open", "disabled", "metrics_only")
WINDOW_TYPES = ("count", "time")

SLOKey = tuple[str, str]  # (service, name)


@dataclass(frozen=True)
class Ramp:
    """Gradual release: leaving the degraded state, admit `steps` percent of the traffic in turn, each for
    `every` seconds, then all of it. No steps: straight back to full traffic."""

    steps: tuple[float, ...] = (10.0, 50.0)  # percent, rising, each in (0, 100)
    every: float = 60.0  # seconds per step

    def __post_init__(self) -> None:
        if any(not 0 < s < 100 for s in self.steps) or list(self.steps) != sorted(set(self.steps)):
            raise ValueError("ramp steps must rise, each above 0 and below 100 (percent)")
        if self.every <= 0:
            raise ValueError("a ramp step needs a positive duration")


@dataclass(frozen=True)
class BreakerConfig:
    """A breaker's settings, named as in the policy file's `breakers:` section."""

    failure_rate: float | None = 50.0  # percent of calls in the window that failed; None: off
    slow_call_rate: float = 100.0  # percent of calls slower than slow_call
    slow_call: float = 60.0  # seconds
    window: str = "count"  # "count": the last window_size calls; "time": the last window_size seconds
    window_size: int = 100
    min_calls: int = 10
    open_for: float = 30.0  # seconds open before the first probes
    open_for_max: float = 0.0  # probing backs off (doubling) up to this while probes fail; 0: 10 x open_for
    half_open_probes: int = 5
    mode: str = "normal"  # normal | forced_open | disabled | metrics_only
    ramp: Ramp = Ramp()
    recover_failure_rate: float | None = None  # percent of probe and ramp calls allowed to fail; None: derived
    fallback: bool = False  # the app answers refused calls itself: a refusal does not fail a request

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if self.window not in WINDOW_TYPES:
            raise ValueError(f"window must be one of {', '.join(WINDOW_TYPES)}")
        if self.window_size < 1 or self.min_calls < 1 or self.half_open_probes < 1:
            raise ValueError("window_size, min_calls and half_open_probes must be at least 1")

    @property
    def max_open(self) -> float:
        """The longest wait between probe rounds."""
        return max(self.open_for, self.open_for_max or 10 * self.open_for)


@dataclass(frozen=True)
class Rule:
    """While `slo` burns at `severity` (the alert's conditions) or above `burn_above` over every one of
    `windows`, the rule is active: its breakers are held open and its switches off. It turns inactive
    when every `recover_windows` burn stays below `recover_below` for `hold` seconds and the probes of its
    breakers pass. A rule that trips again within `reset_after` of recovering holds `damping` times longer
    (up to `max_hold`), so a dependency that keeps failing is not let back in every hold time."""

    name: str
    slo: SLOKey
    severity: str | None = None  # "page" | "ticket"
    burn_above: float | None = None
    windows: tuple[int, ...] = ()  # seconds; with burn_above
    recover_below: float = 1.0
    recover_windows: tuple[int, ...] = ()  # seconds; default: every window the trip condition reads
    hold: float = 0.0
    damping: float = 2.0  # factor the hold grows by per quick re-trip; 1: off
    max_hold: float = 0.0  # cap of the damped hold; 0: 8 x hold
    reset_after: float = 0.0  # a trip this long after the last recovery starts from `hold` again; 0: max hold
    if_unknown: str = "inactive"  # when the source has no answer (stale): fail open by default
    open_breakers: tuple[str, ...] = ()
    disable_switches: tuple[str, ...] = ()

    @property
    def slo_id(self) -> str:
        """The SLO as policy files and messages write it: `service-name`."""
        return f"{self.slo[0]}-{self.slo[1]}"

    @property
    def hold_cap(self) -> float:
        return max(self.hold, self.max_hold or 8 * self.hold)

    @property
    def quiet(self) -> float:
        """How long after a recovery a new trip counts as a re-trip (and lengthens the hold)."""
        return self.reset_after or self.hold_cap

    def damped_hold(self, retrips: int) -> float:
        """The hold after `retrips` quick re-trips in a row."""
        return min(self.hold * self.damping ** retrips, self.hold_cap)

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(f"breaker:{b}" for b in self.open_breakers) + tuple(f"switch:{s}" for s in self.disable_switches)


@dataclass(frozen=True)
class SourceConfig:
    """A Prometheus-compatible API to read the recorded burn from, instead of the in-process engine."""

    url: str
    poll: float = 30.0
    timeout: float = 2.0
    auth_header_env: str | None = None  # env var holding the whole Authorization header value
    stale_after: float = 300.0  # hold the last answer this long, then the rules' if_unknown applies


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = ()
    breakers: dict[str, BreakerConfig] = field(default_factory=dict)
    switches: dict[str, bool] = field(default_factory=dict)  # name -> default state
    source: SourceConfig | None = None
    evaluate_every: float | None = None  # default: the smallest engine bucket
    overrides_file: str | None = None  # switch overrides (name: on|off|auto), re-read on reload
    switch_ramps: dict[str, Ramp] = field(default_factory=dict)  # switches whose ramp is not the default
    warnings: tuple[str, ...] = field(default=(), compare=False)  # `file:line: warning: ...` (policies that can lock)

    def merge(self, other: Policy) -> Policy:
        return Policy(self.rules + other.rules, {**self.breakers, **other.breakers},
                      {**self.switches, **other.switches}, other.source or self.source,
                      other.evaluate_every or self.evaluate_every, other.overrides_file or self.overrides_file,
                      {**self.switch_ramps, **other.switch_ramps}, self.warnings + other.warnings)

    def switch_ramp(self, name: str) -> Ramp:
        return self.switch_ramps.get(name, DEFAULT_RAMP)


DEFAULT_RAMP = Ramp()

_WORDS = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False, "auto": None, "": None}


def parse_override(value: Any) -> bool | None:
    """A switch word: on/off/auto (also true/false/1/0); None means "let the policy decide"."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in _WORDS:
        raise ValueError(f"{value!r} is not on, off or auto")
    return _WORDS[word]


# -- reading ------------------------------------------------------------------------------------------------

def _names(doc: Doc, path: Path, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            doc.error(path + ((i,) if isinstance(value, list) else ()), "must be a name")
        else:
            out.append(item)
    return tuple(out)


def _windows(doc: Doc, path: Path, value: Any, table: windows.WindowTable | None) -> tuple[int, ...]:
    out = []
    items = value if isinstance(value, list) else [value]
    allowed = {w.seconds: w.name for w in table.windows} if table else {}
    for i, item in enumerate(items):
        p = path + ((i,) if isinstance(value, list) else ())
        seconds = doc.duration(p, item, -1)
        if seconds < 0:
            continue
        if table and int(seconds) not in allowed:
            doc.error(p, f"{item} is not a window of this SLO's table; use one of {', '.join(allowed.values())}")
            continue
        out.append(int(seconds))
    return tuple(out)


class _SLOs:
    """The SLOs a rule may name: by key, and by the `service-name` id policy files use."""

    def __init__(self, slos: Iterable[SLO]):
        self.by_key = {s.key: s for s in slos}
        self.by_id: dict[str, list[SLO]] = {}
        for s in self.by_key.values():
            self.by_id.setdefault(s.id, []).append(s)

    def find(self, doc: Doc, path: Path, ref: str) -> SLO | None:
        """The one SLO `ref` names, or None with a problem at `path` (unknown, or two SLOs share the id)."""
        found = self.by_id.get(ref, [])
        if len(found) == 1:
            return found[0]
        if found:
            both = " and ".join(f"SLO {s.name!r} of service {s.service!r}" + (
                f" ({s.source.file}:{s.source.line})" if s.source else "") for s in found)
            doc.error(path, f"{ref!r} names {both}; rename one, or put the rule in that SLO's own policy section")
            return None
        close = difflib.get_close_matches(ref, list(self.by_id), n=1)
        known = sorted(self.by_id)
        hint = f" (did you mean {close[0]!r}?)" if close else (f" (known: {', '.join(known)})" if known else "")
        doc.error(path, f"no SLO {ref!r} in the specs{hint}")
        return None


def _rule(doc: Doc, path: Path, value: Any, slos: _SLOs, default_slo: SLOKey | None) -> Rule | None:
    f = Fields(doc, path, value, ("name", "slo", "when", "recover", "if_unknown", "open_breakers",
                                  "disable_switches"), required=("name", "when"))
    if not f.ok:
        return None
    ref = f.str("slo")
    slo: SLO | None = None
    if ref is not None:
        slo = slos.find(doc, f.at("slo"), ref)
    elif default_slo is not None:
        slo = slos.by_key.get(default_slo)
    else:
        doc.error(f.at("slo"), "is required")
    table = slo.table if slo else None
    when = Fields(doc, f.at("when"), f.raw("when", {}), ("severity", "burn_above", "windows"))
    severity = when.str("severity")
    burn_above = when.num("burn_above")
    trip_windows = _windows(doc, when.at("windows"), when.raw("windows"), table) if when.has("windows") else ()
    if severity is not None and severity not in names.SEVERITIES:
        doc.error(when.at("severity"), f"must be one of {', '.join(names.SEVERITIES)}")
    if when.ok and (severity is None) == (burn_above is None):
        doc.error(f.at("when"), "needs either severity (page|ticket) or burn_above with windows")
    if burn_above is not None and not trip_windows:
        doc.error(when.at("windows"), "is required with burn_above")
    if burn_above is not None and burn_above <= 0:
        doc.error(when.at("burn_above"), "must be positive")
    if severity is not None and trip_windows:
        doc.error(when.at("windows"), "goes with burn_above; severity uses the table's windows")
    rec = Fields(doc, f.at("recover"), f.raw("recover", {}), ("burn_below", "windows", "hold", "damping"))
    recover_below = rec.num("burn_below", 1.0) or 0.0
    if recover_below <= 0:
        doc.error(rec.at("burn_below"), "must be positive")
    tier = table.by_severity(severity) if table and severity in names.SEVERITIES else ()
    lowest_trip = burn_above if burn_above is not None else min((c.factor for c in tier), default=None)
    if lowest_trip is not None and recover_below > lowest_trip:
        doc.error(rec.at("burn_below"), f"{recover_below:g} is above the trip threshold {lowest_trip:g}: "
                                        "the rule would flap; recover below a lower burn (hysteresis)")
    # By default a rule recovers on the short window of each trip condition (the shortest of `windows`):
    # they clear soon after the fault ends, and once they are low no trip condition can hold (each needs
    # its short window too), so a recovered rule does not trip again on the errors that tripped it.
    if rec.has("windows"):
        recover_windows = _windows(doc, rec.at("windows"), rec.raw("windows"), table)
    elif tier:
        recover_windows = tuple(sorted({c.short.seconds for c in tier}))
    else:
        recover_windows = (min(trip_windows),) if trip_windows else ()
    default_hold = float(table.shortest.seconds) if table else 0.0
    hold = doc.duration(rec.at("hold"), rec.raw("hold"), default_hold)
    damping, max_hold, reset_after = _damping(doc, rec.at("damping"), rec.data.get("damping"), hold)
    if_unknown = f.str("if_unknown", "inactive")
    if if_unknown not in IF_UNKNOWN:
        doc.error(f.at("if_unknown"), f"must be one of {', '.join(IF_UNKNOWN)}")
    rule = Rule(
        name=f.str("name") or "", slo=slo.key if slo else (default_slo or ("", "")), severity=severity,
        burn_above=burn_above, windows=trip_windows, recover_below=recover_below, recover_windows=recover_windows,
        hold=hold, damping=damping, max_hold=max_hold, reset_after=reset_after,
        if_unknown=if_unknown or "inactive",
        open_breakers=_names(doc, f.at("open_breakers"), f.raw("open_breakers")),
        disable_switches=_names(doc, f.at("disable_switches"), f.raw("disable_switches")),
    )
    if not rule.targets:
        doc.error(path, "needs open_breakers or disable_switches (a rule that does nothing is a mistake)")
    return rule


def _show(seconds: float) -> str:
    """A duration for messages: `10m`, `1h30m`, `0s`, `2.5s`."""
    return promql.format_duration(int(seconds)) if seconds >= 1 and seconds == int(seconds) else f"{seconds:g}s"


def _off(value: Any) -> bool:
    """`off` (YAML reads it as false) or the word itself: a feature turned off."""
    return value is False or (isinstance(value, str) and value.strip().lower() == "off")


def _ramp(doc: Doc, path: Path, value: Any, default: Ramp) -> Ramp:
    """`ramp: {steps: [10, 50], every: 1m}` (steps in percent, `10%` also reads), or `ramp: off`."""
    if value is None:
        return default
    if _off(value):
        return Ramp(steps=())
    f = Fields(doc, path, value, ("steps", "every"))
    steps = list(default.steps)
    raw = f.raw("steps")
    if raw is not None:
        items = raw if isinstance(raw, list) else [raw]
        steps = []
        for i, item in enumerate(items):
            found = number(str(item).strip().removesuffix("%")) if not isinstance(item, bool) else None
            if found is None or not 0 < found < 100:
                doc.error(f.at("steps") + (i,), "must be a percentage above 0 and below 100")
                continue
            steps.append(found)
        if steps != sorted(set(steps)):
            doc.error(f.at("steps"), "must rise (e.g. [10, 50]): each step admits more traffic")
            steps = sorted(set(steps))
    every = doc.duration(f.at("every"), f.raw("every"), default.every)
    if every <= 0:
        doc.error(f.at("every"), "must be positive")
        every = default.every
    return Ramp(tuple(steps), every)


def _damping(doc: Doc, path: Path, value: Any, hold: float) -> tuple[float, float, float]:
    """(factor, max_hold, reset_after) from `damping: {factor: 2, max_hold: 1h, reset_after: 2h}` or `off`."""
    d = Rule("", ("", ""))
    if value is None:
        return d.damping, d.max_hold, d.reset_after
    if _off(value):
        return 1.0, 0.0, 0.0
    f = Fields(doc, path, value, ("factor", "max_hold", "reset_after"))
    factor = f.num("factor", d.damping)
    if factor < 1:
        doc.error(f.at("factor"), "must be at least 1 (1: every hold is as long as the first)")
        factor = d.damping
    max_hold = doc.duration(f.at("max_hold"), f.raw("max_hold"), 0.0)
    if max_hold and max_hold < hold:
        doc.error(f.at("max_hold"), f"must not be below the hold ({_show(hold)})")
    return factor, max_hold, doc.duration(f.at("reset_after"), f.raw("reset_after"), 0.0)


def _breaker(doc: Doc, path: Path, value: Any) -> BreakerConfig:
    d = BreakerConfig()
    f = Fields(doc, path, value if value is not None else {}, [x.name for x in fields(BreakerConfig)])
    rates: dict[str, float | None] = {}
    for key, default in (("failure_rate", d.failure_rate), ("slow_call_rate", d.slow_call_rate),
                         ("recover_failure_rate", d.recover_failure_rate)):
        raw = f.data.get(key)
        if key == "failure_rate" and _off(raw):
            rates[key] = None  # the breaker opens only when the policy says so
            continue
        v = f.num(key)
        if v is not None and not (0 <= v <= 100 if key == "recover_failure_rate" else 0 < v <= 100):
            doc.error(f.at(key), "must be a percentage in " + ("[0, 100]" if key == "recover_failure_rate"
                                                               else "(0, 100]"))
            v = None
        rates[key] = default if v is None else (v if key == "recover_failure_rate" else min(100.0, max(1e-9, v)))
    ints = {}
    for key, default in (("window_size", d.window_size), ("min_calls", d.min_calls),
                         ("half_open_probes", d.half_open_probes)):
        v = f.num(key, default)
        if v is None or v < 1 or v != int(v):
            doc.error(f.at(key), "must be a whole number of at least 1")
            v = default
        ints[key] = int(v)
    window, mode = f.str("window", d.window) or d.window, f.str("mode", d.mode) or d.mode
    if window not in WINDOW_TYPES:
        doc.error(f.at("window"), f"must be one of {', '.join(WINDOW_TYPES)}")
        window = d.window
    if mode not in MODES:
        doc.error(f.at("mode"), f"must be one of {', '.join(MODES)}")
        mode = d.mode
    open_for = doc.duration(f.at("open_for"), f.raw("open_for"), d.open_for)
    open_for_max = doc.duration(f.at("open_for_max"), f.raw("open_for_max"), 0.0)
    if open_for_max and open_for_max < open_for:
        doc.error(f.at("open_for_max"), f"must not be below open_for ({_show(open_for)})")
        open_for_max = 0.0
    return BreakerConfig(
        failure_rate=rates["failure_rate"], slow_call_rate=rates["slow_call_rate"] or d.slow_call_rate,
        slow_call=doc.duration(f.at("slow_call"), f.raw("slow_call"), d.slow_call),
        window=window, window_size=ints["window_size"], min_calls=ints["min_calls"],
        open_for=open_for, open_for_max=open_for_max,
        half_open_probes=ints["half_open_probes"], mode=mode,
        ramp=_ramp(doc, f.at("ramp"), f.data.get("ramp"), d.ramp),
        recover_failure_rate=rates["recover_failure_rate"], fallback=f.bool("fallback", False))


def _source(doc: Doc, path: Path, value: Any) -> SourceConfig | None:
    f = Fields(doc, path, value, ("prometheus",), required=("prometheus",))
    p = Fields(doc, f.at("prometheus"), f.raw("prometheus", {}),
               ("url", "poll", "timeout", "auth_header_env", "stale_after"), required=("url",))
    url = p.str("url", "") or ""
    if url and not url.startswith(("http://", "https://")):
        doc.error(p.at("url"), "must start with http:// or https://")
    timeout = doc.duration(p.at("timeout"), p.raw("timeout"), 2.0)
    poll = doc.duration(p.at("poll"), p.raw("poll"), 30.0)
    if timeout <= 0 or poll <= 0:
        doc.error(p.at("poll" if poll <= 0 else "timeout"), "must be positive")
    return SourceConfig(url=url, poll=poll, timeout=timeout, auth_header_env=p.str("auth_header_env"),
                        stale_after=doc.duration(p.at("stale_after"), p.raw("stale_after"), 300.0))


def read_section(doc: Doc, path: Path, value: Any, slos: Iterable[SLO], default_slo: SLOKey | None = None,
                 top_level: bool = False) -> Policy:
    """A policy mapping at `path` of a document (the whole policy file, or a spec's `policy:` section);
    problems go to `doc`. Rules without `slo:` name `default_slo` (the SLO whose section it is)."""
    return _read(doc, path, value, _SLOs(slos), default_slo, top_level)


def _read(doc: Doc, path: Path, value: Any, known: _SLOs, default_slo: SLOKey | None, top_level: bool) -> Policy:
    allowed = ["rules", "breakers", "switches", "source", "evaluate_every", "overrides_file"]
    f = Fields(doc, path, value, (["version"] if top_level else []) + allowed, required=("rules",))
    if top_level and f.str("version") != VERSION:
        doc.error(f.at("version"), f"must be {VERSION}")
    numbered = [(i, r) for i, item in enumerate(f.list("rules"))
                if (r := _rule(doc, f.at("rules") + (i,), item, known, default_slo)) is not None]
    rules = [r for _, r in numbered]
    seen: set[str] = set()
    for i, r in numbered:
        if r.name in seen:
            doc.error(f.at("rules") + (i, "name"), f"duplicate rule name {r.name!r}")
        seen.add(r.name)
    breakers_raw = f.raw("breakers", {})
    breakers = {}
    if isinstance(breakers_raw, dict):
        breakers = {str(k): _breaker(doc, f.at("breakers") + (k,), v) for k, v in breakers_raw.items()}
    else:
        doc.error(f.at("breakers"), "must be a mapping of breaker name to settings")
    switches, switch_ramps = {}, {}
    switches_raw = f.raw("switches", {})
    for name, v in switches_raw.items() if isinstance(switches_raw, dict) else ():
        g = Fields(doc, f.at("switches") + (name,), v if v is not None else {}, ("default", "ramp"))
        try:
            switches[str(name)] = parse_override(g.raw("default", True)) is not False
        except ValueError as exc:
            doc.error(g.at("default"), str(exc))
        if g.data.get("ramp") is not None:
            switch_ramps[str(name)] = _ramp(doc, g.at("ramp"), g.data["ramp"], DEFAULT_RAMP)
    for r in rules:
        for b in r.open_breakers:
            breakers.setdefault(b, BreakerConfig())
        for s in r.disable_switches:
            switches.setdefault(s, True)
    source = _source(doc, f.at("source"), f.raw("source")) if f.has("source") else None
    _warn_locks(doc, f.at("rules"), numbered, breakers, source, known)
    return Policy(
        rules=tuple(rules), breakers=breakers, switches=switches, source=source,
        evaluate_every=doc.duration(f.at("evaluate_every"), f.raw("evaluate_every"), 0) or None,
        overrides_file=f.str("overrides_file"), switch_ramps=switch_ramps,
    )


def _counts_refusals(slo: SLO | None) -> bool:
    """Does a refused call (a fast failure) count against this SLO? Not against a latency SLO."""
    if slo is None:
        return False
    return slo.sli_kind != "latency" and getattr(slo.sli, "latency", None) is None


def _warn_locks(doc: Doc, path: Path, rules: list[tuple[int, Rule]], breakers: dict[str, BreakerConfig],
                source: SourceConfig | None, known: _SLOs) -> None:
    """Warnings for rules that can hold their targets longer than they say, or for ever (`slokit validate`)."""
    for i, rule in rules:
        at = path + (i,)
        slo = known.by_key.get(rule.slo)
        if slo is None:  # the rule names no SLO: that is the problem to fix first
            continue
        for j, name in enumerate(rule.open_breakers):
            config = breakers.get(name, BreakerConfig())
            if source is not None and not config.fallback and _counts_refusals(slo):
                doc.warn(at + ("open_breakers", j), f"while this rule holds breaker {name!r} open, its refused calls "
                         f"fail requests of {rule.slo_id}, and the Prometheus source counts them as errors: the rule "
                         "can keep itself active after the dependency is back (a lock-out). Answer refusals from a "
                         f"fallback and declare it (breakers.{name}.fallback: true), or use the in-process engine, "
                         "which leaves refusals out of the rule's burn")
            if rule.hold < config.open_for:
                doc.warn(at + ("recover", "hold"), f"the hold ({_show(rule.hold)}) is shorter than "
                         f"breaker {name!r}'s open_for ({_show(config.open_for)}): the rule can end "
                         "before the breaker has probed the dependency, and its ramp then probes with real traffic")
        needed = _short_windows(rule, slo)
        slow = [w for w in rule.recover_windows if w > rule.hold and w not in needed]
        if slow:
            at_windows = at + ("recover", "windows")
            field_path = at_windows if doc.line(at_windows) != doc.line(at) else at + ("recover",)
            doc.warn(field_path, f"recovery window {_show(max(slow))} is longer than the hold ({_show(rule.hold)}) "
                     "and no trip condition needs it (their short windows are "
                     f"{', '.join(_show(w) for w in sorted(needed))}): the errors that tripped the rule stay in it "
                     f"for up to {_show(max(slow))}, so the rule can stay active that long after the fault ends, "
                     f"not {_show(rule.hold)}; recover on the short windows")


def _short_windows(rule: Rule, slo: SLO) -> set[int]:
    """The windows whose being low means no trip condition of the rule can hold: each condition's short one."""
    if rule.burn_above is not None:
        return {min(rule.windows)} if rule.windows else set()
    return {c.short.seconds for c in slo.table.by_severity(rule.severity or "")}


@dataclass(frozen=True)
class Section:
    """A `policy:` section of a slokit/v1 document, kept until every SLO is read (a rule may name any SLO)."""

    doc: Doc
    path: Path
    value: Any
    default_slo: SLOKey | None = None  # the SLO a section inside `slos[i]` belongs to


def sections(doc: Doc) -> list[Section]:
    """The service-level `policy:` and every `slos[i].policy` of one slokit/v1 document."""
    data = doc.data
    if not isinstance(data, dict):
        return []
    out = []
    if data.get("policy") is not None:
        out.append(Section(doc, ("policy",), data["policy"]))
    items = data.get("slos")
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("policy") is not None:
            key = (str(data.get("service")), str(item.get("name")))
            out.append(Section(doc, ("slos", i, "policy"), item["policy"], key))
    return out


def read_sections(found: Iterable[Section], slos: Sequence[SLO]) -> Policy:
    """Every section read against all SLOs, merged in order; problems go to each section's document."""
    policy, known = Policy(), _SLOs(slos)
    for s in found:
        policy = policy.merge(_read(s.doc, s.path, s.value, known, s.default_slo, False))
    return policy


def parse_policy(file: str, text: str, slos: Sequence[SLO]) -> Policy:
    """A policy file's text, or SpecError with every `file:line: field.path: message`."""
    docs = read_documents(file, text)
    if len(docs) != 1:
        raise SpecError([Problem(file, 1, "", f"a policy file holds one YAML document, found {len(docs)}")])
    doc = docs[0]
    policy = read_section(doc, (), doc.data, slos, top_level=True)
    if doc.errors:
        raise SpecError(doc.problems)
    warnings = sorted((p for p in doc.problems if p.warning), key=lambda p: p.line)
    return replace(policy, warnings=tuple(str(p) for p in warnings))


_POLICY_VERSION = re.compile(rf"^version:\s*['\"]?{re.escape(VERSION)}['\"]?\s*(#.*)?$", re.MULTILINE)


def policy_files(files: Iterable[str]) -> list[str]:
    """The policy files (`version: slokit/policy/v1`) among spec files, which the spec loader skips."""
    found = []
    for file in files:
        try:
            text = FilePath(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the spec loader reports it
        if _POLICY_VERSION.search(text):
            found.append(file)
    return found


def load_policy(path: str, slos: Sequence[SLO]) -> Policy:
    """A policy file, or SpecError (also when it cannot be read)."""
    try:
        text = FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(path, 0, "", f"cannot read: {exc}")]) from None
    return parse_policy(path, text, slos)
