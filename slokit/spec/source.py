"""YAML documents that remember where each value came from, and problems that say so.

PyYAML's `compose_all` keeps every node's line; we build plain Python data from the nodes and keep a
map from field path to line, so a message can read `slos.yml:12: slos[1].objective: must be ...`.
"""

from __future__ import annotations

import builtins  # Fields has getters named str, bool and list: its annotations name the types so
import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, overload

import yaml

from slokit import promql
from slokit.errors import Problem, SpecError

Path = tuple[Any, ...]  # ("slos", 1, "objective")
MAX_SECONDS = 10 * 365 * 86400  # the longest duration a spec may give: beyond it, a typo


def path_text(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


@dataclass
class Doc:
    """One YAML document: its data, the line of every field, and the problems found in it."""

    file: str
    data: Any
    marks: dict[Path, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    base: Path = ()  # prefix for paths when the document is an item of a top-level list
    # Another tool's format (Sloth, Pyrra, OpenSLO): an unknown field is a warning, as those tools ignore
    # it; slokit's own format stays strict.
    lenient: bool = False

    def line(self, path: Path) -> int:
        while path and path not in self.marks:
            path = path[:-1]
        return self.marks.get(path, 1)

    def error(self, path: Path, message: str) -> None:
        self.problems.append(Problem(self.file, self.line(path), path_text(self.base + path), message))

    def warn(self, path: Path, message: str) -> None:
        self.problems.append(Problem(self.file, self.line(path), path_text(self.base + path), message, True))

    def duration(self, path: Path, value: Any, default: float, minimum: float = 0.0) -> float:
        """Seconds from a Prometheus duration ("1h30m", "300ms") or a plain number of seconds; on a bad value
        the default, and a problem at `path`. The one place a spec's durations are read."""
        if value is None:
            return default
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = number(value)
            if seconds is None:
                self.error(path, f"must be a finite number of seconds, got {short(value)}")
                return default
        else:
            try:
                seconds = promql.parse_seconds(str(value))
            except ValueError as exc:
                self.error(path, str(exc))
                return default
        if seconds < minimum or seconds < 0:
            self.error(path, f"must be at least {minimum:g}s" if minimum else "must not be negative")
            return default
        if seconds > MAX_SECONDS:
            self.error(path, f"must be at most {MAX_SECONDS // (365 * 86400)}y")
            return default
        return seconds

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]

    def sub(self, index: int) -> Doc:
        """An item of a top-level list, read as a document of its own (OpenSLO allows both)."""
        marks = {k[1:]: v for k, v in self.marks.items() if k[:1] == (index,)}
        return Doc(self.file, self.data[index], marks, self.problems, self.base + (index,), self.lenient)


# Limits on what one document may make us build. Specs nest a dozen levels and use a few aliases; past
# these a file is hostile or broken, and the answer is a problem at its line, not a crash or a hang.
MAX_DEPTH = 100  # libyaml's composer recurses in C and crashes the process near 100,000 levels
MAX_ALIAS_VALUES = 100_000  # values aliases may add (a "billion laughs" bomb adds 10^9)

# libyaml's parser when PyYAML has it: the same events and marks, several times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()
_resolver = yaml.resolver.Resolver()
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("null", "bool", "int", "float", "timestamp", "binary")}
_BUILDING = object()  # an anchor whose node is not finished: an alias to it is recursive
_NO_KEY = object()


