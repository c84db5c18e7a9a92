"""One exception hierarchy (as httpx has): every error slokit raises on purpose is a SlokitError.

The CLI maps them to exit codes in one place (slokit/cli); a library user catches `SlokitError` for all of
them, or `SpecError` for bad input with its `file:line: field: message` problems.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class SlokitError(Exception):
    """Base of every error slokit raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, where it is (line 0: the whole file), and whether it only warns."""

    file: str
    line: int
    path: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        kind = "warning: " if self.warning else ""
        return f"{where}: {kind}{self.path}: {self.message}" if self.path else f"{where}: {kind}{self.message}"


class SpecError(SlokitError):
    """Bad input (specs, policies, event files, configs), with every problem found; the CLI exits 2."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
