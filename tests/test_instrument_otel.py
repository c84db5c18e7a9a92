"""OpenTelemetry: the same measurements as `http.server.request.duration`, in memory and over OTLP."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from slokit.instrument import SLOMiddleware
from slokit.instrument.otel import otlp_meter_provider


async def order(request: Request) -> PlainTextResponse:
    return PlainTextResponse("", status_code=int(request.query_params.get("status", 200)))


def serve(meter_provider: Any, *paths: str) -> SLOMiddleware:
    app = Starlette(routes=[Route("/orders/{id}", order)])
    middleware = SLOMiddleware(app, "shop", registry=CollectorRegistry(), otel=meter_provider)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=middleware), base_url="http://t") as client:
            for path in paths:
                await client.get(path)

    asyncio.run(run())
    return middleware


def test_semconv_histogram_with_route_method_status() -> None:
    reader = InMemoryMetricReader()
    serve(MeterProvider(metric_readers=[reader]), "/orders/1", "/orders/2", "/orders/3?status=503")
    [metric] = [m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
                for m in sm.metrics]
    assert (metric.name, metric.unit) == ("http.server.request.duration", "s")
    points = {p.attributes["http.response.status_code"]: p for p in metric.data.data_points}
    assert points[200].count == 2 and points[503].count == 1
    assert dict(points[503].attributes) == {
        "http.route": "/orders/{id}", "http.request.method": "GET", "http.response.status_code": 503,
        "error.type": "503", "slokit.outcome": "bad"}
    assert 0.3 in points[200].explicit_bounds  # the contract's buckets, so `latency: 300ms` lines up


def test_off_by_default() -> None:
    assert serve(None, "/orders/1").recorder.otel is None


class Collector(BaseHTTPRequestHandler):
    """A minimal OTLP/HTTP metrics receiver: keeps each decoded export request."""

    received: list[ExportMetricsServiceRequest] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        export = ExportMetricsServiceRequest()
        export.ParseFromString(body)
        Collector.received.append(export)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_otlp_export_to_a_collector_on_loopback(monkeypatch: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", raising=False)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        provider = otlp_meter_provider("shop", interval_seconds=60)
        serve(provider, "/orders/1")
        provider.shutdown()  # flushes the last export
    finally:
        server.shutdown()
        server.server_close()
    names = {({a.key: a.value.string_value for a in r.resource.attributes}["service.name"], m.name)
             for export in Collector.received for r in export.resource_metrics
             for sm in r.scope_metrics for m in sm.metrics}
    assert ("shop", "http.server.request.duration") in names


def test_no_otlp_provider_without_an_endpoint(monkeypatch: Any) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", raising=False)
    assert otlp_meter_provider("shop") is None

