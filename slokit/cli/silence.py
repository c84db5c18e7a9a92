"""`slokit silence add|list|expire`: a silence group's silences through Alertmanager's v2 API."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import click

from slokit import promql
from slokit.apply import alertmanager as silences
from slokit.cli.common import read_specs
from slokit.errors import ConfigError
from slokit.http import printable
from slokit.spec.alertmanager import Group


@click.group()
def silence() -> None:
    """Silence a silence group's alerts through Alertmanager's v2 API.

    The silences' matchers cover exactly the group's alerts: its SLOs' page and ticket alerts and the
    symptom alerts it declares. Alertmanager's URL comes from --url or SLOKIT_ALERTMANAGER_URL; a bearer
    token from SLOKIT_ALERTMANAGER_TOKEN(_FILE), or basic auth from SLOKIT_ALERTMANAGER_USER and
    SLOKIT_ALERTMANAGER_PASSWORD(_FILE).

    \b
    Examples:
      slokit silence add payments -s slos/ --duration 2h --comment "DB failover, CHG-1234"
      slokit silence list -s slos/
      slokit silence expire payments -s slos/
    """


_spec_option = click.option("-s", "--spec", "specs", multiple=True, required=True, type=click.Path(),
                            help="Spec file or folder declaring the silence groups (repeatable).")
_url_option = click.option("--url", envvar=silences.ENV_URL,
                           help=f"Alertmanager base URL [env: {silences.ENV_URL}].")
_timeout_option = click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
                               help="Seconds per request, all of it (a server that drips or hangs is cut off).")


def _silence_group(specs: tuple[str, ...], name: str | None) -> list[Group]:
    """The named group (or all) from the specs; ConfigError if there is no such group."""
    found = read_specs(specs).silence_groups
    if name is None:
        return list(found.values())
    if name not in found:
        raise ConfigError(f"no silence group {name!r} in {', '.join(specs)} (groups: {', '.join(found) or 'none'})")
    return [found[name]]


def _run(actions: list[silences.Action], client: silences.Client | None) -> None:
    """Print each action; send it unless this is a dry run (client None)."""
    for action in actions:
        if action.method is None:
            click.echo(f"unchanged: {action.why}")
        elif client is None:
            body = f" {json.dumps(action.body, sort_keys=True)}" if action.body else ""
            click.echo(f"would {action.method} {action.path}{body}  # {action.why}")
        else:
            answer = client.send(action)
            created = f" -> {printable(str(answer['silenceID']), 80)}" if isinstance(answer, dict) and \
                "silenceID" in answer else ""
            if isinstance(answer, dict) and answer.get("recovered"):
                created += " (stored, though Alertmanager's first answer was lost)"
            click.echo(f"{action.why}{created}")


@silence.command("add")
@click.argument("group")
@_spec_option
@click.option("--duration", required=True, help="How long, e.g. 30m, 2h, 1d.")
@click.option("--comment", required=True, help="Why (shown in Alertmanager), e.g. a change ticket.")
@click.option("--author", default=lambda: os.environ.get("USER") or "slokit", show_default="$USER",
              help="createdBy of the silences.")
@_url_option
@_timeout_option
@click.option("--dry-run", is_flag=True, help="Print the silences that would be created; send nothing (with a URL, "
                                              "existing silences are read to show which would be reused).")
def silence_add(group: str, specs: tuple[str, ...], duration: str, comment: str, author: str, url: str | None,
                timeout: float, dry_run: bool) -> None:
    """Silence GROUP's alerts for --duration; re-running reuses (or extends) an identical active silence."""
    try:
        length = timedelta(seconds=promql.parse_duration(duration))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--duration") from None
    [target] = _silence_group(specs, group)
    client = silences.Client.from_env(url, timeout=timeout) if url or not dry_run else None
    # A dry run with a URL still reads the existing silences (a GET), so it shows what a real run would do.
    existing = client.silences() if client else []
    actions = silences.plan_add(target, existing, datetime.now(UTC), length, author, comment)
    _run(actions, None if dry_run else client)


@silence.command("list")
@click.argument("group", required=False)
@_spec_option
@_url_option
@_timeout_option
@click.option("--all", "show_all", is_flag=True, help="Also list expired silences.")
def silence_list(group: str | None, specs: tuple[str, ...], url: str | None, timeout: float, show_all: bool) -> None:
    """List the silences of GROUP (or of every group): id, state, end, group, matchers, comment."""
    targets = _silence_group(specs, group)
    existing = silences.Client.from_env(url, timeout=timeout).silences()
    for target in targets:
        for matchers in target.silences():
            for s in silences.matching(existing, matchers, live_only=not show_all):
                text = ", ".join(m.text() for m in matchers)
                shown = [printable(str(s.get(k, "")), 200) for k in ("id", "endsAt", "comment")]
                click.echo(f"{shown[0]}  {printable(s['status']['state'], 20):<8} until {shown[1]}  {target.name}  "
                           f"{{{text}}}  {shown[2]}")


@silence.command("expire")
@click.argument("group")
@_spec_option
@_url_option
@_timeout_option
@click.option("--dry-run", is_flag=True, help="Print the silences that would be expired; expire nothing.")
def silence_expire(group: str, specs: tuple[str, ...], url: str | None, timeout: float, dry_run: bool) -> None:
    """Expire GROUP's active and pending silences (alerts notify again)."""
    [target] = _silence_group(specs, group)
    client = silences.Client.from_env(url, timeout=timeout)
    actions = silences.plan_expire(target, client.silences())
    _run(actions, None if dry_run else client)
    if not actions:
        click.echo(f"no active silences for group {group!r}")
