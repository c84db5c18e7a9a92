"""`slokit gate`: may a new version take more traffic? Once, or as a Flagger/Argo Rollouts webhook server."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from slokit.cli.common import read_specs


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--prometheus", "prometheus_url", required=True,
              help="A Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics) with the generated rules.")
@click.option("--slo", "slo_ids", multiple=True, help="Only these SLOs (service-name); default: every SLO in PATHS.")
@click.option("--canary", help="Canary label value; compares it with --baseline (overrides the specs' gate.canary).")
@click.option("--baseline", help="Baseline (stable) label value.")
@click.option("--label", help="Label telling the versions apart (default: version).")
@click.option("--window", help="Traffic compared, e.g. 10m.")
@click.option("--min-requests", type=int, help="Fewer requests on either side: exit 3 (cannot decide).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as JSON: every check, its query, value, threshold.")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per query.")
@click.option("--auth-header-env", help="Environment variable holding the whole Authorization header value.")
@click.option("--serve", is_flag=True,
              help="Serve Flagger webhooks (POST /flagger) and Argo Rollouts' web provider (/argo).")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve: address to listen on.")
@click.option("--port", default=9097, show_default=True, type=click.IntRange(0, 65535), help="With --serve: port.")
@click.pass_context
def gate(ctx: click.Context, paths: tuple[str, ...], prometheus_url: str, slo_ids: tuple[str, ...],
         canary: str | None, baseline: str | None, label: str | None, window: str | None, min_requests: int | None,
         as_json: bool, timeout: float, auth_header_env: str | None, serve: bool, host: str, port: int) -> None:
    """Release gate: may a new version take more traffic? Exit 0 pass, 1 fail, 3 cannot decide.

    Checks each SLO's remaining budget and burn and, with a canary, the canary's error ratio against the
    baseline's (one-sided Fisher's exact test, minimum requests). No data, too little traffic or an
    unreachable Prometheus give 3, never a pass; invalid specs or flags give 2. See docs/delivery.md.

    \b
    Examples:
      slokit gate examples/checkout.yml --prometheus http://prometheus:9090 --canary v2 --baseline v1
      slokit gate slos/ --prometheus http://prometheus:9090 --json
      slokit gate slos/ --prometheus http://prometheus:9090 --serve --port 9097
    """
    from slokit import gate as gates
    from slokit.gate.checks import unsplittable

    slos = [s for s in read_specs(paths).slos if not slo_ids or s.id in slo_ids]
    if slo_ids and not slos:
        raise click.UsageError(f"no SLO named {', '.join(slo_ids)} in {', '.join(paths)}")
    secret = os.environ.get(auth_header_env) if auth_header_env else None
    query = gates.prometheus_query(prometheus_url, timeout, {"Authorization": secret} if secret else {})
    given = {"canary": canary, "baseline": baseline, "label": label, "window": window,
             "min_requests": None if min_requests is None else str(min_requests)}
    try:
        _, cli_canary = gates.overrides({k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if cli_canary and (cannot := unsplittable(slos)):
        raise click.UsageError(f"--canary/--baseline/--label/--window/--min-requests compare versions, which "
                               f"{', '.join(cannot)} cannot (events or raw SLIs); choose the others with --slo")

    def run(ids: list[str], fields: dict[str, Any]) -> gates.Report:
        chosen = [s for s in slos if not ids or s.id in ids]
        return gates.evaluate(chosen, query, {**cli_canary, **fields})

    if serve:
        server = gates.make_server(run, host, port)
        click.echo(f"slokit gate serving on http://{host}:{server.server_address[1]}/ (POST /flagger, /argo)",
                   err=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
        return
    report = run([], {})
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for check in report.checks:
            click.echo(f"  {check.status:9} {check.slo} {check.check}: {check.detail}")
        click.echo(report.line())
    ctx.exit(report.exit_code)  # gate.EXIT_CODES: 0 only for a pass
