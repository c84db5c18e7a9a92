"""One exception hierarchy (as httpx has): every error slokit raises on purpose is a SlokitError.

    SlokitError
    ├── InputError      a file is wrong, with every `file:line: field: message` problem (event files, configs)
    │   └── SpecError   ... and that file is a spec (or a policy, a section of one)
    ├── ConfigError     a setting is wrong: a flag, an environment variable, a URL, a jsonnet entry
    └── RemoteError     a server could not be reached, failed (5xx) or answered garbage; or refused us (4xx)

The CLI maps them to exit codes in one place (slokit/cli/errors.py): input, config and a refused request are
2 (fix what you gave), any other RemoteError is 3 (cannot tell now). A library user catches `SlokitError` for
all of them, or one branch.
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


class InputError(SlokitError):
    """Bad input files (event files, configs), with every problem found; the CLI prints them and exits 2."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class SpecError(InputError):
    """Bad specs or policies (their `policy:` sections or a policy file), with every problem found."""


class ConfigError(SlokitError):
    """A setting slokit was given cannot work (no URL, not an http URL, a missing group); the message says which."""


class RemoteError(SlokitError):
    """A server could not be reached or did not give a usable answer; the message is safe to print (no secrets).

    `status` is the HTTP status it answered (0: none); `transient` says whether asking again may help
    (refused connections, timeouts, 5xx, 429), which is what `slokit.http.retrying` retries.
    """

    def __init__(self, message: str, status: int = 0, transient: bool = False):
        super().__init__(message)
        self.status = status
        self.transient = transient

    @property
    def refused(self) -> bool:
        """The server said our request, credentials or URL are wrong (4xx but 429; or a redirect, which
        slokit.http never follows for a write or to another host): fix the input, do not retry."""
        return 300 <= self.status < 500 and self.status != 429
