"""`slokit apply grafana` and the runtime's decision annotations, against a stand-in for Grafana.

No Grafana server runs on this machine, so these tests talk to a local HTTP server (pytest-httpserver on
127.0.0.1) that follows Grafana's documented HTTP API: Folder API (`GET /api/folders/:uid`,
`GET /api/folders`, `POST /api/folders`), Dashboard API (`GET /api/dashboards/uid/:uid`,
`POST /api/dashboards/db` with `overwrite`), Annotations API (`POST /api/annotations`), bearer-token
auth answering 401, and `{"message": ...}` error bodies. The client side is the real grafana-client (the
annotations: requests, through slokit.http).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest
import requests
from click.testing import CliRunner
from werkzeug import Request, Response

from slokit.apply import grafana
from slokit.cli import main
from slokit.errors import InputError
from slokit.http import Retry
from slokit.runtime.annotations import annotate, annotator_from_env, grafana_annotator
from slokit.runtime.decisions import Transition
from tests.conftest import ROOT

TOKEN = "glsa_s3cr3t-token"
NO_WAIT = Retry(attempts=3, backoff=0, sleep=lambda _: None)


@dataclass
class FakeGrafana:
    """Grafana's documented API, in memory. `fail[(method, path)]` lists statuses to answer first."""

    folders: dict[str, dict] = field(default_factory=dict)
    boards: dict[str, dict] = field(default_factory=dict)
    annotations: list[dict] = field(default_factory=list)
    fail: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        method, path = request.method, request.path
        self.calls.append((method, path))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.answer({"message": "Unauthorized"}, 401)
        injected = self.fail.get((method, path))
        if injected:
            status = injected.pop(0)
            return self.answer({"message": f"injected {status}"}, status)
        body = request.get_json(silent=True) or {}
        if method == "GET" and (m := re.fullmatch(r"/api/folders/([\w-]+)", path)):
            found = self.folders.get(m.group(1))
            return self.answer(found, 200) if found else self.answer({"message": "folder not found"}, 404)
        if method == "GET" and path == "/api/folders":
            return self.answer(list(self.folders.values()), 200)
        if method == "POST" and path == "/api/folders":
            folder = {"id": len(self.folders) + 1, "uid": body["uid"], "title": body["title"]}
            self.folders[body["uid"]] = folder
            return self.answer(folder, 200)
        if method == "GET" and (m := re.fullmatch(r"/api/dashboards/uid/([\w-]+)", path)):
            stored = self.boards.get(m.group(1))
            if not stored:
                return self.answer({"message": "Dashboard not found"}, 404)
            return self.answer({"dashboard": stored["dashboard"], "meta": {"folderUid": stored["folderUid"]}}, 200)
        if method == "POST" and path == "/api/dashboards/db":
            dashboard, uid = body["dashboard"], body["dashboard"]["uid"]
            if uid in self.boards and not body.get("overwrite"):
                return self.answer(
                    {"message": "A dashboard with the same uid already exists", "status": "name-exists"}, 412)
            if body.get("folderUid") and body["folderUid"] not in self.folders:
                return self.answer({"message": "folder not found"}, 400)
            version = self.boards.get(uid, {}).get("dashboard", {}).get("version", 0) + 1
            self.boards[uid] = {"dashboard": {**dashboard, "id": 7, "version": version},
                                "folderUid": body.get("folderUid")}
            return self.answer({"id": 7, "uid": uid, "url": f"/d/{uid}", "status": "success", "version": version}, 200)
        if method == "POST" and path == "/api/annotations":
            self.annotations.append(body)
            return self.answer({"message": "Annotation added", "id": len(self.annotations)}, 200)
        return self.answer({"message": "Not found"}, 404)

    @staticmethod
    def answer(body: object, status: int) -> Response:
        return Response(json.dumps(body), status, content_type="application/json")

    def posts(self) -> int:
        return self.calls.count(("POST", "/api/dashboards/db"))


@pytest.fixture
def fake(httpserver) -> FakeGrafana:
    server = FakeGrafana()
    httpserver.expect_request(re.compile(".*")).respond_with_handler(server)
    return server


@pytest.fixture
def api(httpserver):
    return grafana.connect(httpserver.url_for("/"), TOKEN, timeout=5)


@pytest.fixture
def boards() -> list[dict]:
    return grafana.load([ROOT / "dashboards"])


