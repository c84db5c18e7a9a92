"""`slokit serve`: the SLO console over Prometheus, as a small web server."""

from __future__ import annotations

import os

import click

from slokit.cli.common import read_specs


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path())
@click.option("--prometheus", "prometheus_url", required=True,
              help="A Prometheus-compatible API evaluating the rules `slokit generate` wrote.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--alertmanager", "alertmanager_url",
              help="Alertmanager the alerts go to: firing alerts show whether it silenced or inhibited them, and "
                   "link to its UI ($SLOKIT_ALERTMANAGER_TOKEN: a bearer token for it).")
@click.option("--prometheus-link", help="Prometheus as people's browsers reach it, for the 'run it' links "
                                         "(default: the --prometheus URL without credentials).")
@click.option("--cache", "ttl", type=click.FloatRange(0.5, 600),
              help="Seconds an answer is reused (default: the rules' evaluation step, at most 15s).")
@click.option("--timeout", default=3.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="Seconds per Prometheus query, in all.")
@click.option("--team-label", default="team", show_default=True, help="The SLO label the team filter reads.")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False),
              help="Degrade policy file: its breakers and switches' transitions mark the charts of the SLOs its "
                   "rules watch (default: the `policy:` sections of the specs).")
@click.option("--prometheus-auth-env", metavar="NAME",
              help="An environment variable holding the whole Authorization header for Prometheus "
                   "(e.g. \"Bearer ...\"); never printed.")
def serve(specs: tuple[str, ...], prometheus_url: str, host: str, port: int, alertmanager_url: str | None,
          prometheus_link: str | None, ttl: float | None, timeout: float, team_label: str,
          prometheus_auth_env: str | None, policy_file: str | None) -> None:
    """Serve an SLO console: every SLO's budget, burn per alert window and alerts, read from Prometheus.

    A list of SLOs (filter by service, team or "burning now"; worst first), a page per SLO with its
    budget burn-down and SLI charts, its alert conditions in words and PromQL, and its groups, and the
    same as JSON under /api/slos. Read-only; set SLOKIT_SERVE_TOKEN (bearer) or SLOKIT_SERVE_USER and
    SLOKIT_SERVE_PASSWORD (basic) to require credentials. When Prometheus is down or slow, the pages
    show the last good data with its age.

    \b
    Examples:
      slokit serve slos/ --prometheus http://127.0.0.1:9090
      slokit serve slos/ --prometheus http://prometheus:9090 --host 0.0.0.0 --port 8080
    """
    from slokit.errors import ConfigError
    from slokit.http import http_url
    from slokit.serve import Alertmanager, Auth, Console, ConsoleApp, Prometheus, make_console_server
    from slokit.spec.policy import load_policy

    spec = read_specs(specs)
    slos = spec.slos
    auth = Auth.from_env()
    every = ttl if ttl is not None else float(min(15, min(slo.table.step for slo in slos)))
    headers = {}
    if prometheus_auth_env:
        value = os.environ.get(prometheus_auth_env)
        if not value:
            raise ConfigError(f"--prometheus-auth-env: ${prometheus_auth_env} is not set")
        headers["Authorization"] = value
    prom = Prometheus(http_url(prometheus_url, "--prometheus"), timeout, headers, link=prometheus_link)
    manager = None
    if alertmanager_url:
        token = os.environ.get("SLOKIT_ALERTMANAGER_TOKEN")
        manager = Alertmanager(http_url(alertmanager_url, "--alertmanager"), timeout,
                               {"Authorization": f"Bearer {token}"} if token else None)
    policy = load_policy(policy_file, slos) if policy_file else spec.policy
    console = Console(tuple(slos), prom, every, team_label, alertmanager=manager, policy=policy)
    try:
        server = make_console_server(ConsoleApp(console, auth), host, port)
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound = server.server_address[1]
    click.echo(f"slokit serve: {len(slos)} SLOs from {prom.where} on http://{host}:{bound}/ "
               f"(answers cached {every:g}s{', auth required' if auth.required else ''}); Ctrl-C stops", err=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
