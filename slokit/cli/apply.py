"""`slokit apply grafana`: put the generated dashboards into Grafana."""

from __future__ import annotations

import click

from slokit.cli.errors import FAILED


@click.group()
def apply() -> None:
    """Push generated artefacts to running systems (Grafana)."""


@apply.command("grafana")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--folder", default="SLOs", show_default=True, help="Folder title; created if missing.")
@click.option("--folder-uid", default="slokit", show_default=True, help="Folder uid used when creating it.")
@click.option("--dry-run", is_flag=True, help="Change nothing; show what would change, as a diff.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per request.")
@click.option("--retries", default=3, show_default=True, help="Attempts per request on 5xx and connection errors.")
@click.pass_context
def apply_grafana(ctx: click.Context, paths: tuple[str, ...], folder: str, folder_uid: str, dry_run: bool,
                  timeout: float, retries: int) -> None:
    """Upload dashboards (from `slokit generate`) to Grafana, writing only those that changed.

    Reads GRAFANA_URL and GRAFANA_TOKEN (a service account token) from the environment. Exits 1 when
    any dashboard failed, 2 when a file, the settings or the token are wrong, 3 when Grafana cannot be
    reached.

    \b
    Examples:
      slokit apply grafana build/dashboards/ --dry-run
      GRAFANA_URL=https://grafana.example.com GRAFANA_TOKEN=... slokit apply grafana build/dashboards/
    """
    from slokit.apply import grafana
    from slokit.http import Retry

    def report(i: int, n: int, result: grafana.Result) -> None:
        click.echo(f"[{i}/{n}] {result.line()}")
        if dry_run and result.diff:
            click.echo(result.diff, nl=False)

    dashboards = grafana.load(paths)
    api = grafana.connect(timeout=timeout)
    run = grafana.apply(api, dashboards, folder, folder_uid, dry_run, Retry(attempts=max(1, retries)), report)
    click.echo(f"folder {run.folder}")
    click.echo(run.summary())
    if run.counts()["failed"]:
        ctx.exit(FAILED)
