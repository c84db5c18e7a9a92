"""slokit.http: URLs safe to print, host:port labels, retries of transient errors only, errors for every fault."""

from __future__ import annotations

import pytest
import requests

from slokit.errors import ConfigError, RemoteError
from slokit.http import Retry, host_port, http_url, redact, request_json, retrying


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
