"""`slokit convert`: Sloth, Pyrra and OpenSLO specs to slokit/v1 (or to OpenSLO v1), so a team migrates once."""

from __future__ import annotations

import os
from pathlib import Path

import click

from slokit.cli import sloth_flags
from slokit.cli.common import read_specs
from slokit.cli.output import write_file
from slokit.errors import ConfigError, InputError, Problem
from slokit.generate import convert as to_text
from slokit.spec.loader import spec_files
from slokit.spec.model import SLO


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--to", "target", type=click.Choice(to_text.TARGETS), default="slokit", show_default=True,
              help="slokit/v1, or OpenSLO v1 (SLO documents; refused for what OpenSLO cannot say).")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Folder for the converted files (the inputs' names, under it); default: standard output.")
@sloth_flags.spec_options
def convert(paths: tuple[str, ...], target: str, out: str | None, extra_labels: dict[str, str],
            default_period: int | None, windows_path: str | None) -> None:
    """Convert spec files to slokit/v1 (or OpenSLO v1): each input file becomes one file of the same name.

    The specs are validated first (errors: exit 2, nothing written). Comments above each document and each
    SLO are kept; slokit/v1 files are copied as they are. Sloth's flags apply as in `generate`, so a Sloth
    spec converted with --default-slo-period 28d says `period: 28d` and carries Sloth's 28d windows.

    \b
    Examples:
      slokit convert sloth-specs/ --out slos/
      slokit convert pyrra/api-errors.yaml
      slokit convert slos/ --to openslo --out openslo/
    """
    spec = read_specs(paths, sloth_flags.options(extra_labels, default_period, windows_path))
    by_file: dict[str, list[SLO]] = {}
    for slo in spec.slos:
        by_file.setdefault(slo.source.file if slo.source else "", []).append(slo)
    outputs = {file: _convert(file, slos, target) for file, slos in by_file.items()}
    if out is None:
        click.echo("---\n".join(outputs.values()), nl=False)
        return
    targets = _targets(paths, list(outputs), Path(out))
    for file, text in outputs.items():
        write_file(targets[file], text)  # whole or absent
    click.echo(f"{len(spec.slos)} SLO(s) from {len(outputs)} file(s) -> {out}/", err=True)


def _convert(file: str, slos: list[SLO], target: str) -> str:
    text = Path(file).read_text(encoding="utf-8")
    formats = {s.source.format for s in slos if s.source}
    if target == "slokit" and "slokit/v1" in formats:
        if formats != {"slokit/v1"}:
            raise InputError([Problem(file, 0, "", "mixes slokit/v1 with other formats: split it, then convert "
                                                   "the other part")])
        return text  # already slokit/v1: its policy, gate and Alertmanager sections stay as written
    if target == "openslo":
        return to_text.openslo_v1(slos)
    return to_text.slokit_v1(slos, to_text.comments_of(text))


def _targets(paths: tuple[str, ...], files: list[str], out: Path) -> dict[str, Path]:
    """Each input file's output path: its path below the folder named, or its name for a file named."""
    targets: dict[str, Path] = {}
    for path in paths:
        root = Path(path)
        for file in spec_files([path]):
            if file in files and file not in targets:
                rel = Path(os.path.relpath(file, root)) if root.is_dir() else Path(root.name)
                targets[file] = out / rel
    for file, target in targets.items():
        if target.resolve() == Path(file).resolve():
            raise ConfigError(f"{file}: converting would overwrite the input; choose another --out")
    if len(set(targets.values())) != len(targets):
        raise ConfigError("two inputs would be written to the same file; convert them separately")
    return targets
