"""YAML documents that remember where each value came from, and problems that say so.

PyYAML's `compose_all` keeps every node's line; we build plain Python data from the nodes and keep a
map from field path to line, so a message can read `slos.yml:12: slos[1].objective: must be ...`.
"""

from __future__ import annotations

import builtins  # Fields has getters named str, bool and list: its annotations name the types so
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, overload

import yaml

from slokit import promql
from slokit.errors import Problem, SpecError

Path = tuple[Any, ...]  # ("slos", 1, "objective")


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
            seconds = float(value)
        else:
            try:
                seconds = promql.parse_seconds(str(value))
            except ValueError as exc:
                self.error(path, str(exc))
                return default
        if seconds < minimum or seconds < 0:
            self.error(path, f"must be at least {minimum:g}s" if minimum else "must not be negative")
            return default
        return seconds

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]

    def sub(self, index: int) -> Doc:
        """An item of a top-level list, read as a document of its own (OpenSLO allows both)."""
        marks = {k[1:]: v for k, v in self.marks.items() if k[:1] == (index,)}
        return Doc(self.file, self.data[index], marks, self.problems, self.base + (index,), self.lenient)


_constructor = yaml.constructor.SafeConstructor()
# libyaml's parser when PyYAML has it: the same nodes and marks, several times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _build(node: yaml.Node, path: Path, marks: dict[Path, int]) -> Any:
    marks.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        _constructor.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _constructor.construct_object(key_node, deep=True)
            marks[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, path + (key,), marks)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), marks) for i, item in enumerate(node.value)]
    return _constructor.construct_object(node, deep=True)


def read_documents(file: str, text: str) -> list[Doc]:
    """Every non-empty document in a YAML text; a syntax error becomes a Problem, not a traceback."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
        docs = []
        for node in nodes:
            if node is None:
                continue
            marks: dict[Path, int] = {}
            data = _build(node, (), marks)
            docs.append(Doc(file, data, marks))
        return docs
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([Problem(file, line, "", f"invalid YAML: {problem}")]) from None


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
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                return float(str(value))
            except ValueError:
                self.doc.error(self.at(key), f"must be a number, got {_kind(value)}")
                return default
        return float(value)

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


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", bool: "a boolean", str: "a string"}.get(
        type(value), type(value).__name__
    )
