"""`slokit simulate`: replay events through the runtime's engine and policy, run a closed-loop scenario in
which the decisions feed back into the traffic, or a staged rollout's gate."""

from __future__ import annotations

import json

import click

from slokit import promql
from slokit.cli.common import read_specs
from slokit.cli.errors import FAILED, OK
from slokit.errors import Problem, SpecError
from slokit.spec.model import Spec
from slokit.spec.policy import Policy


@click.command()
@click.argument("events", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--spec", "specs", multiple=True, required=True, type=click.Path(),
              help="Spec files or folders (repeatable).")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False),
              help="Policy file; default: the `policy:` sections of the specs.")
@click.option("--until", default="0s", show_default=True,
              help="Go on this long after the last event (e.g. 2h) to see recoveries.")
@click.option("--step", default=None, help="Evaluate every STEP of simulated time (default: one engine bucket).")
@click.option("--closed-loop", "scenario_file", type=click.Path(exists=True, dir_okay=False),
              help="A scenario (slokit/scenario/v1: traffic, a dependency failing on a schedule, expectations) "
                   "run through the real breakers and policy in simulated time; no EVENTS. Exit 1 when an "
                   "expectation is not met.")
@click.option("--rollout", "rollout_events", type=click.Path(exists=True, dir_okay=False),
              help="A canary's events: replay a staged rollout against EVENTS (the stable version's) with the "
                   "spec's gate; print each stage's decision (docs/delivery.md).")
@click.option("--stages", default="1,10,50", show_default=True, help="With --rollout: canary weights in percent.")
@click.option("--stage-duration", default="10m", show_default=True, help="With --rollout: time per stage.")
@click.option("--slo", "slo_id", help="With --rollout: the SLO (default: the only one with a gate canary).")
@click.pass_context
def simulate(ctx: click.Context, events: str | None, specs: tuple[str, ...], policy_file: str | None, until: str,
             step: str | None, scenario_file: str | None, rollout_events: str | None, stages: str,
             stage_duration: str, slo_id: str | None) -> None:
    """Replay events through the burn-rate engine and a degrade policy; print every decision as JSON lines.

    EVENTS is CSV (header `timestamp,slo,good,bad`, or `timestamp,slo,outcome`) or JSON lines with the same
    keys. With --closed-loop, the traffic is a model instead and the decisions feed back into it: the
    output ends with a summary line (calls that reached the broken dependency, time to trip and to close,
    trips, budget spent). See docs/runtime.md.

    \b
    Examples:
      slokit simulate --spec examples/checkout.yml --policy examples/policy.yml events.csv --until 2h
      slokit simulate --spec examples/checkout.yml --policy examples/policy.yml \\
          --closed-loop examples/scenarios/outage-2h.yml
    """
    from slokit.runtime.simulate import log as replay_log
    from slokit.runtime.simulate import read_events
    from slokit.runtime.simulate import simulate as replay

    spec = read_specs(specs)
    if (events is None) == (scenario_file is None):
        raise click.UsageError("give EVENTS to replay, or --closed-loop SCENARIO (not both)")
    if scenario_file:
        ctx.exit(_closed_loop(spec, scenario_file, policy_file))
    assert events is not None
    if rollout_events:
        ctx.exit(_rollout(spec, events, rollout_events, stages, stage_duration, slo_id))
    try:
        extra = promql.parse_duration(until) if until not in ("0", "0s") else 0
        every = promql.parse_duration(step) if step else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    policy = _policy(spec, policy_file, specs[0])
    count = 0
    replay_log.disabled = True  # the decisions are printed below as JSON lines, not logged as well
    try:
        for record in replay(read_events(events), policy, spec.slos, until=extra, step=every, file=events):
            click.echo(json.dumps(record, sort_keys=True))
            count += 1
    finally:
        replay_log.disabled = False
    click.echo(f"{count} transition(s)", err=True)


def _policy(spec: Spec, policy_file: str | None, where: str) -> Policy:
    """The --policy file, or the specs' policy sections; rules are required; warnings go to stderr."""
    from slokit.spec.policy import load_policy

    policy = load_policy(policy_file, spec.slos) if policy_file else spec.policy
    for warning in policy.warnings:
        click.echo(warning, err=True)
    if not policy.rules:
        message = "no policy rules (give --policy or a `policy:` section)"
        raise SpecError([Problem(policy_file or where, 0, "", message)])
    return policy


def _closed_loop(spec: Spec, scenario_file: str, policy_file: str | None) -> int:
    """`slokit simulate --closed-loop`: transitions, then one summary line; 1 when an expectation failed."""
    from slokit.runtime import closedloop
    from slokit.runtime.scenario import load_scenario

    scenario = load_scenario(scenario_file)
    policy = _policy(spec, policy_file, scenario_file)
    closedloop.log.disabled = True  # printed below as JSON lines, not logged as well
    try:
        result = closedloop.run(scenario, policy, spec.slos)
    finally:
        closedloop.log.disabled = False
    for record in result.transitions:
        click.echo(json.dumps(record, sort_keys=True))
    click.echo(json.dumps({"summary": result.summary}, sort_keys=True))
    for r in result.faults:
        f = r.as_json()
        click.echo(f"fault {_span(r.fault.start)}..{_span(r.fault.end)}: tripped after {_span(f['tripped_after'])}, "
                   f"{r.calls_after_trip} of {r.requests_after_trip} requests after the trip reached the "
                   f"dependency, {r.trips} trip(s), closed {_span(f['closed_after'])} after it ended", err=True)
    for problem in result.violations:
        click.echo(str(problem), err=True)
    click.echo(f"{len(result.transitions)} transition(s); "
               + ("expectations met" if not result.violations else f"{len(result.violations)} expectation(s) not met"),
               err=True)
    return FAILED if result.violations else OK


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    whole = int(seconds)
    return promql.format_duration(whole) if whole >= 1 and whole == seconds else f"{seconds:g}s"


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
