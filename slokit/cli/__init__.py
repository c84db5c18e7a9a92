"""The `slokit` command: one module per command group, and one error handler (slokit/cli/errors.py).

I/O lives here; everything the commands call is pure or raises one of slokit's errors, which the group
below turns into a message and an exit code.
"""

from __future__ import annotations

import importlib
import textwrap
from typing import Any

import click

from slokit import __version__
from slokit.cli import errors
from slokit.errors import SlokitError

# name: (module, attribute, the command's short help). A command's module is imported when the command
# runs, so `slokit --help` imports none of them and `slokit validate` only the spec readers
# (tests/test_cli.py checks the short help against each command's docstring).
COMMANDS = {
    "apply": ("slokit.cli.apply", "apply", "Push generated artefacts to running systems (Grafana)."),
    "convert": ("slokit.cli.convert", "convert", "Convert spec files to slokit/v1 (or OpenSLO v1): each input "
                "file becomes one file of the same name."),
    "demo": ("slokit.cli.status", "demo",
             "Watch the loop: an instrumented service burns its error budget, degrades itself and recovers."),
    "gate": ("slokit.cli.gate", "gate",
             "Release gate: may a new version take more traffic? Exit 0 pass, 1 fail, 3 cannot decide."),
    "generate": ("slokit.cli.generate", "generate", "Generate rules, promtool tests, Alertmanager config, "
                 "dashboards and delivery templates from specs."),
    "serve": ("slokit.cli.serve", "serve", "Serve an SLO console: every SLO's budget, burn per alert window and "
              "alerts, read from Prometheus."),
    "silence": ("slokit.cli.silence", "silence", "Silence a silence group's alerts through Alertmanager's v2 API."),
    "simulate": ("slokit.cli.simulate", "simulate", "Replay events through the burn-rate engine and a degrade "
                 "policy; print every decision as JSON lines."),
    "status": ("slokit.cli.status", "status",
               "Show SLOs (objective, SLI, budget remaining, burn per window), breakers and switches as tables."),
    "validate": ("slokit.cli.generate", "validate", "Check spec files (slokit/v1; Sloth prometheus/v1 and CRDs, "
                 "Pyrra CRDs, OpenSLO) and folders of them."),
}

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


def _short(text: str, limit: int) -> str:
    """A command's one-line help: its first sentence, cut at a word to fit (click's own helper is private
    from click 8.5 on)."""
    first = text.strip().split(". ")[0].rstrip(".")
    if len(first) <= limit:
        return first
    return first[: max(0, limit - 3)].rsplit(" ", 1)[0] + "..."


class Slokit(click.Group):
    """Runs a command with slokit's logging on stderr, and maps slokit's errors to exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click lists commands, from the table's short help (no command module imported)."""
        limit = formatter.width - 6 - max(map(len, COMMANDS))
        with formatter.section("Commands"):
            formatter.write_dl([(name, _short(COMMANDS[name][2], limit)) for name in sorted(COMMANDS)])

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

