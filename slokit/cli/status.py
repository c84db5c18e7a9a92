"""`slokit status` (SLOs, breakers and switches as tables) and `slokit demo` (watch the loop)."""

from __future__ import annotations

import json

import click

from slokit.cli.common import read_specs


@click.command()
@click.option("--url", help="A running service's status page or its status.json (e.g. http://127.0.0.1:8000/slokit/).")
@click.option("--prometheus", "prometheus_url",
              help="A Prometheus-compatible API evaluating the rules `slokit generate` wrote.")
@click.option("-s", "--spec", "specs", multiple=True, type=click.Path(),
              help="Spec files or folders: the SLOs to show (required with --prometheus).")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as JSON instead of tables.")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per request.")
def status(url: str | None, prometheus_url: str | None, specs: tuple[str, ...], as_json: bool, timeout: float) -> None:
    """Show SLOs (objective, SLI, budget remaining, burn per window), breakers and switches as tables.

    From a running service's status page (--url), or from Prometheus' recorded rules (--prometheus with
    --spec; breakers and switches come from the runtime's metrics if Prometheus scrapes them). Exits 3
    when the service or Prometheus cannot be read.

    \b
    Examples:
      slokit status --url http://127.0.0.1:8000/slokit/
      slokit status --prometheus http://prometheus:9090 -s slos/
    """
    from slokit.status import terminal

    if url is not None and prometheus_url is None:
        snapshot = terminal.from_service(url, timeout)
    elif prometheus_url is not None and url is None:
        if not specs:
            raise click.UsageError("--prometheus needs --spec (which SLOs, and their windows)")
        snapshot = terminal.from_prometheus(terminal.Prometheus(prometheus_url, timeout), read_specs(specs).slos)
    else:
        raise click.UsageError("give either --url or --prometheus")
    click.echo(json.dumps(snapshot, indent=2, sort_keys=True) if as_json else terminal.render(snapshot))


@click.command()
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(0.25, 20),
              help="Run the story's clock this many times faster (4: about 15 seconds).")
@click.option("--no-fault", "no_fault", is_flag=True, help="Inject no fault: the burn stays low, nothing trips.")
@click.option("--fault", "fault_for", default="18s", show_default=True,
              help="How long the gateway fails (story time, 1s to 5m). Longer than the 20s hold, e.g. 90s: the "
                   "breaker probes through the fault and ramps traffic back after it, without flapping.")
@click.option("--serve", "keep_serving", is_flag=True,
              help="Keep serving the service and its status page after the story.")
@click.option("--port", default=0, show_default="a free port", type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 for the service and its status page (/slokit/).")
@click.pass_context
def demo(ctx: click.Context, speed: float, no_fault: bool, fault_for: str, keep_serving: bool, port: int) -> None:
    """Watch the loop: an instrumented service burns its error budget, degrades itself and recovers.

    Starts a checkout service on 127.0.0.1 with slokit's middleware and in-process runtime, sends it
    traffic, makes its payment gateway fail after a calm start, and prints the timeline: burn per window,
    the page-level burn, the breaker opening, the switch degrading, the fallback serving, the probes
    during the fault, its end and the ramped recovery. About a minute; exits 0 when the story went as
    told (recovered, no flapping), 1 when it did not.

    \b
    Examples:
      slokit demo
      slokit demo --fault 90s --speed 4
      slokit demo --speed 4 --serve      # then open http://127.0.0.1:PORT/slokit/
    """
    from slokit import promql
    from slokit.demo.story import run

    try:
        seconds = promql.parse_seconds(fault_for)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    if not 1 <= seconds <= 300:
        raise click.BadParameter(f"{fault_for} is not between 1s and 5m", param_hint="--fault")
    ctx.exit(run(speed=speed, fault=not no_fault, fault_for=seconds, keep_serving=keep_serving, port=port))
