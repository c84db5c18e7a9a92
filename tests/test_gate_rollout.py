"""`slokit simulate --rollout`: a canary's recorded events replayed through 1% → 10% → 50% stages."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from slokit.cli import main

SPEC = """\
version: slokit/v1
service: checkout
period: 30d
slos:
  - name: availability
    objective: 99.9
    sli:
      http: {route: /pay}
    gate:
      canary: {window: 5m, min_requests: 200}
      stop: {error_ratio: 5%, for: 2m}
"""


def events(path: Path, rows: list[tuple[int, int, int]]) -> str:
    """CSV of (second, good, bad) rows for checkout-availability."""
    path.write_text("timestamp,slo,good,bad\n" + "".join(f"{t},checkout-availability,{g},{b}\n" for t, g, b in rows))
    return str(path)


def rollout(tmp_path: Path, canary: list[tuple[int, int, int]], stable: list[tuple[int, int, int]]):
    (tmp_path / "spec.yml").write_text(SPEC)
    result = CliRunner().invoke(main, [
        "simulate", "--spec", str(tmp_path / "spec.yml"), events(tmp_path / "stable.csv", stable),
        "--rollout", events(tmp_path / "canary.csv", canary), "--stages", "1,10,50", "--stage-duration", "10m"])
    return result.exit_code, [json.loads(line) for line in result.output.splitlines()]


HOUR = 3600
STEADY = [(t, 100, 0) for t in range(2 * HOUR)]  # 100 requests a second, no errors


def test_a_healthy_canary_is_held_at_1_percent_until_it_has_traffic_then_promoted(tmp_path: Path) -> None:
    code, records = rollout(tmp_path, canary=STEADY, stable=[(t, 100, int(t % 1000 == 0)) for t in range(2 * HOUR)])
    decisions = [(r.get("weight"), r.get("decision") or r["result"]) for r in records]
    # 1% of 100/s is 1 request a second: 300 in the 5m window, enough for min_requests 200
    assert decisions == [(0.01, "promote"), (0.1, "promote"), (0.5, "promote"), (1.0, "promoted")]
    assert code == 0
    assert records[0]["canary"]["total"] == 300 and records[0]["p_value"] == 1.0


def test_a_failing_canary_is_stopped_at_the_first_stage_that_can_tell(tmp_path: Path) -> None:
    bad_canary = [(t, 90, 10) for t in range(2 * HOUR)]  # 10% errors
    code, records = rollout(tmp_path, canary=bad_canary, stable=STEADY)
    assert code == 1
    assert records[0]["decision"] == "stop" and records[0]["weight"] == 0.01
    assert records[-1] == {"result": "stopped", "stage": 1, "weight": 0.01, "time": 600}


def test_too_little_canary_traffic_holds_then_stops_without_promoting(tmp_path: Path) -> None:
    quiet = [(t, 20, 0) for t in range(2 * HOUR)]  # 1% of 20/s: 60 requests in 5m, below min_requests
    code, records = rollout(tmp_path, canary=quiet, stable=quiet)
    assert [r.get("decision") for r in records[:3]] == ["hold", "hold", "stop"]
    assert "too little traffic" in records[0]["detail"]
    assert records[-1]["result"] == "stopped" and code == 1
