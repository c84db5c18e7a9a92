"""`slokit simulate`: test a degrade policy on recorded or made-up traffic before trusting it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES

from slokit.cli import main

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
        ("breaker:payments", "closed"), ("switch:recommendations", "on")]
    assert "4 transition(s)" in result.stderr


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
