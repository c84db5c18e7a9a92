"""`slokit apply grafana` against a faulty Grafana (the fault server speaking Grafana's HTTP API).

A fault while finding the folder stops the run: exit 3 with a message, within the timeout, never a
traceback or the token. A fault on one dashboard fails that dashboard (exit 1). A redirected write is
reported, never replayed as a GET.
"""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from slokit.cli import main
from tests import fault_server as faults
from tests.fault_server import FaultServer

TOKEN = "glsa_s3cret-token"
FOLDER = faults.json({"uid": "slokit", "title": "SLOs"})
NOT_FOUND = faults.json({"message": "not found"}, 404)
FAULTS = {
    **faults.every_fault(),
    "http_500": faults.status(500, b'{"message": "\x1b[2Jdatabase is locked"}'),
    "a_list": faults.json([]),
    "no_uid": faults.json({"title": "SLOs", "uid": 7}),
}


@pytest.fixture
def boards(tmp_path):
    (tmp_path / "d1.json").write_text(json.dumps({"uid": "d1", "title": "Checkout", "panels": []}))
    return str(tmp_path)


def apply(server: FaultServer, boards: str, monkeypatch, *more: str):
    monkeypatch.setenv("GRAFANA_URL", server.url + "/")
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    return CliRunner().invoke(main, ["apply", "grafana", boards, "--timeout", "0.5", "--retries", "1", *more])


@pytest.mark.parametrize("name", FAULTS)
def test_a_fault_finding_the_folder_stops_the_run_with_exit_3(name, boards, monkeypatch):
    with FaultServer(default=FAULTS[name]) as server:
        started = time.monotonic()
        result = apply(server, boards, monkeypatch)
        took = time.monotonic() - started
        assert server.requests("POST") == []
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)  # an exit, not a traceback
    assert result.output.startswith("error: GET folder slokit: ") and took < 2.0
    assert TOKEN not in result.output and "\x1b" not in result.output


@pytest.mark.parametrize("name", ["garbage", "deep_json", "a_list", "hang"])
def test_a_fault_reading_one_dashboard_fails_that_dashboard(name, boards, monkeypatch):
    with FaultServer() as server:
        server.script = [FOLDER, FAULTS[name]]
        result = apply(server, boards, monkeypatch)
        assert server.requests("POST") == []  # not overwritten on a guess
    assert result.exit_code == 1, result.output
    assert "[1/1] failed       d1  (Checkout): GET dashboard d1: " in result.output
    assert "0 created, 0 updated, 0 unchanged, 1 failed" in result.output


def test_a_redirected_dashboard_write_is_reported_not_replayed(boards, monkeypatch):
    with FaultServer() as server:
        server.script = [FOLDER, NOT_FOUND, faults.redirect("/login", 302)]
        result = apply(server, boards, monkeypatch)
        assert [s.method for s in server.seen] == ["GET", "GET", "POST"]  # no GET /login after the POST
    assert result.exit_code == 1, result.output
    assert "POST dashboard d1: cannot use Grafana at http://127.0.0.1:" in result.output
    assert "answered 302, a redirect to http://127.0.0.1:" in result.output


def test_the_token_goes_to_grafana_through_slokits_transport(boards, monkeypatch):
    with FaultServer() as server:
        server.script = [FOLDER, NOT_FOUND, faults.json({"status": "success"})]
        result = apply(server, boards, monkeypatch)
        assert result.exit_code == 0, result.output
        assert {s.headers["Authorization"] for s in server.seen} == {f"Bearer {TOKEN}"}
        assert json.loads(server.seen[2].body)["dashboard"]["uid"] == "d1"


@pytest.mark.parametrize("name", ["http_500", "deep_json", "huge_body", "drip", "close"])
def test_the_runtime_annotator_gives_up_within_its_timeout_and_never_raises(name, caplog):
    from slokit.http import Retry
    from slokit.runtime.annotations import grafana_annotator
    from slokit.runtime.decisions import Transition

    with FaultServer(default=FAULTS[name]) as server:
        post = grafana_annotator(server.url.replace("http://", f"http://admin:{TOKEN}@"), timeout=0.5,
                                 retry=Retry(attempts=2, backoff=0))
        started = time.monotonic()
        assert post(Transition(0.0, "breaker:pay", "closed", "open", "policy")) is False
        assert time.monotonic() - started < 2 * 0.5 + 1.0
    assert TOKEN not in caplog.text and "\x1b" not in caplog.text
