"""`slokit simulate`: test a degrade policy on recorded or made-up traffic before trusting it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from slokit.cli import main
from tests.conftest import EXAMPLES

SPEC, POLICY = str(EXAMPLES / "checkout.yml"), str(EXAMPLES / "policy.yml")
WARMUP = 6 * 3600 + 600


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def step_csv(path: Path, ratio: float, minutes: float, every: int = 5) -> Path:
    """Healthy traffic for the warm-up, then `ratio` errors for `minutes`, then healthy for two hours."""
    rows, t = ["timestamp,slo,good,bad"], 0
    for seconds, r in ((WARMUP, 0.0), (minutes * 60, ratio), (7200, 0.0)):
        for _ in range(int(seconds // every)):
            bad = round(1000 * every * r)
            rows.append(f"{t},checkout-availability,{1000 * every - bad},{bad}")
            t += every
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("ratio", [0.05, 0.2])
def test_simulate_reproduces_the_theoretical_detection_time(tmp_path: Path, ratio: float) -> None:
    events = step_csv(tmp_path / "events.csv", ratio, minutes=30)
    result = run("simulate", "--spec", SPEC, "--policy", POLICY, str(events))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    opened = lines[0]
    assert set(opened) >= {"time", "slo", "target", "from", "to", "burn"}
    assert (opened["slo"], opened["target"], opened["from"], opened["to"]) == (
        "checkout-availability", "breaker:payments", "closed", "open")
    theory = 0.0144 * 60 / ratio * 60  # 30d / 99.9%: minutes until 1h burns at 14.4x
    assert abs(opened["time"] - WARMUP - theory) <= 30
    assert set(opened["burn"]) == {"5m", "1h"}
    assert [(x["target"], x["to"]) for x in lines] == [
        ("breaker:payments", "open"), ("switch:recommendations", "off"),
        # then back gradually: the breaker at 10%, 50% of the calls a minute each, the switch at 25%, 50%
        # of the users two minutes each
        ("breaker:payments", "ramp"), ("switch:recommendations", "ramp"), ("breaker:payments", "ramp"),
        ("breaker:payments", "closed"), ("switch:recommendations", "ramp"), ("switch:recommendations", "on")]
    assert "8 transition(s)" in result.stderr


def test_json_lines_per_request_events_and_iso_times(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    lines = []
    for i in range(400):  # one request per second, all failing after the first 100 seconds
        when = f"2026-11-23T10:{i // 60:02d}:{i % 60:02d}Z"
        lines.append(json.dumps({"timestamp": when, "slo": "checkout-availability",
                                 "outcome": "bad" if i >= 100 else "good"}))
    events.write_text("\n".join(lines) + "\n")
    result = run("simulate", "--spec", SPEC, "--policy", POLICY, str(events))
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout.splitlines()[0])
    assert first["time"].startswith("2026-11-23T10:0") and first["time"].endswith("Z")
    assert first["target"] == "breaker:payments" and first["to"] == "open"


def test_bad_input_says_where(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("timestamp,slo,good,bad\n0,checkout-availability,10,0\n5,checkout-availabilty,10,0\n")
    result = run("simulate", "--spec", SPEC, "--policy", POLICY, str(events))
    assert result.exit_code == 2
    assert f"{events}:3: no SLO 'checkout-availabilty' in the specs" in result.stderr
    events.write_text("timestamp,slo,good,bad\n10,checkout-availability,10,0\n5,checkout-availability,ten,0\n")
    assert f"{events}:3: invalid literal" in run("simulate", "--spec", SPEC, "--policy", POLICY, str(events)).stderr
    events.write_text("timestamp,slo,good,bad\n10,checkout-availability,10,0\n5,checkout-availability,1,0\n")
    assert f"{events}:3: time goes back" in run("simulate", "--spec", SPEC, "--policy", POLICY, str(events)).stderr
    bad_policy = tmp_path / "policy.yml"
    bad_policy.write_text("version: slokit/policy/v1\nrules: []\nbreakers: {payments: {mode: sometimes}}\n")
    result = run("simulate", "--spec", SPEC, "--policy", str(bad_policy), str(events))
    assert result.exit_code == 2 and f"{bad_policy}:3: breakers.payments.mode: must be one of" in result.stderr


def test_policy_from_the_spec_itself(write_spec, tmp_path: Path) -> None:
    spec = write_spec("""\
        version: slokit/v1
        service: shop
        slos:
          - name: availability
            objective: 99
            sli: {http: {route: /buy}}
            policy:
              rules:
                - name: shed
                  when: {burn_above: 2, windows: [5m]}
                  recover: {burn_below: 1, hold: 2m}
                  disable_switches: [reviews]
        """)
    events = tmp_path / "events.csv"
    rows = ["timestamp,slo,good,bad"] + [f"{t},shop-availability,{95 if 600 <= t < 900 else 100},"
                                         f"{5 if 600 <= t < 900 else 0}" for t in range(0, 1800, 10)]
    events.write_text("\n".join(rows) + "\n")
    result = run("simulate", "--spec", str(spec), str(events), "--step", "10s")
    assert result.exit_code == 0, result.output
    moves = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(m["target"], m["to"]) for m in moves] == [("switch:reviews", "off"), ("switch:reviews", "ramp"),
                                                        ("switch:reviews", "ramp"), ("switch:reviews", "on")]
    # 5% errors burn 5x from t=600; the 5m window passes 2x once 40% of it is errors (t=720, on a 10s step)
    assert moves[0]["time"] == 720
    # errors stop at t=900; the 5m window is below 1x once under 6 of its 30 rows hold errors (t=1140),
    # and the 2m hold ends at 1260 (one 30s bucket of slack)
    assert abs(moves[1]["time"] - 1260) <= 30, moves[1]


def test_the_library_leaves_logging_alone_and_the_cli_prints_no_log_lines(tmp_path: Path) -> None:
    """simulate() logs its decisions like the runtime does; only the CLI decides they are not shown."""
    from slokit.runtime.simulate import Event, simulate
    from slokit.spec import load
    from slokit.spec.policy import load_policy

    spec = load([SPEC])
    logger = logging.getLogger("slokit.runtime.simulate")
    before = (list(logging.getLogger().handlers), list(logger.handlers), logger.propagate)
    events = [Event(float(t), "checkout-availability", 50, 50) for t in range(0, 600, 5)]
    assert list(simulate(events, load_policy(POLICY, spec.slos), spec.slos))  # the breaker opens
    assert (list(logging.getLogger().handlers), list(logger.handlers), logger.propagate) == before
    events_file = step_csv(tmp_path / "events.csv", 0.5, 10)
    result = run("simulate", "--spec", SPEC, "--policy", POLICY, str(events_file))
    assert result.exit_code == 0 and "slokit decision" not in result.stderr, result.stderr


def test_an_event_naming_two_slos_is_an_error(write_spec, tmp_path: Path) -> None:
    spec = write_spec("""\
        version: slokit/v1
        service: a-b
        slos:
          - {name: c, objective: 99, sli: {http: {route: /c}}}
        ---
        version: slokit/v1
        service: a
        slos:
          - {name: b-c, objective: 99, sli: {http: {route: /bc}}}
          - {name: d, objective: 99, sli: {http: {route: /d}}}
        policy:
          rules: [{name: r, slo: a-d, when: {burn_above: 2, windows: [5m]}, disable_switches: [x]}]
        """)
    events = tmp_path / "events.csv"
    events.write_text("timestamp,slo,good,bad\n0,a-d,10,0\n5,a-b-c,10,0\n")
    result = run("simulate", "--spec", str(spec), str(events))
    assert result.exit_code == 2
    assert f"{events}:3: 'a-b-c' names SLO 'c' of service 'a-b' and SLO 'b-c' of service 'a'" in result.stderr
