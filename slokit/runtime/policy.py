"""Degrade policy: which SLO burn opens which breaker and turns off which switch, and when it recovers.

Read from a policy file (`version: slokit/policy/v1`) or from the `policy:` section of a slokit/v1 spec,
with the spec readers' file:line errors. Windows must be windows of the SLO's table (slokit.windows), so
a rule means the same in the app as the generated alerts mean in Prometheus. See docs/runtime.md.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from slokit import names, promql, windows
from slokit.runtime.breaker import MODES, WINDOW_TYPES, BreakerConfig
from slokit.runtime.switches import parse_override
from slokit.spec.model import SLO
from slokit.spec.source import Doc, Fields, Path, Problem, SpecError, read_documents

VERSION = "slokit/policy/v1"
IF_UNKNOWN = ("inactive", "active")


@dataclass(frozen=True)
class Rule:
    """While `slo` burns at `severity` (the alert's conditions) or above `burn_above` over every one of
    `windows`, the rule is active: its breakers are held open and its switches off. It turns inactive
    when every `recover_windows` burn stays below `recover_below` for `hold` seconds."""

    name: str
    slo: str  # SLO id, service-name
    severity: str | None = None  # "page" | "ticket"
    burn_above: float | None = None
    windows: tuple[int, ...] = ()  # seconds; with burn_above
    recover_below: float = 1.0
    recover_windows: tuple[int, ...] = ()  # seconds; default: every window the trip condition reads
    hold: float = 0.0
    if_unknown: str = "inactive"  # when the source has no answer (stale): fail open by default
    open_breakers: tuple[str, ...] = ()
    disable_switches: tuple[str, ...] = ()

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

    def merge(self, other: Policy) -> Policy:
        return Policy(self.rules + other.rules, {**self.breakers, **other.breakers},
                      {**self.switches, **other.switches}, other.source or self.source,
                      other.evaluate_every or self.evaluate_every, other.overrides_file or self.overrides_file)


def _duration(doc: Doc, path: Path, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            if text.endswith("ms") and text[:-2].isdigit():
                seconds = int(text[:-2]) / 1000
            else:
                seconds = promql.parse_duration(text)
        except ValueError as exc:
            doc.error(path, str(exc))
            return default
    if seconds < 0:
        doc.error(path, "must not be negative")
        return default
    return float(seconds)


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
        seconds = _duration(doc, p, item, -1)
        if seconds < 0:
            continue
        if table and int(seconds) not in allowed:
            doc.error(p, f"{item} is not a window of this SLO's table; use one of {', '.join(allowed.values())}")
            continue
        out.append(int(seconds))
    return tuple(out)


def _rule(doc: Doc, path: Path, value: Any, slos: dict[str, SLO], default_slo: str | None) -> Rule | None:
    f = Fields(doc, path, value, ("name", "slo", "when", "recover", "if_unknown", "open_breakers",
                                  "disable_switches"), required=("name", "when"))
    if not f.ok:
        return None
    slo_id = f.str("slo", default_slo)
    slo = slos.get(slo_id or "")
    if slo_id is None:
        doc.error(f.at("slo"), "is required")
    elif slo is None:
        close = difflib.get_close_matches(slo_id, list(slos), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else (f" (known: {', '.join(sorted(slos))})" if slos else "")
        doc.error(f.at("slo"), f"no SLO {slo_id!r} in the specs{hint}")
    table = windows.table(slo.period) if slo else None
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
    rec = Fields(doc, f.at("recover"), f.raw("recover", {}), ("burn_below", "windows", "hold"))
    recover_below = rec.num("burn_below", 1.0) or 0.0
    if recover_below <= 0:
        doc.error(rec.at("burn_below"), "must be positive")
    lowest_trip = burn_above if burn_above is not None else min(
        (c.factor for c in (table.by_severity(severity) if table and severity in names.SEVERITIES else ())),
        default=None)
    if lowest_trip is not None and recover_below > lowest_trip:
        doc.error(rec.at("burn_below"), f"{recover_below:g} is above the trip threshold {lowest_trip:g}: "
                                        "the rule would flap; recover below a lower burn (hysteresis)")
    if rec.has("windows"):
        recover_windows = _windows(doc, rec.at("windows"), rec.raw("windows"), table)
    elif severity and table and severity in names.SEVERITIES:
        recover_windows = tuple(sorted({w.seconds for c in table.by_severity(severity) for w in (c.short, c.long)}))
    else:
        recover_windows = trip_windows
    default_hold = float(table.shortest.seconds) if table else 0.0
    if_unknown = f.str("if_unknown", "inactive")
    if if_unknown not in IF_UNKNOWN:
        doc.error(f.at("if_unknown"), f"must be one of {', '.join(IF_UNKNOWN)}")
    rule = Rule(
        name=f.str("name", ""), slo=slo_id or "", severity=severity, burn_above=burn_above, windows=trip_windows,
        recover_below=recover_below, recover_windows=recover_windows,
        hold=_duration(doc, rec.at("hold"), rec.raw("hold"), default_hold),
        if_unknown=if_unknown or "inactive",
        open_breakers=_names(doc, f.at("open_breakers"), f.raw("open_breakers")),
        disable_switches=_names(doc, f.at("disable_switches"), f.raw("disable_switches")),
    )
    if not rule.targets:
        doc.error(path, "needs open_breakers or disable_switches (a rule that does nothing is a mistake)")
    return rule


def _breaker(doc: Doc, path: Path, value: Any) -> BreakerConfig:
    f = Fields(doc, path, value if value is not None else {},
               ("failure_rate", "slow_call_rate", "slow_call", "window", "window_size", "min_calls", "open_for",
                "half_open_probes", "mode"))
    d = BreakerConfig()
    for key in ("failure_rate", "slow_call_rate"):
        v = f.num(key)
        if v is not None and not 0 < v <= 100:
            doc.error(f.at(key), "must be a percentage in (0, 100]")
    ints = {}
    for key, default in (("window_size", d.window_size), ("min_calls", d.min_calls),
                         ("half_open_probes", d.half_open_probes)):
        v = f.num(key, default)
        if v is None or v < 1 or v != int(v):
            doc.error(f.at(key), "must be a whole number of at least 1")
            v = default
        ints[key] = int(v)
    window, mode = f.str("window", d.window_type), f.str("mode", d.mode)
    if window not in WINDOW_TYPES:
        doc.error(f.at("window"), f"must be one of {', '.join(WINDOW_TYPES)}")
        window = d.window_type
    if mode not in MODES:
        doc.error(f.at("mode"), f"must be one of {', '.join(MODES)}")
        mode = d.mode
    rate = lambda key, default: min(100.0, max(1e-9, f.num(key, default) or default))  # noqa: E731
    return BreakerConfig(
        failure_rate=rate("failure_rate", d.failure_rate), slow_call_rate=rate("slow_call_rate", d.slow_call_rate),
        slow_call_seconds=_duration(doc, f.at("slow_call"), f.raw("slow_call"), d.slow_call_seconds),
        window_type=window, window_size=ints["window_size"], min_calls=ints["min_calls"],
        open_seconds=_duration(doc, f.at("open_for"), f.raw("open_for"), d.open_seconds),
        half_open_probes=ints["half_open_probes"], mode=mode)


def _source(doc: Doc, path: Path, value: Any) -> SourceConfig | None:
    f = Fields(doc, path, value, ("prometheus",), required=("prometheus",))
    p = Fields(doc, f.at("prometheus"), f.raw("prometheus", {}),
               ("url", "poll", "timeout", "auth_header_env", "stale_after"), required=("url",))
    url = p.str("url", "")
    if url and not url.startswith(("http://", "https://")):
        doc.error(p.at("url"), "must start with http:// or https://")
    timeout = _duration(doc, p.at("timeout"), p.raw("timeout"), 2.0)
    poll = _duration(doc, p.at("poll"), p.raw("poll"), 30.0)
    if timeout <= 0 or poll <= 0:
        doc.error(p.at("poll" if poll <= 0 else "timeout"), "must be positive")
    return SourceConfig(url=url or "", poll=poll, timeout=timeout, auth_header_env=p.str("auth_header_env"),
                        stale_after=_duration(doc, p.at("stale_after"), p.raw("stale_after"), 300.0))


def read_section(doc: Doc, path: Path, value: Any, slos: Sequence[SLO], default_slo: str | None = None,
                 top_level: bool = False) -> Policy:
    """A policy mapping at `path` of a document (the whole policy file, or a spec's `policy:` section)."""
    allowed = ["rules", "breakers", "switches", "source", "evaluate_every", "overrides_file"]
    f = Fields(doc, path, value, (["version"] if top_level else []) + allowed, required=("rules",))
    if top_level and f.str("version") != VERSION:
        doc.error(f.at("version"), f"must be {VERSION}")
    by_id = {s.id: s for s in slos}
    rules = [r for i, item in enumerate(f.list("rules"))
             if (r := _rule(doc, f.at("rules") + (i,), item, by_id, default_slo)) is not None]
    seen: set[str] = set()
    for i, r in enumerate(rules):
        if r.name in seen:
            doc.error(f.at("rules") + (i, "name"), f"duplicate rule name {r.name!r}")
        seen.add(r.name)
    breakers_raw = f.raw("breakers", {})
    breakers = {}
    if isinstance(breakers_raw, dict):
        breakers = {str(k): _breaker(doc, f.at("breakers") + (k,), v) for k, v in breakers_raw.items()}
    else:
        doc.error(f.at("breakers"), "must be a mapping of breaker name to settings")
    switches = {}
    for name, v in (f.raw("switches", {}) or {}).items() if isinstance(f.raw("switches", {}), dict) else ():
        g = Fields(doc, f.at("switches") + (name,), v if v is not None else {}, ("default",))
        default = g.raw("default", True)
        try:
            switches[str(name)] = parse_override(default) is not False
        except ValueError as exc:
            doc.error(g.at("default"), str(exc))
    for r in rules:
        for b in r.open_breakers:
            breakers.setdefault(b, BreakerConfig())
        for s in r.disable_switches:
            switches.setdefault(s, True)
    return Policy(
        rules=tuple(rules), breakers=breakers, switches=switches,
        source=_source(doc, f.at("source"), f.raw("source")) if f.has("source") else None,
        evaluate_every=_duration(doc, f.at("evaluate_every"), f.raw("evaluate_every"), 0) or None,
        overrides_file=f.str("overrides_file"),
    )


def parse_policy(file: str, text: str, slos: Sequence[SLO]) -> Policy:
    """A policy file's text, or SpecError with every `file:line: field.path: message`."""
    docs = read_documents(file, text)
    if len(docs) != 1:
        raise SpecError([Problem(file, 1, "", f"a policy file holds one YAML document, found {len(docs)}")])
    doc = docs[0]
    policy = read_section(doc, (), doc.data, slos, top_level=True)
    if doc.errors:
        raise SpecError(doc.problems)
    return policy


def load_policy(path: str, slos: Sequence[SLO]) -> Policy:
    try:
        text = FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(path, 0, "", f"cannot read: {exc}")]) from None
    return parse_policy(path, text, slos)


def policy_from_specs(slos: Sequence[SLO]) -> Policy:
    """The `policy:` sections of slokit/v1 specs, re-read from their files so errors keep file:line.

    A service-level section may name any SLO; an SLO-level section's rules default to that SLO.
    """
    policy, problems = Policy(), []
    files = sorted({s.source.file for s in slos
                    if s.source and s.source.format == "slokit/v1" and s.extra.get("policy")})
    for file in files:
        for doc in read_documents(file, FilePath(file).read_text(encoding="utf-8")):
            if not isinstance(doc.data, dict) or doc.data.get("version") != "slokit/v1":
                continue
            service = doc.data.get("service")
            sections: list[tuple[Path, Any, str | None]] = []
            if doc.data.get("policy") is not None:
                sections.append((("policy",), doc.data["policy"], None))
            for i, item in enumerate(doc.data.get("slos") or []):
                if isinstance(item, dict) and item.get("policy") is not None:
                    sections.append((("slos", i, "policy"), item["policy"], f"{service}-{item.get('name')}"))
            for path, value, default_slo in sections:
                policy = policy.merge(read_section(doc, path, value, slos, default_slo))
            problems.extend(doc.problems)
    if any(not p.warning for p in problems):
        raise SpecError(problems)
    return policy

