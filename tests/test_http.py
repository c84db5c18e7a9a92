"""slokit.http: URLs safe to print, host:port labels, retries of transient errors only, errors for every fault."""

from __future__ import annotations

import time

import pytest
import requests

from slokit.errors import ConfigError, RemoteError
from slokit.http import Fault, Retry, fetch, host_port, http_url, loads, printable, redact, request_json, retrying
from tests import fault_server as faults
from tests.fault_server import FaultServer


def test_redact_drops_credentials_query_and_fragment_and_never_raises():
    assert redact("https://admin:s3cret@grafana.example.com:3000/sub/?api_key=s3cret#x") == \
        "https://grafana.example.com:3000/sub/"
    assert redact("http://127.0.0.1:9093") == "http://127.0.0.1:9093"
    assert redact("http://[::1") == "(not a URL)" and redact("http://h:abc/") == "(not a URL)"


def test_http_url_refuses_what_cannot_be_asked_naming_the_setting():
    assert http_url("https://grafana.example.com/sub/", "GRAFANA_URL") == "https://grafana.example.com/sub/"
    for bad in ("", "grafana.example.com", "ftp://x/", "http:///path", "http://h:abc/", "http://[::1"):
        with pytest.raises(ConfigError, match="GRAFANA_URL"):
            http_url(bad, "GRAFANA_URL")
    with pytest.raises(ConfigError) as err:
        http_url("ftp://u:s3cret@x/", "GRAFANA_URL")
    assert "s3cret" not in str(err.value)


def test_host_port_makes_the_port_explicit():
    assert host_port("https://api.example.com/v1?q=1") == "api.example.com:443"
    assert host_port("http://u:p@API.example.com/") == "api.example.com:80"
    assert host_port("http://[::1]:8080/") == "::1:8080"


def test_retrying_retries_transient_errors_with_backoff_and_says_how_often():
    waits: list[float] = []
    answers = iter([RemoteError("503", 503, transient=True), RemoteError("down", transient=True), "ok"])

    def call() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retrying(call, Retry(attempts=3, backoff=0.5, sleep=waits.append)) == "ok"
    assert waits == [0.5, 1.0]

    def down() -> None:
        raise RemoteError("cannot reach X", transient=True)

    with pytest.raises(RemoteError, match=r"^cannot reach X \(gave up after 2 attempts\)$"):
        retrying(down, Retry(attempts=2, backoff=0, sleep=waits.append))

    def refused() -> None:
        raise RemoteError("answered 400", 400)

    waits.clear()
    with pytest.raises(RemoteError, match="^answered 400$") as err:
        retrying(refused, Retry(attempts=3, sleep=waits.append))
    assert waits == [] and err.value.refused


def test_request_json_turns_every_fault_into_an_error(httpserver):
    session = requests.Session()
    httpserver.expect_request("/ok").respond_with_json({"a": 1})
    httpserver.expect_request("/empty").respond_with_data(b"", status=204)
    httpserver.expect_request("/html").respond_with_data(b"<html>", content_type="text/html")
    httpserver.expect_request("/busy").respond_with_data(b"slow down", status=429)
    base = httpserver.url_for("/").rstrip("/")
    assert request_json(session, "GET", base, "/ok", server="X") == {"a": 1}
    assert request_json(session, "GET", base, "/empty", server="X") is None
    with pytest.raises(RemoteError, match="not JSON") as garbage:
        request_json(session, "GET", base, "/html", server="X")
    with pytest.raises(RemoteError, match="answered 429: slow down") as busy:
        request_json(session, "GET", base, "/busy", server="X")
    assert (garbage.value.transient, busy.value.transient, busy.value.refused) == (False, True, False)
    with pytest.raises(ConfigError):
        request_json(session, "GET", "notaurl", "/", server="X")


@pytest.fixture
def server():
    with FaultServer() as s:
        yield s


def timed(call):
    start = time.monotonic()
    try:
        call()
    except Fault as exc:
        return exc, time.monotonic() - start
    raise AssertionError("no fault")


