"""The `slokit` command: one module per command group, and one error handler (slokit/cli/errors.py).

I/O lives here; everything the commands call is pure or raises one of slokit's errors, which the group
below turns into a message and an exit code.
"""

from __future__ import annotations

import textwrap
from typing import Any

import click

from slokit import __version__
from slokit.cli import errors
from slokit.cli.apply import apply
from slokit.cli.gate import gate
from slokit.cli.generate import generate, validate
from slokit.cli.silence import silence
from slokit.cli.simulate import simulate
from slokit.cli.status import demo, status
from slokit.errors import SlokitError

HELP = """slokit: SLO specs to Prometheus rules, alerts and their promtool tests, Alertmanager routing and
silences, Grafana dashboards, release gates; and burn-rate driven decisions at run time.

\b
Examples:
  slokit validate slos/
  slokit generate slos/ --out build/
  promtool check rules build/rules/*.yml
  promtool test rules build/rules/tests/*.test.yml

\b
Exit codes:
""" + "\n".join(textwrap.fill(meaning, 78, initial_indent=f"  {code}  ", subsequent_indent="     ")
               for code, meaning in errors.EXIT_CODES)


class Slokit(click.Group):
    """Runs a command with slokit's logging on stderr, and maps slokit's errors to exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        with errors.logging_to_stderr():
            try:
                return super().invoke(ctx)
            except SlokitError as exc:
                code = errors.exit_code(exc)
                if code is None:
                    raise
                errors.report(exc, ctx.invoked_subcommand)
                ctx.exit(code)


@click.group(cls=Slokit, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slokit")
def main() -> None:
    pass


for command in (validate, generate, apply, simulate, silence, demo, status, gate):
    main.add_command(command)
