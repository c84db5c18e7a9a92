"""Silence groups: the `alertmanager:` section of slokit/v1 specs, Alertmanager matchers, and group checks.

A silence group (`silence_group: payments`) names the SLOs whose alerts are routed, inhibited and silenced
together. Its `alertmanager:` section says where page and ticket alerts go, which other (symptom) alerts the
group's pages make redundant, and its maintenance windows. The generator (slokit.generate.alertmanager) and
the silences client (slokit.apply.alertmanager) both read the `Group`s built here, so a route, an inhibit
rule and a silence always select the same alerts.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import re2

from slokit import names, promql
from slokit.errors import Problem
from slokit.spec.common import NAME_RE, check_duration
from slokit.spec.source import Doc, Fields, Path, path_text

if TYPE_CHECKING:
    from slokit.spec.model import SLO


DEFAULT_GROUP_BY = ("alertname", names.SERVICE, names.NAME)
DEFAULT_REPEAT = {"page": "1h", "ticket": "1d"}
# Alertmanager's own matcher grammar (pkg/labels/parse.go): name, operator, optionally quoted value.
_MATCHER_RE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the C++ library would print every refused pattern on stderr


@lru_cache(maxsize=1024)
def regex(value: str) -> Any:
    """A matcher's regex as Alertmanager compiles it: Go's RE2, anchored (`^(?:value)$`), `.` not matching a
    newline. RE2 runs in linear time, so a pattern like `(a|aa)*c` cannot hang the checks that match
    symptoms against alerts, and constructs RE2 lacks (backreferences, lookaround) are refused as
    Alertmanager refuses them. ValueError if RE2 (or Go, for `\\C`) rejects the pattern."""
    if re.search(r"(?<!\\)(?:\\\\)*\\C", value):
        raise ValueError("\\C (any byte) is not supported by Go's regexp")
    try:
        return re2.compile(f"(?:{value})", _RE2_OPTIONS)
    except re2.error as exc:
        message = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(message) from None


@dataclass(frozen=True)
class Where:
    """A place in a spec, for messages raised after parsing (conflicts, unknown receivers)."""

    file: str
    line: int
    path: str

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.line, self.path, message)


@dataclass(frozen=True)
class Matcher:
    """One Alertmanager matcher; an absent label matches as the empty string, as in Alertmanager."""

    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str

    @property
    def is_regex(self) -> bool:
        return "~" in self.op

    @property
    def is_equal(self) -> bool:
        return not self.op.startswith("!")

    def text(self) -> str:
        """Alertmanager's matcher syntax, value quoted and escaped (\\, " and newline, as it unescapes)."""
        value = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{value}"'

    def matches(self, labels: dict[str, str]) -> bool:
        value = labels.get(self.name, "")
        hit = regex(self.value).fullmatch(value) is not None if self.is_regex else value == self.value
        return hit == self.is_equal

    def api(self) -> dict[str, Any]:
        """The matcher as the v2 silences API takes it."""
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}


def parse_matcher(text: str) -> Matcher:
    """A matcher in Alertmanager's syntax (`service="checkout"`, `alertname=~"A|B"`); ValueError if bad."""
    m = _MATCHER_RE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a matcher like name=\"value\" (operators =, !=, =~, !~)")
    name, op, raw = m.groups()
    quoted = raw.startswith('"')
    if quoted:
        if len(raw) < 2 or not raw.endswith('"'):
            raise ValueError(f"{text!r}: the value's closing quote is missing")
        raw = raw[1:-1]
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        if c == '"' and quoted:
            raise ValueError(f"{text!r}: unescaped double quote in the value")
        out.append(c)
        i += 1
    value = "".join(out)
    if "~" in op:
        try:
            regex(value)
        except ValueError as exc:
            raise ValueError(f"{text!r}: invalid regular expression (Alertmanager's RE2 syntax): {exc}") from None
    return Matcher(name, op, value)


