"""The one place slokit's errors become messages and exit codes.

Commands raise; they never print an error and exit themselves. An exception that is not one of slokit's
expected errors still ends in a traceback: that is a bug to report, not a message to hide.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from slokit.errors import ConfigError, InputError, RemoteError, SlokitError

OK, FAILED, INVALID, UNDECIDED = 0, 1, 2, 3

# The table `slokit --help` and the README show.
EXIT_CODES = (
    (OK, "success; the gate passed"),
    (FAILED, "a check failed: gate fail, `generate --check` drift, a dashboard failed to apply, a rollout stopped"),
    (INVALID, "invalid input or usage: specs, policies, event files, flags, settings; a server refused the "
              "request (4xx: credentials, URL) or redirected it where slokit does not follow"),
    (UNDECIDED, "cannot decide: the gate is undecided, or Prometheus, Grafana or Alertmanager could not be "
                "reached, failed or answered garbage"),
)

# What a command did not do when its input was refused, said after the problems.
_OUTCOME = {"generate": "nothing written", "simulate": "nothing replayed"}


def exit_code(exc: SlokitError) -> int | None:
    """The exit code for an expected error; None for any other (a bug: let it show its traceback)."""
    if isinstance(exc, InputError | ConfigError):
        return INVALID
    if isinstance(exc, RemoteError):
        return INVALID if exc.refused else UNDECIDED
    return None


def report(exc: SlokitError, command: str | None) -> None:
    """Print the error on stderr: every `file:line: field: message` problem and a count, or one line."""
    if isinstance(exc, InputError):
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        errors = sum(1 for p in exc.problems if not p.warning)
        outcome = _OUTCOME.get(command or "")
        click.echo(f"{errors} error(s); {outcome}" if outcome else f"{errors} error(s)", err=True)
    else:
        click.echo(f"error: {exc}", err=True)


@contextmanager
def logging_to_stderr(level: int = logging.WARNING) -> Iterator[None]:
    """While a command runs, slokit's warnings go to stderr (the library only logs; configuring is ours)."""
    logger = logging.getLogger("slokit")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(name)s: %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
