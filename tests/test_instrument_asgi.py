"""The ASGI middleware on Starlette, FastAPI and a plain ASGI app: labels, outcomes, timing, listener."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route

from slokit.instrument import BAD, DISCONNECT, GOOD, UNMATCHED_ROUTE, Classification, SLOMiddleware, Templates

METRIC = "slokit_http_server_request_duration_seconds"


def count(registry: CollectorRegistry, route: str, code: str, outcome: str, method: str = "GET") -> float:
    labels = {"service": "shop", "route": route, "method": method, "code": code, "outcome": outcome}
    return registry.get_sample_value(METRIC + "_count", labels) or 0.0


async def user(request: Request) -> PlainTextResponse:
    return PlainTextResponse("user", status_code=int(request.query_params.get("status", 200)))


async def crash(request: Request) -> PlainTextResponse:
    raise RuntimeError("bug")


def shop(registry: CollectorRegistry, **options: Any) -> Starlette:
    app = Starlette(routes=[
        Route("/users/{id}", user),
        Route("/crash", crash),
        Mount("/api", routes=[Route("/items/{id}", user)]),
    ])
    app.add_middleware(SLOMiddleware, service="shop", registry=registry, **options)
    return app


def get(app: Any, *paths: str, method: str = "GET") -> list[int]:
    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [(await client.request(method, path)).status_code for path in paths]
    return asyncio.run(run())


def call(app: Any, path: str, receive: Any = None) -> list[dict]:
    """Call an ASGI app directly, as a server would, and return what it sent."""
    sent: list[dict] = []

    async def request() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "GET", "path": path, "raw_path": path.encode(), "root_path": "", "scheme": "http",
             "query_string": b"", "headers": [], "server": ("test", 80), "client": ("test", 1)}
    asyncio.run(asyncio.wait_for(app(scope, receive or request, send), timeout=5))
    return sent


def test_route_template_status_and_outcome_label_each_request() -> None:
    registry = CollectorRegistry()
    get(shop(registry), "/users/1", "/users/2", "/users/3?status=503", "/users/4?status=429",
        "/users/5?status=404", "/crash", "/api/items/7", "/no/such/path", "/another/unknown")
    assert count(registry, "/users/{id}", "200", GOOD) == 2
    assert count(registry, "/users/{id}", "503", BAD) == 1
    assert count(registry, "/users/{id}", "429", BAD) == 1  # throttling spends budget
    assert count(registry, "/users/{id}", "404", GOOD) == 1  # the client's mistake does not
    assert count(registry, "/crash", "500", BAD) == 1  # an exception is a 500
    assert count(registry, "/api/items/{id}", "200", GOOD) == 1  # mount prefix + inner template
    assert count(registry, UNMATCHED_ROUTE, "404", GOOD) == 2  # unknown paths share one series
    routes = {s.labels["route"] for s in registry.collect().__next__().samples}
    assert routes == {"/users/{id}", "/crash", "/api/items/{id}", UNMATCHED_ROUTE}  # never a raw path


def test_unknown_methods_collapse_to_other() -> None:
    registry = CollectorRegistry()
    get(shop(registry), "/users/1", method="BREW")
    assert count(registry, "/users/{id}", "405", GOOD, method="OTHER") == 1


def test_classification_is_configurable() -> None:
    registry = CollectorRegistry()
    strict = Classification(bad_429=False, bad_4xx=True, good=frozenset({501}))
    get(shop(registry, classification=strict), "/users/1?status=429", "/users/1?status=404",
        "/users/1?status=501")
    assert count(registry, "/users/{id}", "429", GOOD) == 1
    assert count(registry, "/users/{id}", "404", BAD) == 1
    assert count(registry, "/users/{id}", "501", GOOD) == 1


def test_default_classification_table() -> None:
    outcomes = Classification().table()
    assert [outcomes[c] for c in (200, 302, 400, 404, 429, 500, 503, 0)] == [
        GOOD, GOOD, GOOD, GOOD, BAD, BAD, BAD, BAD]


def test_fastapi_route_template() -> None:
    registry = CollectorRegistry()
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item": item_id}

    app.add_middleware(SLOMiddleware, service="shop", registry=registry)
    assert get(app, "/items/1", "/items/2", "/items/x") == [200, 200, 422]
    assert count(registry, "/items/{item_id}", "200", GOOD) == 2
    assert count(registry, "/items/{item_id}", "422", GOOD) == 1


def test_plain_asgi_app_with_templates() -> None:
    async def plain(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    registry = CollectorRegistry()
    app = SLOMiddleware(plain, "shop", registry=registry, route=Templates(["/orders/{id}", "/health"]).asgi())
    get(app, "/orders/17", "/health", "/elsewhere")
    assert count(registry, "/orders/{id}", "204", GOOD) == 1
    assert count(registry, "/health", "204", GOOD) == 1
    assert count(registry, UNMATCHED_ROUTE, "204", GOOD) == 1


def test_listener_gets_each_classified_request_once() -> None:
    heard: list[tuple[str, str, float]] = []
    get(shop(CollectorRegistry(), listener=lambda *event: heard.append(event)),
        "/users/1", "/users/1?status=500", "/nowhere")
    assert [(route, outcome) for route, outcome, _ in heard] == [
        ("/users/{id}", GOOD), ("/users/{id}", BAD), (UNMATCHED_ROUTE, GOOD)]
    assert all(0 < seconds < 1 for _, _, seconds in heard)


def test_streaming_response_is_timed_to_its_end_and_background_tasks_are_not() -> None:
    async def slow_body():
        for _ in range(3):
            await asyncio.sleep(0.05)
            yield b"chunk"

    async def stream(request: Request) -> StreamingResponse:
        return StreamingResponse(slow_body(), background=BackgroundTask(asyncio.sleep, 0.3))

    heard: list[tuple[str, str, float]] = []
    app = Starlette(routes=[Route("/stream", stream)])
    app.add_middleware(SLOMiddleware, service="shop", registry=CollectorRegistry(), listener=lambda *e: heard.append(e))
    assert get(app, "/stream") == [200]
    [(route, outcome, seconds)] = heard
    assert (route, outcome) == ("/stream", GOOD)
    assert 0.15 <= seconds < 0.3  # the body took 150ms; the 300ms background task came after the response


def test_client_disconnect_mid_stream_is_its_own_outcome() -> None:
    async def endless():
        for _ in range(200):  # bounded: 2s at most
            await asyncio.sleep(0.01)
            yield b"tick"

    async def stream(request: Request) -> StreamingResponse:
        return StreamingResponse(endless())

    registry = CollectorRegistry()
    app = Starlette(routes=[Route("/ticks", stream)])
    app.add_middleware(SLOMiddleware, service="shop", registry=registry)

    requested = False

    async def receive() -> dict:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(0.05)  # the client hangs up 50ms into the stream
        return {"type": "http.disconnect"}

    call(app, "/ticks", receive)
    assert count(registry, "/ticks", "200", DISCONNECT) == 1
    assert count(registry, "/ticks", "200", GOOD) == count(registry, "/ticks", "200", BAD) == 0


def test_latency_lands_in_the_contract_buckets() -> None:
    async def slow(request: Request) -> PlainTextResponse:
        await asyncio.sleep(0.06)
        return PlainTextResponse("ok")

    registry = CollectorRegistry()
    app = Starlette(routes=[Route("/slow", slow)])
    app.add_middleware(SLOMiddleware, service="shop", registry=registry)
    get(app, "/slow")
    labels = {"service": "shop", "route": "/slow", "method": "GET", "code": "200", "outcome": GOOD}
    assert registry.get_sample_value(METRIC + "_bucket", {**labels, "le": "0.05"}) == 0
    assert registry.get_sample_value(METRIC + "_bucket", {**labels, "le": "0.3"}) == 1  # `latency: 300ms`
    assert registry.get_sample_value(METRIC + "_bucket", {**labels, "le": "1.0"}) == 1


def test_exemplar_carries_the_active_trace_id() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    default, off = CollectorRegistry(), CollectorRegistry()
    with tracer.start_as_current_span("request") as span:
        get(shop(default), "/users/1")
        get(shop(off, exemplars=False), "/users/1")
    get(shop(default), "/users/2")  # no span: no exemplar, and nothing breaks
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert openmetrics(default).decode().count(f'trace_id="{trace_id}"') == 1
    assert "trace_id" not in openmetrics(off).decode()


def test_websocket_and_lifespan_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    registry = CollectorRegistry()
    middleware = SLOMiddleware(app, "shop", registry=registry)
    asyncio.run(middleware({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert seen == ["lifespan"]
    assert not [sample for family in registry.collect() for sample in family.samples]


def test_metrics_endpoint_serves_the_contract_series() -> None:
    from slokit.instrument import make_asgi_app

    registry = CollectorRegistry()
    app = shop(registry)
    app.mount("/metrics", make_asgi_app(registry))

    async def run() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/users/1")
            return (await client.get("/metrics/")).text

    text = asyncio.run(run())
    assert 'slokit_http_server_request_duration_seconds_bucket{code="200",le="0.3",method="GET",outcome="good",' \
           'route="/users/{id}",service="shop"} 1.0' in text


def test_app_returning_without_a_response_is_a_server_error() -> None:
    async def forgetful(scope: dict, receive: Any, send: Any) -> None:
        return None

    registry = CollectorRegistry()
    assert call(SLOMiddleware(forgetful, "shop", registry=registry, route=lambda scope: "/pay"), "/pay") == []
    assert count(registry, "/pay", "500", BAD) == 1
