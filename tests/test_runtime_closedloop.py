"""`slokit simulate --closed-loop`: a policy tried on a model of its traffic, where its decisions feed back."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from slokit.cli import main
from tests.conftest import EXAMPLES

SPEC, POLICY = str(EXAMPLES / "checkout.yml"), str(EXAMPLES / "policy.yml")
OUTAGE = str(EXAMPLES / "scenarios" / "outage-2h.yml")


def run(*args: str):
    return CliRunner().invoke(main, ["simulate", "--spec", SPEC, *args])


def test_the_example_policy_passes_the_two_hour_outage_scenario() -> None:
    result = run("--policy", POLICY, "--closed-loop", OUTAGE)
    assert result.exit_code == 0, result.output
    *moves, last = [json.loads(line) for line in result.stdout.splitlines()]
    summary = last["summary"]
    [fault] = summary["faults"]
    assert fault["tripped_after"] <= 120 and fault["trips"] == 1 and fault["full_traffic_calls"] == 0
    assert fault["calls_after_trip"] <= 0.01 * fault["requests_after_trip"]
    assert fault["closed_after"] <= 15.5 * 60
    assert summary["requests"] == 126000 and summary["source"] == "engine"
    assert set(summary["budget_spent"]) == {"checkout-availability", "checkout-latency"}
    breaker = [(m["from"], m["to"], m["reason"]) for m in moves if m["target"] == "breaker:payments"]
    assert breaker[0] == ("closed", "open", "failure_rate")
    assert ("half_open", "open", "probes_failed") in breaker  # it probed during the outage
    assert breaker[-3:] == [("half_open", "ramp", "probes_passed"), ("ramp", "ramp", "ramp_step"),
                            ("ramp", "closed", "ramp_done")]
    assert "fault 1h..3h: tripped after 4.9s" in result.stderr and "expectations met" in result.stderr


def test_the_flaky_gateway_scenario_holds_longer_on_a_quick_retrip(tmp_path: Path) -> None:
    result = run("--policy", POLICY, "--closed-loop", str(EXAMPLES / "scenarios" / "flaky-gateway.yml"))
    assert result.exit_code == 0, result.output
    moves = [json.loads(line) for line in result.stdout.splitlines()][:-1]
    trips = [m for m in moves if m["target"] == "breaker:payments" and m["reason"].startswith("policy")
             and m["to"] == "open"]
    assert [(m["reason"], m["detail"]["hold"]) for m in trips] == [("policy", 600.0), ("policy_retrip", 1200.0)]
    assert trips[1]["detail"]["retrips"] == 1
    switch = [m["to"] for m in moves if m["target"] == "switch:recommendations"]
    assert switch[:5] == ["off", "ramp", "ramp", "on", "off"]  # back at 25%, 50%, all, then off on the re-trip


def test_an_expectation_a_policy_misses_exits_1_and_says_which(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(Path(POLICY).read_text().replace("failure_rate: 50 ", "failure_rate: off ")
                      + "source: {prometheus: {url: 'http://127.0.0.1:9'}}\n")
    result = run("--policy", str(policy), "--closed-loop", OUTAGE)
    assert result.exit_code == 1, result.output
    assert f"{policy}:" in result.stderr and "warning: rules[0].open_breakers[0]" in result.stderr
    assert (f"{OUTAGE}:22: expect.close_within: fault at line 17 (1h..3h): the breaker was not closed again by the "
            "end of the run (a lock-out?), expected within 15m30s") in result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["faults"][0]["closed_after"] is None


def test_a_bad_scenario_says_where(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yml"
    scenario.write_text("""\
version: slokit/scenario/v1
duration: 1h
traffic: {slo: checkout-availability, rate: 0}
dependency:
  breaker: payments
  faults:
    - {from: 30m, to: 10m, down: true}
    - {from: 20m, to: 2h, error_ratio: 2}
    - {from: 50m, to: 55m}
""")
    result = run("--policy", POLICY, "--closed-loop", str(scenario))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:5] == [
        f"{scenario}:3: traffic.rate: must be a number of requests per second above 0 (at most 10000)",
        f"{scenario}:7: dependency.faults[0].to: must be after `from`",
        f"{scenario}:8: dependency.faults[1].to: is after the end of the scenario (`duration`)",
        f"{scenario}:8: dependency.faults[1].error_ratio: must be a share between 0 and 1 (or a percentage like 1%)",
        f"{scenario}:9: dependency.faults[2]: needs down: true, error_ratio or latency",
    ]
    scenario.write_text(scenario.read_text().replace("rate: 0", "rate: 10").replace("breaker: payments",
                                                                                     "breaker: paymnets"))
    scenario.write_text("version: slokit/scenario/v1\nduration: 1h\ntraffic: {slo: checkout-availability, rate: 1}\n"
                        "dependency: {breaker: paymnets}\n")
    result = run("--policy", POLICY, "--closed-loop", str(scenario))
    assert result.exit_code == 2
    assert f"{scenario}:4: dependency.breaker: no breaker 'paymnets' in the policy (known: payments)" in result.stderr


def test_events_and_a_scenario_are_one_or_the_other(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("timestamp,slo,good,bad\n0,checkout-availability,1,0\n")
    result = run("--policy", POLICY, "--closed-loop", OUTAGE, str(events))
    assert result.exit_code == 2 and "give EVENTS to replay, or --closed-loop SCENARIO (not both)" in result.output
    assert run("--policy", POLICY).exit_code == 2
