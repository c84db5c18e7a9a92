"""What several commands share: reading specs, with their warnings on stderr."""

from __future__ import annotations

import click

from slokit.errors import ConfigError
from slokit.spec import Spec, load
from slokit.spec.options import Options


def read_specs(paths: tuple[str, ...], options: Options | None = None) -> Spec:
    """Load specs (a SpecError goes to the CLI's handler); print the warnings; no SLO at all is an error.
    `options`: Sloth's flags (slokit.cli.sloth_flags)."""
    spec = load(paths, options)
    for warning in spec.warnings:
        click.echo(warning, err=True)
    if not spec.slos:  # an empty folder or a typo in a path is a mistake, not a success
        raise ConfigError(f"no SLOs found in {', '.join(paths)}; nothing written")
    return spec