class _Invalid(Exception):
    """Something in a document slokit refuses to build, at a line."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


@dataclass
class _Open:
    """A mapping or list being built; `merge`: it is the value of a `<<` key."""

    path: Path
    value: dict[Any, Any] | list[Any]
    anchor: str | None
    start: int  # where this node's marks begin in the builder's `order`
    merge: bool = False
    key: Any = _NO_KEY  # a mapping's key waiting for its value
    merges: list[dict[Any, Any]] = field(default_factory=list)


class _Builder:
    """Plain data and the line of every field, from one document's parser events.

    Built from events with a stack, not from composed nodes by recursion, so depth and aliases are
    bounded before they can exhaust the stack or memory. An alias shares the anchored value and adds a
    mark for every field in it, which is what its cost is counted in."""

    def __init__(self) -> None:
        self.stack: list[_Open] = []
        self.anchors: dict[str, Any] = {}  # name -> (value, marks relative to the anchored node) or _BUILDING
        self.marks: dict[Path, int] = {}
        self.order: list[tuple[Path, int]] = []  # every mark made, in order: an anchor's are a slice
        self.aliased = 0
        self.root: Any = _NO_KEY

    def _mark(self, path: Path, line: int, key: bool = False) -> None:
        if key or path not in self.marks:
            self.marks[path] = line
        self.order.append((path, line))

    def _key_expected(self) -> bool:
        top = self.stack[-1] if self.stack else None
        return top is not None and isinstance(top.value, dict) and top.key is _NO_KEY

    def _path(self) -> Path:
        """The path of the value about to be built."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if top.merge or (isinstance(top.value, dict) and top.key is _NO_KEY):
            return top.path  # a merged mapping's fields land in the mapping that merges it
        if isinstance(top.value, dict):
            return top.path + (top.key,)
        return top.path + (len(top.value),)

    def _set_key(self, key: Any, line: int, merge: bool = False) -> None:
        top = self.stack[-1]
        if isinstance(key, (dict, list)):
            raise _Invalid(line, "a mapping key must be a plain value, not a mapping or a list")
        top.key = key
        if merge:
            top.merge = True
        else:
            self._mark(top.path + (key,), line, key=True)

    def _place(self, value: Any, line: int) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if isinstance(top.value, list):
            top.value.append(value)
        elif top.merge:
            merged = value if isinstance(value, list) else [value]
            if not all(isinstance(m, dict) for m in merged):
                raise _Invalid(line, "a merge key (<<) takes a mapping or a list of mappings")
            top.merges.extend(merged)
            top.merge, top.key = False, _NO_KEY
        else:
            top.value[top.key] = value
            top.key = _NO_KEY

    def feed(self, event: yaml.Event) -> None:
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if self._key_expected():
                raise _Invalid(line, "a mapping key must be a plain value, not a mapping or a list")
            if len(self.stack) >= MAX_DEPTH:
                raise _Invalid(line, f"nested deeper than {MAX_DEPTH} levels")
            path = self._path()
            self._mark(path, line)
            merge = bool(self.stack) and self.stack[-1].merge and isinstance(event, yaml.SequenceStartEvent)
            value: dict[Any, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
            self.stack.append(_Open(path, value, event.anchor, len(self.order), merge=merge))
            if event.anchor:
                self.anchors[event.anchor] = _BUILDING
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            node = self.stack.pop()
            done = node.value
            if isinstance(done, dict) and node.merges:  # as PyYAML: own keys win, then earlier merges
                done = {}
                for merged in reversed(node.merges):
                    done.update(merged)
                done.update(node.value)
            if node.anchor:
                self.anchors[node.anchor] = (done, [(p[len(node.path):], n) for p, n in self.order[node.start:]])
            self._place(done, line)
        elif isinstance(event, yaml.ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
            if self._key_expected() and tag == _TAG + "merge":
                self._set_key("<<", line, merge=True)
                return
            value = _scalar(event, tag, line)
            if self._key_expected():
                self._set_key(value, line)
                return
            self._mark(self._path(), line)
            if event.anchor:
                self.anchors[event.anchor] = (value, [((), line)])
            self._place(value, line)
        elif isinstance(event, yaml.AliasEvent):
            found = self.anchors.get(event.anchor or "")
            if found is None:
                raise _Invalid(line, f"alias *{event.anchor} names no anchor before it")
            if found is _BUILDING:
                raise _Invalid(line, f"alias *{event.anchor} is inside its own anchor (a recursive alias)")
            value, marks = found
            self.aliased += len(marks)
            if self.aliased > MAX_ALIAS_VALUES:
                raise _Invalid(line, f"aliases expand to more than {MAX_ALIAS_VALUES:,} values (an alias bomb?)")
            if self._key_expected():
                self._set_key(value, line)
                return
            path = self._path()
            self._mark(path, line)
            for rel, n in marks[1:]:
                self._mark(path + rel, n)
            self._place(value, line)


def _scalar(event: yaml.ScalarEvent, tag: str, line: int) -> Any:
    if tag == _TAG + "str":
        return event.value
    if tag not in _SCALAR_TAGS:
        raise _Invalid(line, f"the tag {tag!r} is not supported (only YAML's standard scalars)")
    node = yaml.ScalarNode(tag, event.value, style=event.style)
    try:
        return _constructor.yaml_constructors[tag](_constructor, node)
    except (ValueError, OverflowError) as exc:  # e.g. an integer of more than 4,300 digits, a 13th month
        raise _Invalid(line, f"cannot read {short(event.value)}: {str(exc).split(';')[0]}") from None
    except yaml.YAMLError as exc:  # e.g. !!binary that is not base64
        raise _Invalid(line, f"invalid YAML: {getattr(exc, 'problem', None) or exc}") from None


def read_documents(file: str, text: str) -> list[Doc]:
    """Every document in a YAML text; a syntax error, or a document too deep or too aliased to build,
    becomes a Problem, not a traceback."""
    docs = []
    builder = _Builder()
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.DocumentStartEvent):
                builder = _Builder()  # anchors do not cross documents
            elif isinstance(event, yaml.DocumentEndEvent):
                if builder.root is not _NO_KEY:
                    docs.append(Doc(file, builder.root, builder.marks))
            elif not isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent)):
                builder.feed(event)
    except _Invalid as exc:
        raise SpecError([Problem(file, exc.line, "", str(exc))]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([Problem(file, line, "", f"invalid YAML: {problem}")]) from None
    return docs


class Fields:
    """A mapping from a document, checked for unknown and missing keys, with typed getters."""

    def __init__(self, doc: Doc, path: Path, value: Any, allowed: Iterable[str], required: Iterable[str] = ()):
        self.doc, self.path = doc, path
        self.ok = isinstance(value, dict)
        self.data: dict[str, Any] = value if self.ok else {}
        if not self.ok:
            doc.error(path, f"must be a mapping, got {_kind(value)}")
            return
        allowed = list(allowed)
        for key in self.data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(allowed)})"
                if doc.lenient:
                    doc.warn(path + (key,), f"unknown field{hint}; ignored")
                else:
                    doc.error(path + (key,), f"unknown field{hint}")
        for key in required:
            if self.data.get(key) is None:
                doc.error(path + (key,), "is required")

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def at(self, key: str) -> Path:
        return self.path + (key,)

    def raw(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key)
        return default if value is None else value

    @overload
    def str(self, key: builtins.str) -> builtins.str | None: ...
    @overload
    def str(self, key: builtins.str, default: builtins.str) -> builtins.str: ...
    @overload
    def str(self, key: builtins.str, default: builtins.str | None) -> builtins.str | None: ...

    def str(self, key: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.doc.error(self.at(key), f"must be a string, got {_kind(value)}")
            return default
        return str(value)

    @overload
    def num(self, key: builtins.str) -> float | None: ...
    @overload
    def num(self, key: builtins.str, default: float) -> float: ...
    @overload
    def num(self, key: builtins.str, default: float | None) -> float | None: ...

    def num(self, key: builtins.str, default: float | None = None) -> float | None:
        value = self.data.get(key)
        if value is None:
            return default
        found = number(value)
        if found is None:
            kind = _kind(value) if isinstance(value, bool) or not isinstance(value, (int, float, str)) else short(value)
            self.doc.error(self.at(key), f"must be a finite number, got {kind}")
            return default
        return found

    def bool(self, key: builtins.str, default: builtins.bool) -> builtins.bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.doc.error(self.at(key), f"must be true or false, got {_kind(value)}")
            return default
        return value

    def str_map(self, key: builtins.str) -> dict[builtins.str, builtins.str]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.doc.error(self.at(key), f"must be a mapping of strings, got {_kind(value)}")
            return {}
        out: dict[builtins.str, builtins.str] = {}
        for k, v in value.items():
            if isinstance(v, (dict, list)) or v is None:
                self.doc.error(self.at(key) + (k,), f"must be a string, got {_kind(v)}")
            else:
                out[str(k)] = str(v).lower() if isinstance(v, bool) else str(v)
        return out

    def list(self, key: builtins.str) -> builtins.list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.doc.error(self.at(key), f"must be a list, got {_kind(value)}")
            return []
        return value


# A number written as text: ASCII only (float() also takes "١٢", "1_0", "nan" and "infinity").
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def number(value: Any) -> float | None:
    """A finite float from a YAML number or numeric text; None for anything else (NaN, infinity, a
    400-digit integer, a boolean): no check downstream can be trusted with NaN, which compares false."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = text if _NUMBER_RE.fullmatch(text) and len(text) <= 40 else None
    if not isinstance(value, (int, float, str)):
        return None
    try:
        found = float(value)
    except OverflowError:
        return None
    return found if math.isfinite(found) else None


def short(value: Any) -> str:
    """A value for a message, cut to 40 characters (a hostile spec may hold megabytes in one field)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", bool: "a boolean", str: "a string"}.get(
        type(value), type(value).__name__
    )