def test_first_apply_creates_the_folder_and_every_dashboard_then_nothing_changes(fake, api, boards):
    run = grafana.apply(api, boards, retry=NO_WAIT)
    assert run.counts() == {"created": 4, "updated": 0, "unchanged": 0, "failed": 0}
    assert fake.folders["slokit"]["title"] == "SLOs"
    assert {s["folderUid"] for s in fake.boards.values()} == {"slokit"}

    again = grafana.apply(api, boards, retry=NO_WAIT)
    assert again.counts()["unchanged"] == 4
    assert fake.posts() == 4  # the second run wrote nothing: versions stay put
    assert again.folder == "SLOs (slokit): exists"


def test_only_the_changed_dashboard_is_updated_and_dry_run_shows_the_diff(fake, api, boards):
    grafana.apply(api, boards, retry=NO_WAIT)
    changed = [dict(b, title="SLOs / checkout (v2)") if b["uid"] == "slokit-svc-checkout" else b for b in boards]

    dry = grafana.apply(api, changed, dry_run=True, retry=NO_WAIT)
    result = next(r for r in dry.results if r.uid == "slokit-svc-checkout")
    assert (result.status, result.dry_run) == ("updated", True)
    assert '-  "title": "SLOs / checkout",' in result.diff and '+  "title": "SLOs / checkout (v2)",' in result.diff
    assert result.line().startswith("would update")
    assert fake.posts() == 4  # dry run wrote nothing

    run = grafana.apply(api, changed, retry=NO_WAIT)
    assert run.counts() == {"created": 0, "updated": 1, "unchanged": 3, "failed": 0}
    assert fake.boards["slokit-svc-checkout"]["dashboard"]["version"] == 2


def test_a_dashboard_in_another_folder_is_moved_into_ours(fake, api, boards):
    fake.folders["other"] = {"id": 9, "uid": "other", "title": "Other"}
    fake.boards["slokit-overview"] = {"dashboard": {**boards[0], "id": 3, "version": 5}, "folderUid": "other"}
    run = grafana.apply(api, boards[:1], retry=NO_WAIT)
    assert (run.results[0].status, run.results[0].detail) == ("updated", "moved into the folder")
    assert fake.boards["slokit-overview"]["folderUid"] == "slokit"


def test_an_existing_folder_is_found_by_title(fake, api, boards):
    fake.folders["abc123"] = {"id": 1, "uid": "abc123", "title": "SLOs"}
    run = grafana.apply(api, boards, retry=NO_WAIT)
    assert run.folder == "SLOs (abc123): exists"
    assert ("POST", "/api/folders") not in fake.calls


def test_server_errors_are_retried(fake, api, boards):
    fake.fail[("POST", "/api/dashboards/db")] = [503, 502]
    run = grafana.apply(api, boards[:1], retry=NO_WAIT)
    assert run.results[0].status == "created"
    assert fake.posts() == 3


def test_persistent_server_errors_fail_the_item_not_the_run(fake, api, boards):
    fake.fail[("POST", "/api/dashboards/db")] = [500, 500, 500]
    run = grafana.apply(api, boards[:2], retry=NO_WAIT)
    assert [r.status for r in run.results] == ["failed", "created"]
    assert "injected 500 (gave up after 3 attempts)" in run.results[0].detail


def test_forbidden_is_explained(fake, api, boards):
    fake.fail[("POST", "/api/dashboards/db")] = [403]
    result = grafana.apply(api, boards[:1], retry=NO_WAIT).results[0]
    assert result.status == "failed"
    assert "403 Forbidden: the token lacks permission" in result.detail