def exact(name: str, values: list[str]) -> Matcher:
    """`name="v"` for one value, `name=~"a|b"` (escaped) for several."""
    if len(values) == 1:
        return Matcher(name, "=", values[0])
    return Matcher(name, "=~", promql.any_of(values))


@dataclass(frozen=True)
class Tier:
    receiver: str | None = None
    repeat_interval: str | None = None
    where: Where | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Symptom:
    """Other alerts (by matchers) this group's pages make redundant: inhibited while a page fires."""

    matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()
    where: Where | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Maintenance:
    """A recurring window (Alertmanager time_interval fields) during which the group's routes are muted."""

    name: str
    interval: dict[str, Any]
    where: Where | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Settings:
    """A silence group's `alertmanager:` section; equal settings from several specs do not conflict."""

    page: Tier = field(default_factory=Tier)
    ticket: Tier = field(default_factory=Tier)
    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    group_wait: str | None = None
    group_interval: str | None = None
    receivers: tuple[dict[str, Any], ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    maintenance: tuple[Maintenance, ...] = ()
    where: Where | None = field(default=None, compare=False)

    def tier(self, severity: str) -> Tier:
        return self.page if severity == "page" else self.ticket


def parse(doc: Doc, path: Path, value: Any) -> Settings | None:
    """The `alertmanager:` section at `path`, checked; problems go to `doc` with their line."""
    if value is None:
        return None
    f = Fields(doc, path, value, ("page", "ticket", "group_by", "group_wait", "group_interval", "receivers",
                                  "symptoms", "maintenance"))
    if not f.ok:
        return None
    group_by = tuple(_label_names(doc, f.at("group_by"), f.list("group_by"), allow_all=True)) or DEFAULT_GROUP_BY
    if len(set(group_by)) < len(group_by) or ("..." in group_by and len(group_by) > 1):
        doc.error(f.at("group_by"), "must name each label once, or be ['...'] alone (all labels), as Alertmanager "
                                    "requires")
    return Settings(
        page=_tier(doc, f.at("page"), f.raw("page"), "page"),
        ticket=_tier(doc, f.at("ticket"), f.raw("ticket"), "ticket"),
        group_by=group_by,
        group_wait=check_duration(doc, f.at("group_wait"), f.str("group_wait")),
        group_interval=check_duration(doc, f.at("group_interval"), f.str("group_interval")),
        receivers=tuple(r for i, r in enumerate(f.list("receivers")) if _receiver(doc, f.at("receivers") + (i,), r)),
        symptoms=tuple(_symptom(doc, f.at("symptoms") + (i,), s) for i, s in enumerate(f.list("symptoms"))),
        maintenance=_windows(doc, f.at("maintenance"), f.list("maintenance")),
        where=_where(doc, path),
    )


def _windows(doc: Doc, path: Path, items: list[Any]) -> tuple[Maintenance, ...]:
    windows = tuple(_maintenance(doc, path + (i,), m) for i, m in enumerate(items))
    seen: set[str] = set()
    for i, window in enumerate(windows):
        if window.name in seen:
            doc.error(path + (i, "name"), f"maintenance window {window.name!r} is declared twice")
        seen.add(window.name)
    return windows


def _where(doc: Doc, path: Path) -> Where:
    return Where(doc.file, doc.line(path), path_text(doc.base + path))


def _tier(doc: Doc, path: Path, value: Any, severity: str) -> Tier:
    if value is None:
        return Tier(repeat_interval=DEFAULT_REPEAT[severity])
    f = Fields(doc, path, value, ("receiver", "repeat_interval"))
    return Tier(f.str("receiver"), check_duration(doc, f.at("repeat_interval"), f.str("repeat_interval"))
                or DEFAULT_REPEAT[severity], _where(doc, f.at("receiver")))


def _label_names(doc: Doc, path: Path, labels: list[Any], allow_all: bool = False) -> list[str]:
    out = []
    for i, name in enumerate(labels):
        text = str(name)
        if not (promql.is_label_name(text) or (allow_all and text == "...")):
            doc.error(path + (i,), f"{text!r} is not a label name")
        out.append(text)
    return out


def _receiver(doc: Doc, path: Path, value: Any) -> bool:
    """Whether `value` is a receiver in Alertmanager's own syntax: slokit checks the name, amtool the rest."""
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
        doc.error(path, "must be an Alertmanager receiver: a mapping with a `name` and its *_configs")
        return False
    return True


def _symptom(doc: Doc, path: Path, value: Any) -> Symptom:
    f = Fields(doc, path, value, ("matchers", "equal"), required=("matchers",))
    matchers = []
    for i, text in enumerate(f.list("matchers")):
        try:
            matchers.append(parse_matcher(str(text)))
        except ValueError as exc:
            doc.error(f.at("matchers") + (i,), str(exc))
    if f.has("matchers") and not f.list("matchers"):
        doc.error(f.at("matchers"), "needs at least one matcher")
    problem = _never_or_always(matchers) if matchers else None
    if problem:
        doc.error(f.at("matchers"), problem)
    equal = tuple(_label_names(doc, f.at("equal"), f.list("equal")))
    return Symptom(tuple(matchers), equal, _where(doc, path))


def _never_or_always(matchers: list[Matcher]) -> str | None:
    """Why a set of matchers would silence (or inhibit) everything or nothing, if it would."""
    if all(m.matches({}) for m in matchers):
        return ("would match every alert: at least one matcher must need a label value "
                "(e.g. alertname=\"X\"), not only match an absent label")
    if any(m.name == "alertname" and m.op == "=" and not m.value for m in matchers):
        return 'would match nothing: every alert has an alertname, so alertname="" never holds'
    for m in matchers:
        if m.op == "=":
            others = [o for o in matchers if o.name == m.name and o is not m]
            clash = next((o for o in others if not o.matches({m.name: m.value})), None)
            if clash:
                return f"would match nothing: {m.text()} and {clash.text()} cannot both hold"
    return None


_TIME_RE = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")  # ASCII digits: `\d` takes "٠٩:٠٠" too
_INT_RE = re.compile(r"[+-]?[0-9]{1,9}")  # Go's strconv.Atoi, as Alertmanager reads days and years
_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")


def _maintenance(doc: Doc, path: Path, value: Any) -> Maintenance:
    keys = ("times", "weekdays", "days_of_month", "months", "years", "location")
    f = Fields(doc, path, value, ("name",) + keys, required=("name",))
    name = f.str("name", "")
    if name and not NAME_RE.fullmatch(name):
        doc.error(f.at("name"), f"{name!r} must be letters, digits, '-', '_' or '.'")
    if f.ok and not any(f.has(k) for k in keys[:-1]):
        doc.error(path, f"would mute the group all the time: give at least one of {', '.join(keys[:-1])}")
    interval: dict[str, Any] = {}
    for i, t in enumerate(f.list("times")):
        interval.setdefault("times", []).append(_time_range(doc, f.at("times") + (i,), t))
    ranges: dict[str, Callable[[str], int | None]] = {
        "weekdays": lambda s: _named(s, _WEEKDAYS, 0), "days_of_month": _day,
        "months": lambda s: _named(s, _MONTHS, 1), "years": _int}
    for key, read in ranges.items():
        for i, item in enumerate(f.list(key)):
            text = str(item).lower()  # as Alertmanager reads it: lowercased, not stripped
            read_values = [read(e) for e in text.split(":")]
            values = [v for v in read_values if v is not None]
            if len(values) < len(read_values) or len(values) > 2 or (
                    len(values) == 2 and not _ascending(key, values[0], values[1])):
                doc.error(f.at(key) + (i,), f"{item!r} is not a {key.rstrip('s').replace('_', ' ')} or an "
                                             f"ascending range of them (start:end)")
            interval.setdefault(key, []).append(str(item))
    location = f.str("location")
    if location is not None:
        try:
            zoneinfo.ZoneInfo(location)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            doc.error(f.at("location"), f"{location!r} is not a time zone (e.g. UTC, Europe/Berlin)")
        interval["location"] = location
    return Maintenance(name, interval, _where(doc, path))


def _time_range(doc: Doc, path: Path, value: Any) -> dict[str, str]:
    f = Fields(doc, path, value, ("start_time", "end_time"), required=("start_time", "end_time"))
    start, end = f.str("start_time", ""), f.str("end_time", "")
    for key, text in (("start_time", start), ("end_time", end)):
        if f.has(key) and not text:
            doc.error(f.at(key), "must be a time of day HH:MM, not empty")
        elif text and (not _TIME_RE.fullmatch(text) or (text.startswith("24") and text != "24:00")):
            doc.error(f.at(key), f"{text!r} is not a time of day HH:MM (00:00 to 24:00)")
    if start and end and start >= end:
        doc.error(path, f"start_time {start} must be before end_time {end}")
    return {"start_time": start, "end_time": end}


def _int(text: str) -> int | None:
    return int(text) if _INT_RE.fullmatch(text) else None


def _named(text: str, words: tuple[str, ...], first: int) -> int | None:
    if text in words:
        return words.index(text) + first
    number = _int(text) if first else None
    return number if number is not None and 1 <= number <= 12 else None


def _day(text: str) -> int | None:
    day = _int(text)
    return day if day is not None and 1 <= abs(day) <= 31 else None


def _ascending(key: str, start: int, end: int) -> bool:
    """A range's start is not after its end. Days may count back from the month's end (-1 is its last
    day): Alertmanager refuses a negative start with a positive end, and compares on a 28-day month."""
    if key != "days_of_month":
        return start <= end
    if start < 0 < end:
        return False
    return (28 + start if start < 0 else start) <= (28 + end if end < 0 else end)


@dataclass(frozen=True)
class Group:
    """One silence group: its SLOs and its settings (from whichever spec declared them)."""

    name: str
    slos: tuple[SLO, ...]
    settings: Settings

    def alerting_slos(self) -> list[SLO]:
        return [s for s in self.slos if s.alerting and (s.alerting.page.enabled or s.alerting.ticket.enabled)]

    def selectors(self) -> list[tuple[Matcher, ...]]:
        """Per service, matchers for exactly this group's SLO alerts (both tiers)."""
        by_service: dict[str, list[str]] = {}
        for slo in self.alerting_slos():
            by_service.setdefault(slo.service, []).append(slo.name)
        return [(Matcher(names.SERVICE, "=", service), exact(names.NAME, slo_names))
                for service, slo_names in sorted(by_service.items())]

    def silences(self) -> list[tuple[Matcher, ...]]:
        """Matcher sets whose silences cover the group's alerts: its SLO alerts and its symptoms."""
        return self.selectors() + [s.matchers for s in self.settings.symptoms]


def alert_labels(slo: SLO, severity: str) -> dict[str, str]:
    """The static labels of an SLO's alert in one tier, as slokit.generate.rules sets them."""
    assert slo.alerting is not None
    tier = slo.alerting.page if severity == "page" else slo.alerting.ticket
    return {**slo.labels, **slo.alerting.labels, **tier.labels, "alertname": slo.alerting.name,
            names.SERVICE: slo.service, names.NAME: slo.name, names.SEVERITY: severity}


def groups(slos: tuple[SLO, ...] | list[SLO]) -> tuple[dict[str, Group], list[Problem]]:
    """Silence groups by name, and the problems that span SLOs: conflicts, empty groups, stray settings."""
    members: dict[str, list[SLO]] = {}
    declared: dict[str, Settings] = {}
    problems: list[Problem] = []
    for slo in slos:
        settings = slo.alertmanager
        if slo.silence_group is None:
            if settings is not None and settings.where:
                problems.append(settings.where.problem("needs a silence_group: the settings belong to a group"))
            continue
        if not NAME_RE.fullmatch(slo.silence_group):
            problems.append(_at(slo, f"{slo.silence_group!r} must be letters, digits, '-', '_' or '.'"))
            continue
        members.setdefault(slo.silence_group, []).append(slo)
        if settings is None:
            continue
        first = declared.setdefault(slo.silence_group, settings)
        if first != settings and settings.where and first.where:
            problems.append(settings.where.problem(
                f"conflicts with the settings of silence group {slo.silence_group!r} at "
                f"{first.where.file}:{first.where.line}; declare them once, or the same everywhere"))
    out = {name: Group(name, tuple(group), declared.get(name, Settings()))
           for name, group in sorted(members.items())}
    for group in out.values():
        problems.extend(_check_group(group))
    problems.extend(_shared_symptoms(out))
    problems.extend(_shared_receivers(out))
    return out, problems


def _shared_receivers(out: dict[str, Group]) -> list[Problem]:
    """A receiver declared by two groups must be declared the same: Alertmanager has one of each name."""
    seen: dict[str, dict[str, Any]] = {}
    problems = []
    for group in out.values():
        for receiver in group.settings.receivers:
            first = seen.setdefault(receiver["name"], receiver)
            if first != receiver and group.settings.where:
                problems.append(group.settings.where.problem(
                    f"receivers: {receiver['name']!r} is declared differently by another silence group"))
    return problems


def _at(slo: SLO, message: str) -> Problem:
    file, line = (slo.source.file, slo.source.line) if slo.source else ("", 0)
    return Problem(file, line, "silence_group", message)


def _check_group(group: Group) -> list[Problem]:
    problems = []
    slos = group.alerting_slos()
    if not slos and not group.settings.symptoms:
        problems.append(_at(group.slos[0], f"silence group {group.name!r} has no alerts (alerting is off for "
                                           "all its SLOs): its silences would match nothing"))
    alerts = [alert_labels(s, sev) for s in slos for sev in names.SEVERITIES
              if s.alerting and getattr(s.alerting, sev).enabled]
    for symptom in group.settings.symptoms:
        where = symptom.where or Where("", 0, "")
        own = next((labels for labels in alerts if all(m.matches(labels) for m in symptom.matchers)), None)
        if own:
            problems.append(where.problem(
                f"matchers also match the group's own SLO alert {own['alertname']} ({own[names.SERVICE]}/"
                f"{own[names.NAME]}, {own[names.SEVERITY]}): a page would inhibit other SLOs' pages; narrow "
                "them (e.g. add slo_severity=\"\")"))
        page_labels = [labels for labels in alerts if labels[names.SEVERITY] == names.PAGE]
        for name in symptom.equal:
            missing = [labels for labels in page_labels if name not in labels]
            if missing:
                problems.append(where.problem(
                    f"equal: label {name!r} is not on the page alert of {missing[0][names.SERVICE]}/"
                    f"{missing[0][names.NAME]}; Alertmanager would compare it as empty. Use labels the SLO "
                    f"pages carry: {', '.join(sorted(missing[0]))}"))
    return problems


def _shared_symptoms(out: dict[str, Group]) -> list[Problem]:
    """The same symptom alerts claimed by two groups: which group's silence and pages own them is ambiguous."""
    seen: dict[frozenset[Matcher], str] = {}
    problems = []
    for group in out.values():
        for symptom in group.settings.symptoms:
            key = frozenset(symptom.matchers)
            other = seen.setdefault(key, group.name)
            if other != group.name and symptom.where:
                problems.append(symptom.where.problem(
                    f"conflicting silence groups: these alerts are already covered by group {other!r}"))
    return problems
