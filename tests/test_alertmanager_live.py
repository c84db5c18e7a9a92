"""A real Alertmanager (Debian's prometheus-alertmanager) on loopback, with the config slokit generates.

Alerts are posted to /api/v2/alerts; inhibition and silences are read back from the same API
(`status.inhibitedBy`, `status.silencedBy`, `status.state`), so these tests see what an on-call engineer
would see.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from click.testing import CliRunner

from slokit.cli import main
from slokit.spec.alertmanager import Matcher
from tests.instrument_helpers import free_port, http_ok, stop, wait_until

EXAMPLE = Path(__file__).parent.parent / "examples" / "checkout.yml"
ODD_PATH = 'say "hi" from C:\\dir'  # a label value that needs escaping in matchers
SLO = {"slo_service": "checkout", "team": "payments"}

PAGE = {"alertname": "CheckoutAvailability", **SLO, "slo_name": "availability", "slo_severity": "page"}
TICKET = {**PAGE, "slo_severity": "ticket"}
LATENCY_TICKET = {"alertname": "CheckoutLatency", **SLO, "slo_name": "latency", "slo_severity": "ticket"}
SYMPTOM = {"alertname": "CheckoutHigh5xxRate", "service": "checkout", "team": "payments"}
SYMPTOM_OTHER_TEAM = {**SYMPTOM, "team": "web"}
ODD_SYMPTOM = {"alertname": "CheckoutOdd", "path": ODD_PATH}
OTHER_SLO_PAGE = {"alertname": "SearchQueryLatency", "slo_service": "search", "slo_name": "query-latency",
                  "slo_severity": "page", "team": "discovery"}
NEAR_MISS = {"alertname": "CheckoutHigh5xxRate", "service": "checkout-canary", "team": "payments"}
ALL = [PAGE, TICKET, LATENCY_TICKET, SYMPTOM, SYMPTOM_OTHER_TEAM, ODD_SYMPTOM, OTHER_SLO_PAGE, NEAR_MISS]


def eventually(check: Callable[[], Any], expected: Any = True, timeout: float = 10.0) -> None:
    """Poll `check` until it returns `expected`; fail with the last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except requests.ConnectionError as exc:
            result = exc
        if result == expected:
            return
        assert time.monotonic() < deadline, f"after {timeout}s: {result!r}, expected {expected!r}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory) -> Path:
    """The example spec, with integration-less receivers (nothing leaves the machine) and an odd symptom."""
    data = yaml.safe_load(EXAMPLE.read_text())
    am = data["alertmanager"]
    am["receivers"] = [{"name": "payments-pager"}, {"name": "payments-tickets"}]
    am["symptoms"].append({"matchers": ['alertname="CheckoutOdd"', Matcher("path", "=", ODD_PATH).text()]})
    path = tmp_path_factory.mktemp("spec") / "checkout.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def alertmanager(spec_file, tmp_path_factory) -> Iterator[str]:
    """URL of a real Alertmanager running the generated config; stopped after the module."""
    binary = shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
    assert binary, "Alertmanager not installed (bash scripts/test.sh installs prometheus-alertmanager)"
    out = tmp_path_factory.mktemp("am")
    result = CliRunner().invoke(main, ["generate", str(spec_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = out / "alertmanager" / "alertmanager.yml"
    check = subprocess.run(["amtool", "check-config", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    port = free_port()
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.path={out / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(http_ok(f"{url}/-/ready"), 20, "Alertmanager ready", proc)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def firing(alertmanager) -> str:
    now = datetime.now(UTC)
    alerts = [{"labels": labels, "annotations": {}, "startsAt": now.isoformat(),
               "endsAt": (now + timedelta(hours=1)).isoformat()} for labels in ALL]
    requests.post(f"{alertmanager}/api/v2/alerts", json=alerts, timeout=5).raise_for_status()
    eventually(lambda: len(requests.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()), len(ALL))
    return alertmanager


def statuses(url: str) -> dict[str, dict[str, Any]]:
    """Each posted alert's status by its name in this module (PAGE, TICKET, ...)."""
    names = {tuple(sorted(labels.items())): name for name, labels in globals().items()
             if isinstance(labels, dict) and labels in ALL}
    return {names[tuple(sorted(a["labels"].items()))]: a["status"]
            for a in requests.get(f"{url}/api/v2/alerts", timeout=5).json()}


def muted(url: str, kind: str) -> set[str]:
    """Names of the alerts inhibited (kind "inhibitedBy") or silenced ("silencedBy")."""
    return {name for name, status in statuses(url).items() if status[kind]}


def silence(*args: str) -> str:
    result = CliRunner().invoke(main, ["silence", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_page_inhibits_its_own_ticket_and_the_groups_symptoms_and_nothing_else(firing):
    eventually(lambda: muted(firing, "inhibitedBy"), {"TICKET", "SYMPTOM", "ODD_SYMPTOM"})
    found = statuses(firing)
    assert found["TICKET"]["state"] == "suppressed"
    # The latency SLO's ticket has no page of its own firing: the availability page must not hide it.
    assert found["LATENCY_TICKET"]["state"] == "active"
    # Same symptom alert, other team: `equal: [team]` keeps it.
    assert found["SYMPTOM_OTHER_TEAM"]["inhibitedBy"] == []
    assert found["OTHER_SLO_PAGE"]["state"] == "active"


def test_dry_run_sends_nothing(firing, spec_file):
    before = requests.get(f"{firing}/api/v2/silences", timeout=5).json()
    assert before == []
    out = silence("add", "payments", "-s", str(spec_file), "--url", firing, "--duration", "1h", "--comment", "x",
                  "--dry-run")
    assert out.count("would POST /api/v2/silences") == 3
    assert requests.get(f"{firing}/api/v2/silences", timeout=5).json() == before


def test_silence_mutes_exactly_the_group_and_expire_unmutes(firing, spec_file):
    spec = ["-s", str(spec_file), "--url", firing]
    out = silence("add", "payments", *spec, "--duration", "2h", "--comment", "failover drill", "--author", "test")
    assert out.count("new silence") == 3, out  # the SLO alerts, and each of the two symptom matcher sets
    group = {"PAGE", "TICKET", "LATENCY_TICKET", "SYMPTOM", "SYMPTOM_OTHER_TEAM", "ODD_SYMPTOM"}
    eventually(lambda: muted(firing, "silencedBy"), group)
    assert statuses(firing)["LATENCY_TICKET"]["state"] == "suppressed"

    # Re-running neither duplicates nor changes anything.
    again = silence("add", "payments", *spec, "--duration", "2h", "--comment", "failover drill", "--author", "test")
    assert again.count("unchanged") == 3, again
    live = [s for s in requests.get(f"{firing}/api/v2/silences", timeout=5).json() if s["status"]["state"] == "active"]
    assert len(live) == 3
    assert all(s["createdBy"] == "test" and "failover drill" in s["comment"] for s in live)
    listed = silence("list", "payments", *spec)
    assert len(listed.splitlines()) == 3 and "active" in listed

    expired = silence("expire", "payments", *spec)
    assert expired.count("expire ") == 3
    eventually(lambda: muted(firing, "silencedBy"), set())
    assert statuses(firing)["LATENCY_TICKET"]["state"] == "active"
    assert "no active silences" in silence("expire", "payments", *spec)
    assert silence("list", "payments", *spec) == ""
