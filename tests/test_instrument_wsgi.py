"""The WSGI middleware on Flask and a plain WSGI app: the same labels and outcomes as ASGI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, stream_with_context
from prometheus_client import CollectorRegistry
from werkzeug.test import Client

from slokit.instrument import BAD, DISCONNECT, GOOD, UNMATCHED_ROUTE, SLOWSGIMiddleware, Templates

METRIC = "slokit_http_server_request_duration_seconds"


def count(registry: CollectorRegistry, route: str, code: str, outcome: str) -> float:
    labels = {"service": "shop", "route": route, "method": "GET", "code": code, "outcome": outcome}
    return registry.get_sample_value(METRIC + "_count", labels) or 0.0


def flask_shop(registry: CollectorRegistry, **options: Any) -> Flask:
    app = Flask("shop")

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> tuple[str, int]:
        return "user", user_id if user_id >= 200 else 200

    @app.get("/crash")
    def crash() -> str:
        raise RuntimeError("bug")

    @app.get("/stream")
    def stream() -> Response:
        def body() -> Iterator[str]:
            for _ in range(3):
                time.sleep(0.05)
                yield "chunk"
        return Response(stream_with_context(body()))

    app.wsgi_app = SLOWSGIMiddleware(app.wsgi_app, "shop", registry=registry, **options)  # type: ignore[method-assign]
    return app


def test_flask_rule_becomes_the_route_template() -> None:
    registry = CollectorRegistry()
    client = flask_shop(registry).test_client()
    paths = ("/users/1", "/users/2", "/users/503", "/users/429", "/users/404", "/crash", "/nowhere")
    # buffered: the body is read to its end and closed, as a server does; that is when it is recorded
    assert [client.get(p, buffered=True).status_code for p in paths] == [200, 200, 503, 429, 404, 500, 404]
    assert count(registry, "/users/{user_id}", "200", GOOD) == 2
    assert count(registry, "/users/{user_id}", "503", BAD) == 1
    assert count(registry, "/users/{user_id}", "429", BAD) == 1
    assert count(registry, "/users/{user_id}", "404", GOOD) == 1
    assert count(registry, "/crash", "500", BAD) == 1  # Flask turned the exception into a 500
    assert count(registry, UNMATCHED_ROUTE, "404", GOOD) == 1


def test_exception_escaping_a_plain_wsgi_app_is_a_500() -> None:
    def broken(environ: dict, start_response: Any) -> list[bytes]:
        raise RuntimeError("bug")

    registry = CollectorRegistry()
    app = SLOWSGIMiddleware(broken, "shop", registry=registry, route=Templates(["/pay"]).wsgi())
    try:
        Client(app).get("/pay")
    except RuntimeError:
        pass
    assert count(registry, "/pay", "500", BAD) == 1


def test_stream_is_timed_to_its_end() -> None:
    heard: list[tuple[str, str, float]] = []
    client = flask_shop(CollectorRegistry(), listener=lambda *e: heard.append(e)).test_client()
    with client.get("/stream") as response:
        assert response.data == b"chunk" * 3
    [(route, outcome, seconds)] = heard
    assert (route, outcome) == ("/stream", GOOD) and seconds >= 0.15


def test_body_closed_before_its_end_is_a_disconnect() -> None:
    registry = CollectorRegistry()
    app = flask_shop(registry)
    body = iter(Client(app).get("/stream", buffered=False).response)
    next(body)  # the client reads one chunk, then hangs up
    body.close()  # type: ignore[attr-defined]
    assert count(registry, "/stream", "200", DISCONNECT) == 1
    assert count(registry, "/stream", "200", GOOD) == 0


def test_app_failing_mid_stream_is_bad() -> None:
    def flaky(environ: dict, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first"
        raise RuntimeError("lost the database mid-body")

    registry = CollectorRegistry()
    app = SLOWSGIMiddleware(flaky, "shop", registry=registry, route=Templates(["/report"]).wsgi())
    response = Client(app).get("/report", buffered=False)
    chunks = iter(response.response)
    assert next(chunks) == b"first"
    try:
        next(chunks)
    except RuntimeError:
        pass
    response.close()
    assert count(registry, "/report", "500", BAD) == 1
    assert count(registry, "/report", "200", DISCONNECT) == 0
