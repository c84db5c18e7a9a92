"""`slokit simulate`: replay events through the runtime's engine and policy, or a staged rollout's gate."""

from __future__ import annotations

import json

import click

from slokit import promql
from slokit.cli.common import read_specs
from slokit.cli.errors import FAILED, OK
from slokit.errors import Problem, SpecError
from slokit.spec.model import Spec


@click.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False))
@click.option("--spec", "specs", multiple=True, required=True, type=click.Path(),
              help="Spec files or folders (repeatable).")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False),
              help="Policy file; default: the `policy:` sections of the specs.")
@click.option("--until", default="0s", show_default=True,
              help="Go on this long after the last event (e.g. 2h) to see recoveries.")
@click.option("--step", default=None, help="Evaluate every STEP of simulated time (default: one engine bucket).")
@click.option("--rollout", "rollout_events", type=click.Path(exists=True, dir_okay=False),
              help="A canary's events: replay a staged rollout against EVENTS (the stable version's) with the "
                   "spec's gate; print each stage's decision (docs/delivery.md).")
@click.option("--stages", default="1,10,50", show_default=True, help="With --rollout: canary weights in percent.")
@click.option("--stage-duration", default="10m", show_default=True, help="With --rollout: time per stage.")
@click.option("--slo", "slo_id", help="With --rollout: the SLO (default: the only one with a gate canary).")
@click.pass_context
def simulate(ctx: click.Context, events: str, specs: tuple[str, ...], policy_file: str | None, until: str,
             step: str | None, rollout_events: str | None, stages: str, stage_duration: str,
             slo_id: str | None) -> None:
    """Replay events through the burn-rate engine and a degrade policy; print every decision as JSON lines.

    EVENTS is CSV (header `timestamp,slo,good,bad`, or `timestamp,slo,outcome`) or JSON lines with the same
    keys. See docs/runtime.md.

    \b
    Example:
      slokit simulate --spec examples/checkout.yml --policy examples/policy.yml events.csv --until 2h
    """
    from slokit.runtime.simulate import log as replay_log
    from slokit.runtime.simulate import read_events
    from slokit.runtime.simulate import simulate as replay
    from slokit.spec.policy import load_policy

    spec = read_specs(specs)
    if rollout_events:
        ctx.exit(_rollout(spec, events, rollout_events, stages, stage_duration, slo_id))
    try:
        extra = promql.parse_duration(until) if until not in ("0", "0s") else 0
        every = promql.parse_duration(step) if step else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    policy = load_policy(policy_file, spec.slos) if policy_file else spec.policy
    if not policy.rules:
        message = "no policy rules (give --policy or a `policy:` section)"
        raise SpecError([Problem(policy_file or specs[0], 0, "", message)])
    count = 0
    replay_log.disabled = True  # the decisions are printed below as JSON lines, not logged as well
    try:
        for record in replay(read_events(events), policy, spec.slos, until=extra, step=every, file=events):
            click.echo(json.dumps(record, sort_keys=True))
            count += 1
    finally:
        replay_log.disabled = False
    click.echo(f"{count} transition(s)", err=True)


def _rollout(spec: Spec, stable: str, canary: str, stages: str, stage_duration: str, slo_id: str | None) -> int:
    """`slokit simulate --rollout`: one JSON line per stage decision, then the outcome; 1 if stopped."""
    from slokit.rollout import per_second, simulate_rollout
    from slokit.runtime.simulate import read_events
    from slokit.spec.gate import effective

    gated = [(s, g, g.canary) for s in spec.slos if (slo_id is None or s.id == slo_id)
             and (g := effective(s)).canary is not None]
    if len(gated) != 1:
        raise click.UsageError(f"--rollout needs one SLO with a gate canary section; found {len(gated)}"
                               + ("" if slo_id else " (choose with --slo)"))
    [(slo, gate, canary_spec)] = gated
    try:
        weights = [float(w) / 100 for w in stages.split(",")]
        seconds = promql.parse_duration(stage_duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if not all(0 < w < 1 for w in weights):
        raise click.BadParameter("stages are canary weights in percent, each above 0 and below 100")
    try:
        records = list(simulate_rollout(slo.id, per_second(read_events(canary), slo.id),
                                        per_second(read_events(stable), slo.id), canary_spec, gate.stop, weights,
                                        seconds))
    except ValueError as exc:  # no events of the SLO in one of the files
        raise click.BadParameter(str(exc)) from None
    for record in records:
        click.echo(json.dumps(record, sort_keys=True))
    return OK if records[-1]["result"] == "promoted" else FAILED
