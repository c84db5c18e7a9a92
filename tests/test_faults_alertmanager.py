"""`slokit silence` against a faulty Alertmanager: the fault server alone, or in front of a real one.

A POST that Alertmanager stored but whose answer was lost (a 500 after storing, an answer slower than
--timeout) must not store the silence twice; a 302 on a POST is reported (exit 2), never replayed as a
GET and called a success; garbage, wrong shapes, bad times, short, deep, huge, dripping and hanging
answers end in exit 3 with a message, within the timeout, without a traceback or the password.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from slokit.apply import alertmanager
from slokit.cli import main
from slokit.http import Retry
from slokit.spec.alertmanager import Group, Matcher, Settings, Symptom
from tests import fault_server as faults
from tests.fault_server import FaultServer
from tests.instrument_helpers import free_port, http_ok, stop, wait_until

EXAMPLE = str(Path(__file__).parent.parent / "examples" / "checkout.yml")  # group payments: 2 matcher sets
PASSWORD = "s3cret-pw"
CONFIG = "route: {receiver: nobody}\nreceivers: [{name: nobody}]\n"


@pytest.fixture(scope="module")
def real_alertmanager(tmp_path_factory) -> Iterator[str]:
    binary = shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
    assert binary, "Alertmanager not installed (bash scripts/test.sh installs prometheus-alertmanager)"
    folder = tmp_path_factory.mktemp("am")
    (folder / "alertmanager.yml").write_text(CONFIG)
    port = free_port()
    proc = subprocess.Popen([binary, f"--config.file={folder / 'alertmanager.yml'}", f"--storage.path={folder}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(http_ok(f"http://127.0.0.1:{port}/-/ready"), 20, "Alertmanager ready", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture
def alertmanager_url(real_alertmanager) -> str:
    """The real Alertmanager without live silences (each test starts from none)."""
    for s in requests.get(f"{real_alertmanager}/api/v2/silences", timeout=5).json():
        if s["status"]["state"] != "expired":
            requests.delete(f"{real_alertmanager}/api/v2/silence/{s['id']}", timeout=5).raise_for_status()
    return real_alertmanager


@pytest.fixture
def no_waits(monkeypatch):
    monkeypatch.setattr(alertmanager, "Retry", lambda attempts, backoff, sleep: Retry(attempts, 0.05, sleep))


def silence(*args: str) -> Result:
    return CliRunner().invoke(main, ["silence", *args, "-s", EXAMPLE])


def live(url: str, comment: str) -> list[dict]:
    return [s for s in requests.get(f"{url}/api/v2/silences", timeout=5).json()
            if s["status"]["state"] == "active" and comment in s["comment"]]


@pytest.mark.parametrize("kind", ["500", "slow"])
def test_a_post_stored_but_whose_answer_was_lost_is_not_stored_twice(kind, alertmanager_url, no_waits):
    then = faults.status(500, b"stored, then broke") if kind == "500" else faults.hang(5)
    comment = f"lost answer {kind}"
    with FaultServer(upstream=alertmanager_url) as proxy:
        proxy.script = [faults.forward(), faults.forwarded_then(then)]  # GET the silences; the 1st POST is lost
        result = silence("add", "payments", "--url", proxy.url, "--duration", "1h", "--comment", comment,
                         "--timeout", "1")
        assert result.exit_code == 0, result.output
        assert "(stored, though Alertmanager's first answer was lost)" in result.output
        assert len(proxy.requests("POST")) == 2  # one per matcher set: the lost one was not posted again
    assert len(live(alertmanager_url, comment)) == 2


def test_a_redirected_post_is_reported_and_nothing_is_called_created(alertmanager_url, no_waits):
    # reads pass through (however often a loaded machine makes the client retry them); the write is redirected
    every_post_redirected = faults.by_method(GET=faults.forward(), POST=faults.redirect("/api/v2/silences"))
    with FaultServer(default=every_post_redirected, upstream=alertmanager_url) as proxy:
        result = silence("add", "payments", "--url", proxy.url, "--duration", "1h", "--comment", "redirected")
    assert result.exit_code == 2, result.output
    assert "answered 302, a redirect to" in result.output and "new silence" not in result.output
    assert live(alertmanager_url, "redirected") == []


SILENCE = {"id": "a", "matchers": [{"name": "x", "value": "y", "isRegex": False}], "startsAt": "2026-01-01T00:00:00Z",
           "endsAt": "2026-01-01T01:00:00Z", "status": {"state": "active"}}
GET_FAULTS = {
    **faults.every_fault(),
    "an_object": faults.json({"silences": []}),
    "not_silences": faults.json(["a", 1]),
    "no_matchers": faults.json([{**SILENCE, "matchers": "x=y"}]),
    "no_state": faults.json([{**SILENCE, "status": None}]),
    "bad_time": faults.json([{**SILENCE, "endsAt": "tomorrow"}]),
    "naive_time": faults.json([{**SILENCE, "endsAt": "2026-01-01T01:00:00"}]),
}


CASES = [("list", name) for name in GET_FAULTS] + [(c, n) for c in ("add", "expire") for n in ("deep_json", "bad_time")]


@pytest.mark.parametrize(("command", "name"), CASES)
def test_every_faulty_answer_is_exit_3_with_a_message(command, name, no_waits):
    args = {"add": ["add", "payments", "--duration", "1h", "--comment", "x"], "list": ["list"],
            "expire": ["expire", "payments"]}[command]
    with FaultServer(default=GET_FAULTS[name]) as server:
        started = time.monotonic()
        result = silence(*args, "--url", server.url.replace("http://", f"http://u:{PASSWORD}@"), "--timeout", "0.3")
        took = time.monotonic() - started
        assert server.requests("POST") == [] and server.requests("DELETE") == []
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)  # an exit, not a traceback
    assert result.output.startswith("error: ") and "Alertmanager at http://127.0.0.1:" in result.output
    assert PASSWORD not in result.output and took < 4 * 0.3 + 1.5


def test_silence_has_a_timeout_for_the_whole_request(no_waits):
    with FaultServer(default=faults.drip()) as server:
        started = time.monotonic()
        result = silence("list", "--url", server.url, "--timeout", "0.3")
    assert result.exit_code == 3 and "no complete answer within 0.3s (gave up after 4 attempts)" in result.output
    assert time.monotonic() - started < 4 * 0.3 + 1.0


def test_an_odd_silence_id_stays_in_its_path_and_out_of_the_terminal():
    odd = {**SILENCE, "id": "../../status?x=\x1b[2J", "matchers": [{"name": "team", "value": "payments",
                                                                      "isRegex": False, "isEqual": True}]}
    group = Group("g", (), Settings(symptoms=(Symptom((Matcher("team", "=", "payments"),)),)))
    [action] = alertmanager.plan_expire(group, [odd])
    assert action.path == "/api/v2/silence/..%2F..%2Fstatus%3Fx%3D%1B%5B2J"
    assert "\x1b" not in action.why
