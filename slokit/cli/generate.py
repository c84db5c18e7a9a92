"""`slokit validate` and `slokit generate`: specs in, files out (or a list of what drifted)."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable
from pathlib import Path

import click

from slokit.cli import sloth_flags
from slokit.cli.common import read_specs
from slokit.cli.errors import FAILED
from slokit.cli.output import NEXT, pending, stale, write_set
from slokit.cli.progress import Progress
from slokit.errors import InputError, Problem
from slokit.generate.rules import FORMATS
from slokit.spec.loader import spec_files
from slokit.spec.model import Spec
from slokit.spec.options import Options
from slokit.spec.policy import load_policy, policy_files
from slokit.spec.source import Doc, read_documents

ALERTMANAGER_BASE = click.option(
    "--alertmanager-base", "am_base", type=click.Path(exists=True, dir_okay=False),
    help="Your alertmanager.yml: alertmanager/alertmanager.yml is it plus the silence groups' routes, "
         "inhibit rules and time intervals (a re-run replaces slokit's parts, keeps yours).")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@ALERTMANAGER_BASE
@sloth_flags.spec_options
def validate(paths: tuple[str, ...], am_base: str | None, extra_labels: dict[str, str], default_period: int | None,
             windows_path: str | None) -> None:
    """Check spec files (slokit/v1; Sloth prometheus/v1 and CRDs, Pyrra CRDs, OpenSLO) and folders of them.

    Exits 0 when every spec is valid, 2 with file:line: field: message for each problem. Runtime
    `policy:` sections inside specs, and policy files (slokit/policy/v1) among the paths, are checked
    too; a policy that can lock a service out or hold longer than it says gets a warning.

    \b
    Example:
      slokit validate examples/ ../sloth-specs/home-wifi.yml
    """
    spec, policies, _ = _checked(paths, sloth_flags.options(extra_labels, default_period, windows_path), am_base)
    click.echo(f"{len(spec.slos)} SLO(s) valid in {len({s.source.file for s in spec.slos if s.source})} file(s)"
               + (f"; {policies} policy file(s) valid" if policies else ""))


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", default="build", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write into (rules/ and rules/tests/ below it).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="prometheus", show_default=True,
              help="Rules as plain Prometheus rule files, a PrometheusRule CRD, or a Mimir/Cortex ruler namespace.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if the files on disk differ from what would be generated.")
@ALERTMANAGER_BASE
@click.option("--dashboards-jsonnet", "dashboards_entry", type=click.Path(dir_okay=False), default=None,
              help="Your jsonnet entry for OUT/dashboards/*.json (a function(model) that may import "
                   "'slokit.libsonnet'; default: slokit's dashboards/lib/main.jsonnet).")
@click.option("--quiet", "-q", is_flag=True,
              help="No progress, notes or summary (spec warnings and errors still go to stderr).")
@sloth_flags.spec_options
@sloth_flags.output_options
@click.pass_context
def generate(ctx: click.Context, paths: tuple[str, ...], out: str, fmt: str, check: bool, am_base: str | None,
             dashboards_entry: str | None, quiet: bool, extra_labels: dict[str, str], default_period: int | None,
             windows_path: str | None, disable_alerts: bool, disable_recordings: bool) -> None:
    """Generate rules, promtool tests, Alertmanager config, dashboards and delivery templates from specs.

    Writes OUT/rules/<service>.yml, OUT/rules/tests/<service>.test.yml, OUT/alertmanager/alertmanager.yml
    (when specs name silence groups), OUT/dashboards/*.json and OUT/delivery/ (Argo Rollouts, Flagger).

    Output is deterministic: the same specs give byte-identical files, so they can be committed and
    checked in CI with --check. OUT/.slokit-cache keeps each service's files, so a re-run renders only
    the services that changed; deleting it is safe. Long runs show progress on a terminal.

    Each of slokit's folders (rules/, alertmanager/, dashboards/, delivery/) is built complete and swapped
    in by one rename: a reader, or a run killed at any moment, sees the old files or the new ones, never a
    mix. Your own files in those folders are kept; slokit's files (they carry its header) that the specs
    no longer make are removed, and --check reports them. Nothing else in OUT is touched (--out . is safe).

    \b
    Examples:
      slokit generate examples/ --out build/
      slokit generate slos/ --out deploy/ --format prometheus-operator
      slokit generate examples/ --out . --check     # CI: fail on drift
      slokit generate slos/ --out build/ --alertmanager-base /etc/alertmanager/alertmanager.yml
      slokit generate sloth-specs/ --out build/ -l env=prod --default-slo-period 28d   # Sloth's flags
    """
    gc.disable()  # a short batch job: the cycle collector only slows large runs (bench/generate.py)
    spec, _, base = _checked(paths, sloth_flags.options(extra_labels, default_period, windows_path), am_base)
    if disable_alerts:
        spec = sloth_flags.without_alerts(spec)
    # Imported here: `slokit validate` and `slokit --help` need none of the generators.
    from slokit.generate import files as generated
    from slokit.generate.cache import DIR as CACHE_DIR
    from slokit.generate.cache import Cache

    root = Path(out)
    cache = Cache(root / CACHE_DIR, out=root)
    progress = Progress(quiet)
    notes: list[str] = []
    files = generated.stream(spec, fmt, dashboards_entry, base, workers=len(os.sched_getaffinity(0)), cache=cache,
                             progress=progress, notes=notes)
    if disable_recordings:
        files = sloth_flags.without_recordings(files, root, notes)
    try:
        if check:
            names, drift = _compare(root, files)
        else:
            names, removed = write_set(root, files)  # each folder swapped in whole: old or new, never a mix
    finally:
        progress.close()
    if check:
        for name in drift:
            click.echo(f"differs: {root / name}", err=True)
        old = stale(root, names)  # slokit's files the specs no longer make
        for name in old:
            click.echo(f"stale: {root / name}", err=True)
        if pending(root):
            click.echo(f"note: {root / NEXT} is left from an interrupted run; the next generate settles it", err=True)
        if drift or old:
            click.echo(f"{len(drift) + len(old)} file(s) out of date; run: slokit generate {' '.join(paths)} "
                       f"--out {out}", err=True)
            ctx.exit(FAILED)
        click.echo(f"{len(names)} file(s) up to date")
        return
    cache.save()
    if quiet:
        return
    for name in removed:
        click.echo(f"removed stale: {root / name}", err=True)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{len(spec.slos)} SLO(s) -> {len(names)} file(s) in {root}/")


def _compare(root: Path, files: Iterable[tuple[str, str | None]]) -> tuple[set[str], list[str]]:
    """The names of the files, and those that differ on disk (text None: the cache found it as made)."""
    names: set[str] = set()
    drift = []
    for name, text in files:
        names.add(name)
        if text is not None and _read(root / name) != text:
            drift.append(name)
    return names, drift


def _checked(paths: tuple[str, ...], options: Options, am_base: str | None) -> tuple[Spec, int, Doc | None]:
    """What `validate` checks and `generate` needs, in one place so both refuse the same input: the specs
    (their policy: sections too), the policy files among the paths, and the receivers the silence groups
    name (in the specs or the base config). Policy warnings go to stderr; returns the number of policy files."""
    spec = read_specs(paths, options)
    policies = policy_files(spec_files(paths))
    for file in policies:
        for warning in load_policy(file, spec.slos).warnings:
            click.echo(warning, err=True)
    base = _alertmanager_base(am_base) if am_base else None
    if spec.silence_groups or base is not None:
        from slokit.generate.alertmanager import config  # raises SpecError for an unknown receiver

        config(spec.silence_groups, base)
    return spec, len(policies), base


def _alertmanager_base(path: str) -> Doc:
    """The --alertmanager-base file as a document (lines kept for messages); InputError if it is not YAML."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(path, 0, "", f"cannot read: {exc}")]) from None
    docs = read_documents(path, text)
    if not docs:
        raise InputError([Problem(path, 0, "", "empty: expected an Alertmanager config")])
    return docs[0]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None

