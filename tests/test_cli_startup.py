"""`slokit --help` and `slokit validate` answer at once: a command's module loads only when it runs, and
neither imports the HTTP clients, jsonnet, OpenTelemetry or the metrics client."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from slokit.cli import COMMANDS, main
from tests.conftest import EXAMPLES, ROOT

HEAVY = ["requests", "urllib3", "rjsonnet", "_gojsonnet", "_jsonnet", "orjson", "opentelemetry", "grafana_client",
         "prometheus_client", "starlette", "httpx", "slokit.generate.dashboards", "slokit.runtime"]


def imported_by(*args: str) -> set[str]:
    """Top-level modules and slokit modules a fresh interpreter holds after running `slokit ARGS`."""
    code = ("import sys\nfrom slokit.cli import main\n"
            f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
            "print(__import__('json').dumps(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["validate", str(EXAMPLES)]])
def test_help_and_validate_import_none_of_the_heavy_parts(args):
    modules = imported_by(*args)
    assert [m for m in HEAVY if m in modules] == []


def test_help_imports_no_command_module():
    assert {m for m in imported_by("--help") if m.startswith("slokit.")} == {"slokit.cli", "slokit.cli.errors",
                                                                                "slokit.errors"}


def test_the_command_table_says_what_each_command_says_of_itself():
    ctx = click.Context(main)
    for name, (_, _, short) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=1000) == short