def test_cli_prints_progress_and_a_summary(fake, httpserver, monkeypatch):
    monkeypatch.setenv("GRAFANA_URL", httpserver.url_for("/"))
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    result = CliRunner().invoke(main, ["apply", "grafana", str(ROOT / "dashboards"), "--folder", "Team SLOs"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "[1/4] created      slokit-overview  (SLOs / Overview)"
    assert lines[-2:] == ["folder Team SLOs (slokit): created", "4 created, 0 updated, 0 unchanged, 0 failed"]


def test_cli_dry_run_prints_the_diff_and_writes_nothing(fake, httpserver, monkeypatch):
    monkeypatch.setenv("GRAFANA_URL", httpserver.url_for("/"))
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    result = CliRunner().invoke(main, ["apply", "grafana", str(ROOT / "dashboards/slokit-overview.json"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "[1/1] would create" in result.output and '+  "uid": "slokit-overview"\n' in result.output
    assert result.output.rstrip().endswith("dry run: 1 created, 0 updated, 0 unchanged, 0 failed")
    assert fake.posts() == 0 and not fake.folders


def test_cli_bad_token_stops_with_a_clear_error_and_never_prints_it(fake, httpserver, monkeypatch):
    monkeypatch.setenv("GRAFANA_URL", httpserver.url_for("/"))
    monkeypatch.setenv("GRAFANA_TOKEN", "wrong-" + TOKEN)
    result = CliRunner().invoke(main, ["apply", "grafana", str(ROOT / "dashboards")])
    assert result.exit_code == 2  # a setting is wrong: fix it, do not retry
    assert "401 Unauthorized: Grafana rejected the credentials; check GRAFANA_TOKEN" in result.output
    assert TOKEN not in result.output


def test_cli_wrong_url_path_is_a_404_with_a_hint(fake, httpserver, monkeypatch):
    monkeypatch.setenv("GRAFANA_URL", httpserver.url_for("/not-grafana/"))
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    result = CliRunner().invoke(main, ["apply", "grafana", str(ROOT / "dashboards")])
    assert result.exit_code == 2
    assert "404 Not Found: is GRAFANA_URL Grafana's root URL, with its sub-path?" in result.output


def test_cli_without_url_says_what_to_set(monkeypatch):
    monkeypatch.delenv("GRAFANA_URL", raising=False)
    result = CliRunner().invoke(main, ["apply", "grafana", str(ROOT / "dashboards")])
    assert result.exit_code == 2 and "GRAFANA_URL is not set" in result.output


def test_cli_unreachable_grafana_is_cannot_tell_not_bad_input(monkeypatch):
    monkeypatch.setenv("GRAFANA_URL", f"http://admin:{TOKEN}@127.0.0.1:9/")  # nothing listens on port 9
    result = CliRunner().invoke(main, ["apply", "grafana", str(ROOT / "dashboards"), "--retries", "1"])
    assert result.exit_code == 3, result.output
    assert "cannot reach Grafana" in result.output and TOKEN not in result.output


def test_files_that_are_not_dashboards_are_each_named_with_their_line(tmp_path):
    (tmp_path / "a.json").write_text('{"uid": "a",\n  "title": }\n')
    (tmp_path / "b.json").write_text('{"title": "no uid"}\n')
    with pytest.raises(InputError) as err:
        grafana.load([tmp_path])
    files = [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    assert [(p.file, p.line) for p in err.value.problems] == [(files[0], 2), (files[1], 0)]
    result = CliRunner().invoke(main, ["apply", "grafana", str(tmp_path)])
    assert result.exit_code == 2 and f"{tmp_path / 'b.json'}: a dashboard needs a uid" in result.output
    assert "2 error(s)" in result.output


def breaker_opened() -> Transition:
    return Transition(time=1_795_000_000.5, target="breaker:payments", from_state="closed", to_state="open",
                      reason="page burn", slo="checkout-availability", burn={"5m": 20.0, "1h": 15.5})


def test_a_breaker_decision_becomes_a_tagged_annotation(fake, httpserver):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    assert annotate(session, httpserver.url_for("/"), breaker_opened(), "slokit-svc-checkout") == 1
    [posted] = fake.annotations
    assert posted["time"] == 1_795_000_000_500 and posted["dashboardUID"] == "slokit-svc-checkout"
    assert posted["tags"] == ["slokit", "breaker", "payments", "open", "checkout-availability"]
    assert posted["text"] == ("breaker:payments: closed -> open<br>SLO checkout-availability<br>page burn"
                              "<br>burn 5m 20x, 1h 15.5x")


def test_the_runtime_annotator_never_raises_when_grafana_fails(fake, httpserver):
    fake.fail[("POST", "/api/annotations")] = [500, 500]
    post = grafana_annotator(httpserver.url_for("/"), TOKEN, retry=Retry(attempts=2, backoff=0))
    assert post(Transition(0, "switch:recommendations", "on", "degraded", "policy")) is False
    assert post(Transition(60, "switch:recommendations", "degraded", "on", "")) is True
    assert fake.annotations[0]["tags"] == ["slokit", "switch", "recommendations", "on"]
    wrong = grafana_annotator(httpserver.url_for("/"), "wrong-" + TOKEN, retry=NO_WAIT)
    assert wrong(breaker_opened()) is False  # 401: said in the log, not raised
    nobody = grafana_annotator("http://127.0.0.1:9", TOKEN, retry=NO_WAIT)
    assert nobody(breaker_opened()) is False


def test_annotations_are_off_unless_configured(httpserver):
    assert annotator_from_env({}) is None
    assert annotator_from_env({"SLOKIT_GRAFANA_ANNOTATIONS": "1"}) is None  # no GRAFANA_URL
    assert callable(annotator_from_env({"SLOKIT_GRAFANA_ANNOTATIONS": "1",
                                                    "GRAFANA_URL": httpserver.url_for("/")}))
