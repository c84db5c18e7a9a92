"""Outbound hooks against a real HTTP server on loopback: requests and httpx measure dependency calls."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import requests
from prometheus_client import CollectorRegistry

from slokit.instrument import BAD, GOOD, AsyncSLOTransport, SLOTransport, instrument_session
from tests.instrument_helpers import free_port

METRIC = "slokit_http_client_request_duration_seconds"


class Gateway(BaseHTTPRequestHandler):
    """Answers /status/<code> with that code."""

    def do_GET(self) -> None:
        self.send_response(int(self.path.rsplit("/", 1)[-1]))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def count(registry: CollectorRegistry, peer: str, code: str, outcome: str) -> float:
    labels = {"service": "checkout", "peer": peer, "method": "GET", "code": code, "outcome": outcome}
    return registry.get_sample_value(METRIC + "_count", labels) or 0.0


def test_requests_session_is_measured_per_peer(gateway: str) -> None:
    registry = CollectorRegistry()
    heard: list[tuple[str, str, float]] = []
    session = instrument_session(requests.Session(), "checkout", registry=registry, listener=lambda *e: heard.append(e))
    for code in (200, 200, 503, 404):
        session.get(f"http://{gateway}/status/{code}", timeout=5)
    dead = f"127.0.0.1:{free_port()}"
    with pytest.raises(requests.ConnectionError):
        session.get(f"http://{dead}/status/200", timeout=5)
    assert count(registry, gateway, "200", GOOD) == 2
    assert count(registry, gateway, "503", BAD) == 1
    assert count(registry, gateway, "404", GOOD) == 1
    assert count(registry, dead, "0", BAD) == 1  # no response at all: code 0, bad
    assert [outcome for _, outcome, _ in heard] == [GOOD, GOOD, BAD, GOOD, BAD]


def test_instrumenting_twice_does_not_count_twice(gateway: str) -> None:
    registry = CollectorRegistry()
    session = instrument_session(instrument_session(requests.Session(), "checkout", registry=registry),
                                 "checkout", registry=registry)
    session.get(f"http://{gateway}/status/200", timeout=5)
    assert count(registry, gateway, "200", GOOD) == 1


def test_httpx_sync_transport(gateway: str) -> None:
    registry = CollectorRegistry()
    dead = f"127.0.0.1:{free_port()}"
    with httpx.Client(transport=SLOTransport("checkout", registry=registry)) as client:
        assert client.get(f"http://{gateway}/status/502").status_code == 502
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://{dead}/")
    assert count(registry, gateway, "502", BAD) == 1
    assert count(registry, dead, "0", BAD) == 1


def test_httpx_async_transport(gateway: str) -> None:
    registry = CollectorRegistry()

    async def calls() -> None:
        async with httpx.AsyncClient(transport=AsyncSLOTransport("checkout", registry=registry)) as client:
            await asyncio.gather(*(client.get(f"http://{gateway}/status/200") for _ in range(5)))

    asyncio.run(calls())
    assert count(registry, gateway, "200", GOOD) == 5


def test_otel_client_duration_per_semconv(gateway: str) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    transport = SLOTransport("checkout", registry=CollectorRegistry(), otel=MeterProvider(metric_readers=[reader]))
    with httpx.Client(transport=transport) as client:
        client.get(f"http://{gateway}/status/502")
    [metric] = [m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
                for m in sm.metrics]
    [point] = metric.data.data_points
    host, port = gateway.split(":")
    assert metric.name == "http.client.request.duration"
    assert dict(point.attributes) == {
        "server.address": host, "server.port": int(port), "http.request.method": "GET",
        "http.response.status_code": 502, "error.type": "502", "slokit.outcome": "bad"}
