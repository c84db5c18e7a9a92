"""The silences client against a small HTTP server on loopback: retries, 4xx errors, credentials."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from slokit.apply import alertmanager
from slokit.apply.alertmanager import AlertmanagerError, Client, plan_add, plan_expire
from slokit.cli import main
from slokit.errors import ConfigError
from slokit.http import Retry
from slokit.spec.alertmanager import Group, Matcher, Settings, Symptom
from slokit.spec.model import SLO, Alerting, HttpSLI

SECRET = "s3cr3t-token-value"
EXAMPLE = str(Path(__file__).parent.parent / "examples" / "checkout.yml")


class Server:
    """Answers each request with the next scripted (status, body); records what it was sent."""

    def __init__(self) -> None:
        self.script: list[tuple[int, object]] = []
        self.seen: list[dict[str, object]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                    "body": json.loads(self.rfile.read(length)) if length else None})
                status, body = server.script.pop(0) if server.script else (200, [])
                data = body if isinstance(body, bytes) else json.dumps(body).encode()  # bytes: sent as they are
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    thread = threading.Thread(target=s.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()
    thread.join(timeout=5)


def client(url: str, env: dict[str, str] | None = None, **kwargs) -> tuple[Client, list[float]]:
    """A client whose backoff sleeps are recorded instead of slept, so retry tests take no time."""
    waits: list[float] = []
    return Client.from_env(url, env=env or {}, sleep=waits.append, **kwargs), waits


def test_5xx_is_retried_with_exponential_backoff(server):
    server.script = [(503, "unavailable"), (500, "boom"), (200, [])]
    c, waits = client(server.url)
    assert c.silences() == []
    assert waits == [0.5, 1.0]
    assert [r["method"] for r in server.seen] == ["GET"] * 3


def test_a_failed_post_is_retried_only_after_reading_that_it_was_not_stored(server):
    body = {"matchers": [{"name": "a", "value": "b", "isRegex": False}], "startsAt": "2026-11-23T19:00:00Z",
            "endsAt": "2026-11-23T21:00:00Z"}
    server.script = [(500, "boom"), (200, []), (200, {"silenceID": "abc"})]
    c, waits = client(server.url)
    assert c.create(body) == {"silenceID": "abc"}
    assert [r["method"] for r in server.seen] == ["POST", "GET", "POST"] and waits == [0.5]
    stored = {**body, "id": "kept", "status": {"state": "active"}}
    server.seen.clear()
    server.script = [(503, "stored, then failed"), (200, [stored])]
    assert c.create(body) == {"silenceID": "kept", "recovered": True}
    assert [r["method"] for r in server.seen] == ["POST", "GET"]  # not posted twice


def test_429_is_retried_like_5xx(server):
    server.script = [(429, "slow down"), (200, [])]
    c, waits = client(server.url)
    assert c.silences() == []
    assert waits == [0.5]


def test_5xx_gives_up_after_the_last_attempt_with_alertmanagers_answer(server):
    server.script = [(502, "bad gateway")] * 3
    c, waits = client(server.url, attempts=3)
    with pytest.raises(AlertmanagerError, match=r'answered 502: "bad gateway" \(gave up after 3 attempts\)'):
        c.silences()
    assert len(server.seen) == 3 and waits == [0.5, 1.0]


def test_4xx_fails_at_once_with_alertmanagers_message(server):
    server.script = [(400, "silence invalid: start time must be before end time")]
    c, waits = client(server.url)
    with pytest.raises(AlertmanagerError) as err:
        c.request("POST", "/api/v2/silences", {})
    assert str(err.value) == (f'POST /api/v2/silences failed: Alertmanager at {server.url} answered 400: '
                              '"silence invalid: start time must be before end time"')
    assert len(server.seen) == 1 and waits == []


def test_an_answer_that_is_not_json_is_an_error_not_a_traceback(server):
    server.script = [(200, b"<html>a proxy login page</html>")]
    c, waits = client(server.url)
    with pytest.raises(AlertmanagerError, match="answered 200 with something that is not JSON"):
        c.silences()
    assert waits == []  # asking again would get the same page


def test_connection_refused_is_retried_and_the_message_hides_credentials():
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]  # closed again when the block ends: nothing listens there
    c, waits = client(f"http://admin:{SECRET}@127.0.0.1:{port}/prefix", attempts=2)
    with pytest.raises(AlertmanagerError) as err:
        c.silences()
    assert str(err.value) == (f"cannot reach Alertmanager at http://127.0.0.1:{port}/prefix: refused or dropped "
                              "the connection (gave up after 2 attempts)")
    assert waits == [0.5]
    assert SECRET not in repr(c)


def test_bearer_token_is_read_from_a_file(server, tmp_path):
    token = tmp_path / "token"
    token.write_text(SECRET + "\n")
    c, _ = client(server.url, {"SLOKIT_ALERTMANAGER_TOKEN_FILE": str(token)})
    c.silences()
    assert server.seen[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in repr(c)


def test_basic_auth_from_the_environment(server):
    c, _ = client(server.url, {"SLOKIT_ALERTMANAGER_USER": "slo", "SLOKIT_ALERTMANAGER_PASSWORD": SECRET})
    c.silences()
    assert server.seen[0]["headers"]["Authorization"].startswith("Basic ")


def test_url_comes_from_the_environment_and_both_auth_kinds_are_refused():
    with pytest.raises(ConfigError, match="pass --url or set SLOKIT_ALERTMANAGER_URL"):
        Client.from_env(None, env={})
    assert Client.from_env(None, env={"SLOKIT_ALERTMANAGER_URL": "http://127.0.0.1:9093/"}).url == \
        "http://127.0.0.1:9093"
    with pytest.raises(ConfigError, match="not both"):
        Client.from_env("http://127.0.0.1:9093", env={"SLOKIT_ALERTMANAGER_TOKEN": "t",
                                                       "SLOKIT_ALERTMANAGER_USER": "u"})


GROUP = Group("payments", (SLO("checkout", "availability", 99.9, 30 * 86400, HttpSLI("checkout"),
                               Alerting("CheckoutAvailability")),),
              Settings(symptoms=(Symptom((Matcher("alertname", "=", "High5xx"),)),)))
NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


def live(id_: str, matchers: tuple[Matcher, ...], ends: datetime, state: str = "active") -> dict:
    return {"id": id_, "matchers": [m.api() for m in matchers], "startsAt": "2026-11-23T19:00:00Z",
            "endsAt": ends.isoformat().replace("+00:00", "Z"), "status": {"state": state}}


def test_plan_add_reuses_extends_or_creates():
    slo_alerts, symptom = GROUP.silences()
    existing = [live("covering", tuple(reversed(slo_alerts)), NOW + timedelta(hours=3)),
                live("short", symptom, NOW + timedelta(minutes=10))]
    reuse, extend = plan_add(GROUP, existing, NOW, timedelta(hours=2), "me", "deploy")
    assert reuse.method is None and "already silenced by covering" in reuse.why
    assert extend.method == "POST" and extend.body["id"] == "short"
    assert extend.body["endsAt"] == "2026-11-23T22:00:00Z"
    assert extend.body["startsAt"] == "2026-11-23T19:00:00Z"  # kept, so Alertmanager updates it in place

    expired = [live("old", slo_alerts, NOW + timedelta(hours=3), state="expired")]
    [new, _] = plan_add(GROUP, expired, NOW, timedelta(hours=2), "me", "deploy")
    assert new.method == "POST" and "id" not in new.body
    assert new.body["comment"] == "[slokit silence group payments] deploy"


def test_plan_expire_touches_only_the_groups_live_silences():
    slo_alerts, symptom = GROUP.silences()
    other = (Matcher("slo_service", "=", "search"),)
    existing = [live("a", slo_alerts, NOW), live("b", symptom, NOW, "pending"), live("c", other, NOW),
                live("d", symptom, NOW, "expired")]
    assert [a.path for a in plan_expire(GROUP, existing)] == ["/api/v2/silence/a", "/api/v2/silence/b"]


def test_silence_add_with_a_bad_spec_reports_file_and_line_and_sends_nothing(server, tmp_path):
    spec = tmp_path / "checkout.yml"
    spec.write_text("version: slokit/v1\nservice: checkout\nsilence_group: payments\nalertmanager:\n  symptoms:\n"
                    "    - matchers: ['env!=\"prod\"']\nslos:\n  - {name: a, objective: 99, sli: {http: {route: /}}}\n")
    result = CliRunner().invoke(main, ["silence", "add", "payments", "-s", str(spec), "--url", server.url,
                                       "--duration", "1h", "--comment", "x"])
    assert result.exit_code == 2
    assert f"{spec}:6: alertmanager.symptoms[0].matchers: would match every alert" in result.output
    assert server.seen == []


def test_silence_commands_name_the_missing_group_and_url(tmp_path, monkeypatch):
    monkeypatch.delenv("SLOKIT_ALERTMANAGER_URL", raising=False)
    result = CliRunner().invoke(main, ["silence", "expire", "nope", "-s", EXAMPLE])
    assert result.exit_code == 2
    assert "no silence group 'nope' in" in result.output and "(groups: payments)" in result.output
    result = CliRunner().invoke(main, ["silence", "list", "-s", EXAMPLE])
    assert result.exit_code == 2 and "no Alertmanager URL: pass --url or set SLOKIT_ALERTMANAGER_URL" in result.output


def test_silence_exit_codes_tell_a_refusal_from_an_unreachable_alertmanager(server, monkeypatch):
    monkeypatch.setenv("SLOKIT_ALERTMANAGER_TOKEN", SECRET)
    monkeypatch.setattr(alertmanager, "Retry", lambda attempts, backoff, sleep: Retry(attempts, 0, sleep))  # no waits
    server.script = [(401, "bad token")]
    refused = CliRunner().invoke(main, ["silence", "list", "-s", EXAMPLE, "--url", server.url])
    assert refused.exit_code == 2 and "answered 401" in refused.output
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    down = CliRunner().invoke(main, ["silence", "list", "-s", EXAMPLE, "--url", f"http://u:{SECRET}@127.0.0.1:{port}"])
    assert down.exit_code == 3 and "cannot reach Alertmanager" in down.output and "gave up after" in down.output
    assert SECRET not in refused.output + down.output
