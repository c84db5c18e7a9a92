"""The `slokit` command. I/O lives here; everything it calls is pure."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from slokit import __version__
from slokit.generate import files as generated
from slokit.generate.rules import FORMATS
from slokit.spec import Spec, SpecError, load

EXIT_INVALID = 2


def read_specs(paths: tuple[str, ...]) -> Spec:
    """Load specs or print every problem (file:line: field: message) and exit 2."""
    try:
        spec = load(paths)
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        errors = sum(1 for p in exc.problems if not p.warning)
        click.echo(f"{errors} error(s); nothing written", err=True)
        sys.exit(EXIT_INVALID)
    for warning in spec.warnings:
        click.echo(warning, err=True)
    return spec


def write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slokit")
def main() -> None:
    """slokit: SLO specs to Prometheus rules, alerts and their tests.

    \b
    Examples:
      slokit validate slos/
      slokit generate slos/ --out build/
      promtool check rules build/rules/*.yml
      promtool test rules build/rules/tests/*.test.yml
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check spec files (slokit/v1, Sloth prometheus/v1, OpenSLO v1) and folders of them.

    Exits 0 when every spec is valid, 2 with file:line: field: message for each problem.

    \b
    Example:
      slokit validate examples/ ../sloth-specs/home-wifi.yml
    """
    spec = read_specs(paths)
    click.echo(f"{len(spec.slos)} SLO(s) valid in {len({s.source.file for s in spec.slos if s.source})} file(s)")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", default="build", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write into (rules/ and rules/tests/ below it).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="prometheus", show_default=True,
              help="Rules as plain Prometheus rule files, a PrometheusRule CRD, or a Mimir/Cortex ruler namespace.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files on disk differ from what would be generated.")
def generate(paths: tuple[str, ...], out: str, fmt: str, check: bool) -> None:
    """Generate Prometheus rules and promtool tests from specs.

    Output is deterministic: the same specs give byte-identical files, so they can be committed and
    checked in CI with --check.

    \b
    Examples:
      slokit generate examples/ --out build/
      slokit generate slos/ --out deploy/ --format prometheus-operator
      slokit generate examples/ --out . --check     # CI: fail on drift
    """
    spec = read_specs(paths)
    files, notes = generated.generate(spec, fmt)
    root = Path(out)
    if check:
        drift = [name for name, text in files.items() if _read(root / name) != text]
        for name in drift:
            click.echo(f"differs: {root / name}", err=True)
        if drift:
            click.echo(f"{len(drift)} file(s) out of date; run: slokit generate {' '.join(paths)} --out {out}", err=True)
            sys.exit(1)
        click.echo(f"{len(files)} file(s) up to date")
        return
    for name, text in files.items():
        write_atomically(root / name, text)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{len(spec.slos)} SLO(s) -> {len(files)} file(s) in {root}/")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
