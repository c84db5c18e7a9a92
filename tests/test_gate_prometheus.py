"""The release gate against real parts: two instances of the example service (stable and canary, told apart
by the `version` label Prometheus attaches to each scrape target, as Kubernetes pod labels would be) scraped
by a real `prometheus` on loopback that evaluates the generated rules. A 1d period scales the page windows
to 10s and 2m, so the budget and burn checks have data within seconds."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from slokit import gate
from slokit.cli import main
from slokit.generate.files import generate
from slokit.spec.loader import load
from tests.conftest import ROOT, require
from tests.instrument_helpers import all_rules, free_port, running
from tests.test_e2e_prometheus import Traffic

BASELINE_FAILURES = 0.002  # every 500th call of the stable version fails, as real services do now and then
SPEC = """\
version: slokit/v1
service: checkout
period: 1d
slos:
  - name: availability
    objective: 99
    sli:
      http: {route: /pay}
    gate:
      budget: {min_remaining: 50%}
      canary: {label: version, canary: canary, baseline: stable, window: 20s, min_requests: 100}
      stop: {error_ratio: 5%, for: 20s}
"""


def start_service(cwd: Path) -> tuple[str, object]:
    url = f"http://127.0.0.1:{free_port()}"
    return url, running([sys.executable, "-m", "examples.service", "--port", url.rsplit(":", 1)[1]],
                        url + "/orders/1", "example service", cwd=cwd)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """stable and canary services, and a Prometheus scraping both every second with the generated rules."""
    tmp = tmp_path_factory.mktemp("gate")
    (tmp / "spec.yml").write_text(SPEC)
    (tmp / "rules.yml").write_text(all_rules(generate(load([str(tmp / "spec.yml")]))[0]))
    stable, stable_run = start_service(ROOT)
    canary, canary_run = start_service(ROOT)
    (tmp / "prometheus.yml").write_text(f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [rules.yml]
scrape_configs:
  - job_name: checkout
    static_configs:
      - {{targets: ["{stable.removeprefix('http://')}"], labels: {{version: stable}}}}
      - {{targets: ["{canary.removeprefix('http://')}"], labels: {{version: canary}}}}
""")
    prometheus = f"http://127.0.0.1:{free_port()}"
    command = [require("prometheus"), f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
               f"--web.listen-address={prometheus.removeprefix('http://')}"]
    with stable_run, canary_run, running(command, prometheus + "/-/ready", "prometheus"):
        set_failures(stable, BASELINE_FAILURES)
        with Traffic(stable), Traffic(canary):  # steady /pay traffic to both, stopped with the block
            yield {"stable": stable, "canary": canary, "prometheus": prometheus, "spec": str(tmp / "spec.yml")}


def run_gate(world: dict[str, str], *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["gate", world["spec"], "--prometheus", world["prometheus"], "--json", *args])
    return result.exit_code, json.loads(result.output)


def gate_until(world: dict[str, str], want: int, *args: str, timeout: float = 45) -> tuple[int, dict]:
    """Ask the gate every second until it answers `want` (data takes a few scrapes to arrive)."""
    deadline = time.monotonic() + timeout
    code, report = run_gate(world, *args)
    while code != want and time.monotonic() < deadline:
        time.sleep(1)
        code, report = run_gate(world, *args)
    return code, report


def by_check(report: dict) -> dict[str, dict]:
    return {c["check"]: c for c in report["checks"]}


def set_failures(url: str, ratio: float) -> None:
    requests.post(url + "/admin/gateway", params={"failure_ratio": ratio}, timeout=5).raise_for_status()


def test_good_canary_passes(world: dict[str, str]) -> None:
    code, report = gate_until(world, 0)
    checks = by_check(report)
    assert code == 0, report
    assert report["verdict"] == "pass"
    assert checks["budget"]["value"] > 0.5 and checks["budget"]["threshold"] == 0.5
    assert set(checks["burn"]["value"]) == {"10s", "2m"}  # the 1d table's first page tier
    canary = checks["canary"]["value"]
    assert canary["canary"]["total"] >= 100 and canary["baseline"]["total"] >= 100
    assert canary["canary"]["bad"] == 0 and canary["p_value"] == 1.0  # the canary failed no call
    assert checks["stop"]["status"] == "pass" and checks["stop"]["value"] == 0
    assert 'version=~"canary|stable"' in checks["canary"]["query"][1]


def test_too_little_canary_traffic_cannot_decide(world: dict[str, str]) -> None:
    gate_until(world, 0)  # budget and burn have data: only the canary check is left to decide
    code, report = run_gate(world, "--min-requests", "1000000")
    assert code == 3, report
    assert report["verdict"] == "undecided"
    assert by_check(report)["canary"]["status"] == "undecided"
    assert "too little traffic" in by_check(report)["canary"]["detail"]


def test_prometheus_down_cannot_decide(world: dict[str, str]) -> None:
    down = {**world, "prometheus": f"http://127.0.0.1:{free_port()}"}
    code, report = run_gate(down)
    assert code == 3
    assert report["verdict"] == "undecided"
    assert all(c["status"] == "undecided" and "cannot answer" in c["detail"] for c in report["checks"])
    assert all(c["query"] for c in report["checks"])  # the report still says what it asked


def test_serve_answers_flagger_and_argo(world: dict[str, str]) -> None:
    """Flagger reads the status (2xx passes); Argo Rollouts' web provider reads `{$.verdict}` from the JSON."""
    slos = load([world["spec"]]).slos
    query = gate.prometheus_query(world["prometheus"])
    server = gate.make_server(lambda ids, canary: gate.evaluate(slos, query, canary))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert gate_until(world, 0)[0] == 0
        hook = {"name": "checkout", "namespace": "shop", "phase": "Progressing", "metadata": {}}
        assert requests.post(base + "/flagger", json=hook, timeout=10).status_code == 200
        argo = requests.get(base + "/argo", timeout=10)
        assert argo.status_code == 200 and argo.json()["verdict"] == "pass"
        # too little traffic in a webhook's metadata override: not 2xx, so Flagger never promotes on a guess
        hook["metadata"] = {"min_requests": "1000000"}
        assert requests.post(base + "/flagger", json=hook, timeout=10).status_code == 503
        argo = requests.get(base + "/argo", params={"min_requests": "1000000"}, timeout=10)
        assert argo.json()["verdict"] == "undecided"
    finally:
        server.shutdown()
        server.server_close()


def test_bad_canary_fails(world: dict[str, str]) -> None:
    """Last: the bad canary spends the SLO's budget, so every later gate would fail on the budget check too."""
    set_failures(world["canary"], 0.2)
    try:
        code, report = gate_until(world, 1)
        canary = by_check(report)["canary"]
        # the stop rule needs the canary above 5% errors for 20 consecutive seconds: it trips a little later
        deadline = time.monotonic() + 45
        stop = by_check(report)["stop"]
        while stop["status"] != "fail" and time.monotonic() < deadline:
            time.sleep(1)
            stop = by_check(run_gate(world)[1])["stop"]
    finally:
        set_failures(world["canary"], 0.0)
    assert code == 1, report
    assert canary["status"] == "fail", canary
    assert canary["value"]["canary"]["ratio"] > 0.02 and canary["value"]["baseline"]["ratio"] < 0.01
    assert canary["value"]["p_value"] < 0.05
    assert "significantly worse" in canary["detail"]
    assert stop["status"] == "fail", stop
    assert stop["value"] > 0.05 and stop["threshold"] == 0.05
    assert stop["query"].startswith("min_over_time((") and "[20s:5s]" in stop["query"]