@pytest.mark.parametrize("fault", [faults.drip(), faults.drip(in_headers=True), faults.hang()],
                         ids=["drip-body", "drip-headers", "hang"])
def test_a_drip_or_a_hang_ends_at_the_total_deadline_not_per_read(server, fault):
    server.default = fault
    exc, took = timed(lambda: fetch(requests.Session(), "GET", server.url, timeout=1.0))
    assert exc.reason == "timeout" and exc.transient and took < 1.8, (exc, took)
    assert str(exc) == "no complete answer within 1s"


def test_the_deadline_holds_through_a_proxy(server):
    server.default = faults.drip()  # the proxy drips: the request never leaves loopback
    session = requests.Session()
    session.proxies = {"http": server.url}
    session.trust_env = False
    exc, took = timed(lambda: fetch(session, "GET", "http://example.invalid/", timeout=1.0))
    assert exc.reason == "timeout" and took < 1.8, (exc, took)
    assert server.seen[0].path == "http://example.invalid/"


def test_a_300_mb_body_is_refused_after_reading_at_most_the_limit(server):
    server.default = faults.huge(300)
    exc, took = timed(lambda: fetch(requests.Session(), "GET", server.url, timeout=20, max_bytes=4 << 20))
    assert exc.reason == "too_large" and not exc.transient and took < 5, (exc, took)


def test_deep_json_and_json_extensions_are_value_errors_not_crashes(server):
    server.default = faults.deep(200_000)
    answer = fetch(requests.Session(), "GET", server.url, timeout=5)
    with pytest.raises(ValueError, match="nested too deeply"):
        answer.json()
    for bad in (b"NaN", b'{"a": Infinity}', b"\xff"):
        with pytest.raises(ValueError):
            loads(bad)
    assert loads(b'[[1, "x"]]') == [[1, "x"]]


@pytest.mark.parametrize("fault", [faults.close(), faults.short()], ids=["close", "short-body"])
def test_a_dropped_connection_or_a_short_body_is_a_connection_fault(server, fault):
    server.default = fault
    exc, _ = timed(lambda: fetch(requests.Session(), "GET", server.url, timeout=5))
    assert exc.reason == "connection" and exc.transient


def test_a_get_follows_a_redirect_on_its_own_origin_only(server):
    server.script = [faults.redirect("/moved"), faults.json({"here": True})]
    assert fetch(requests.Session(), "GET", server.url + "/api", timeout=5).json() == {"here": True}
    assert [s.path for s in server.seen] == ["/api", "/moved"]
    with FaultServer(host="127.0.0.2") as elsewhere:
        server.script = [faults.redirect(elsewhere.url + "/steal?token=s3cret")]
        exc, _ = timed(lambda: fetch(requests.Session(), "GET", server.url, timeout=5))
        assert exc.reason == "redirect" and exc.status == 302 and "another host" in str(exc)
        assert "s3cret" not in str(exc) and elsewhere.seen == []


def test_a_redirected_post_is_reported_never_replayed_as_a_get(server):
    server.script = [faults.redirect("/api/v2/silences", 302)]
    exc, _ = timed(lambda: fetch(requests.Session(), "POST", server.url + "/api/v2/silences", timeout=5,
                                 body={"x": 1}))
    assert exc.reason == "redirect" and "a POST" in str(exc) and not exc.transient
    assert [s.method for s in server.seen] == ["POST"]


def test_request_json_names_the_server_and_the_fault_never_the_secret(server):
    server.default = faults.hang()
    url = server.url.replace("http://", "http://admin:s3cret@") + "/?api_key=s3cret"
    with pytest.raises(RemoteError) as err:
        request_json(requests.Session(), "GET", url, "", server="X", timeout=0.5)
    assert "s3cret" not in str(err.value) and "cannot reach X at http://127.0.0.1:" in str(err.value)
    assert err.value.transient


def test_printable_hides_terminal_escapes():
    assert printable("\x1b[2Jboom\n") == "?[2Jboom" and printable("x" * 500, 10) == "x" * 10
