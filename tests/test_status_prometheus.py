"""`slokit status --prometheus`: the same table from the rules `slokit generate` wrote, evaluated by a real
Prometheus scraping the instrumented example service (25% of /pay failing: burn 25x on a 99% SLO).
The service, Prometheus and traffic are the end-to-end test's (tests/test_e2e_prometheus.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from slokit.cli import main
from tests.test_e2e_prometheus import FAILURE_RATIO, SPEC, Traffic, prometheus, service  # noqa: F401  (fixtures)


def test_status_from_prometheus_reads_the_recorded_burn_and_budget(service: str, prometheus: str,  # noqa: F811
                                                                   tmp_path: Path) -> None:
    spec = tmp_path / "status-spec.yml"
    spec.write_text(SPEC)  # the spec Prometheus' rules were generated from (1d period: page on 10s and 2m)
    args = ["status", "--prometheus", prometheus, "-s", str(spec)]
    requests.post(service + "/admin/gateway", params={"failure_ratio": FAILURE_RATIO}, timeout=5).raise_for_status()
    snapshot: dict = {}
    with Traffic(service):
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            result = CliRunner().invoke(main, [*args, "--json"])
            assert result.exit_code == 0, result.output
            snapshot = json.loads(result.output)
            row, other = snapshot["slos"]
            burn = {w["window"]: w["burn"] for w in row["windows"]}
            # each rule group is evaluated at its own offset, and the 2m burn is one group later than the 10s
            # one (the scope's -windows group reads the SLO's recorded rates): wait for all to have read traffic
            if (burn.get("10s") and abs(burn["10s"] - 25) < 3 and burn.get("2m") and row["state"] == "page"
                    and row["budget_remaining"] is not None and other["state"] != "unknown"):
                break
            time.sleep(1)
        table = CliRunner().invoke(main, args).output

    availability, latency = snapshot["slos"]
    burn = {w["window"]: w for w in availability["windows"]}
    assert burn["10s"]["burn"] == pytest.approx(25, abs=3) and burn["10s"]["tier"] == "page"
    assert availability["state"] == "page"
    assert availability["budget_remaining"] < 1.0  # 1 - the period's burn, as Prometheus recorded it
    assert latency["state"] == "ok"
    row = next(line for line in table.splitlines() if line.startswith("checkout-availability"))
    assert "99%/1d" in row and "PAGE" in row and "10s 2" in row
