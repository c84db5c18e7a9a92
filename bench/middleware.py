"""Per-request cost of slokit's middleware next to its peers, in one run, in process.

    python bench/middleware.py                      # prints the table
    python bench/middleware.py --write docs/benchmarks.md   # also replaces the "Middleware" section there

Every variant serves the same Starlette (ASGI) or Flask (WSGI) app with one templated route. Requests are
made by calling the app directly with a prepared scope/environ and no-op receive/send, so the numbers are
the app's and the middleware's work, without sockets or an HTTP client. Variants run interleaved in each
round (so drift hits them all alike); a variant's overhead is the median over rounds of its time minus the
bare app's time in the same round.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from sections import write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slokit.instrument import SLOMiddleware, SLOWSGIMiddleware  # noqa: E402

SECTION = "## Middleware"


# --- ASGI -------------------------------------------------------------------------------------------------

def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def user(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/users/{id}", user)])


def asgi_variants() -> dict[str, Any]:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.trace import NoOpTracerProvider
    from prometheus_fastapi_instrumentator import Instrumentator
    from starlette_exporter import PrometheusMiddleware

    variants: dict[str, Any] = {"bare Starlette": starlette_app()}

    app = starlette_app()
    app.add_middleware(SLOMiddleware, service="bench", registry=CollectorRegistry())
    variants["slokit"] = app
    variants["slokit, in a sampled span (exemplar)"] = app  # the same app, timed inside a span

    app = starlette_app()
    app.add_middleware(SLOMiddleware, service="bench", registry=CollectorRegistry(), exemplars=False)
    variants["slokit, exemplars=False"] = app

    app = starlette_app()
    app.add_middleware(SLOMiddleware, service="bench", registry=CollectorRegistry(),
                       otel=MeterProvider(metric_readers=[InMemoryMetricReader()]))
    variants["slokit + OTel metrics"] = app

    app = starlette_app()
    app.add_middleware(PrometheusMiddleware, app_name="bench", group_paths=True)
    variants["starlette-exporter"] = app

    app = starlette_app()
    Instrumentator(registry=CollectorRegistry()).instrument(app)
    variants["prometheus-fastapi-instrumentator"] = app

    app = starlette_app()
    app.add_middleware(OpenTelemetryMiddleware, tracer_provider=NoOpTracerProvider(),
                       meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]))
    variants["opentelemetry-instrumentation-asgi (metrics only)"] = app
    return variants


SCOPE = {
    "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1", "method": "GET",
    "scheme": "http", "path": "/users/42", "raw_path": b"/users/42", "root_path": "", "query_string": b"",
    "headers": [(b"host", b"bench"), (b"user-agent", b"bench")], "server": ("bench", 80),
    "client": ("127.0.0.1", 50000),
}


def asgi_timer(app: Any, loop: asyncio.AbstractEventLoop, in_span: bool = False) -> Callable[[int], float]:
    request = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        pass

    async def many(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await app(dict(SCOPE), receive, send)
        return time.perf_counter() - start

    if not in_span:
        return lambda n: loop.run_until_complete(many(n))
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("bench")

    def spanned(n: int) -> float:
        with tracer.start_as_current_span("request"):
            return loop.run_until_complete(many(n))

    return spanned


# --- WSGI -------------------------------------------------------------------------------------------------

def flask_app() -> Any:
    from flask import Flask

    app = Flask("bench")

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> str:
        return "ok"

    return app


def wsgi_variants() -> dict[str, Any]:
    from prometheus_flask_exporter import PrometheusMetrics

    variants: dict[str, Any] = {"bare Flask": flask_app()}
    app = flask_app()
    app.wsgi_app = SLOWSGIMiddleware(app.wsgi_app, "bench", registry=CollectorRegistry())  # type: ignore[method-assign]
    variants["slokit (WSGI)"] = app
    app = flask_app()
    PrometheusMetrics(app, registry=CollectorRegistry(), group_by="url_rule")
    variants["prometheus-flask-exporter"] = app
    return variants


def wsgi_timer(app: Any) -> Callable[[int], float]:
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/users/42").get_environ()

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
        return lambda data: None

    def many(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            body = app(dict(environ), start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return time.perf_counter() - start

    return many


# --- measuring --------------------------------------------------------------------------------------------

def measure(timers: dict[str, Callable[[int], float]], baseline: str, rounds: int, batch: int) -> list[dict[str, Any]]:
    """Median µs per request and median paired overhead over `rounds` interleaved rounds."""
    for timer in timers.values():
        timer(batch // 4)  # warm up: build middleware stacks, create labelled children
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            gc.collect()
            samples[name].append(timer(batch) / batch * 1e6)
    rows = []
    for name, values in samples.items():
        overhead = statistics.median(v - b for v, b in zip(values, samples[baseline], strict=True))
        rows.append({"name": name, "us": statistics.median(values), "overhead": overhead})
    return rows


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(rows: list[dict[str, Any]], reference: str) -> list[str]:
    ours = next(r["overhead"] for r in rows if r["name"] == reference)
    lines = ["| variant | µs / request | overhead µs | overhead vs slokit |", "|---|---:|---:|---:|"]
    for r in rows:
        if r["overhead"] == 0 and r["name"].startswith("bare"):
            lines.append(f"| {r['name']} | {r['us']:.1f} | — | — |")
        else:
            lines.append(f"| {r['name']} | {r['us']:.1f} | {r['overhead']:.1f} | {r['overhead'] / ours:.1f}x |")
    return lines


def report(asgi: list[dict[str, Any]], wsgi: list[dict[str, Any]], rounds: int, batch: int) -> str:
    import os

    import flask
    import starlette

    peers = [r["overhead"] for r in asgi if not r["name"].startswith(("bare", "slokit"))]
    ours = next(r["overhead"] for r in asgi if r["name"] == "slokit")
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        SECTION,
        "",
        f"Measured {date} with `python bench/middleware.py` on {os.cpu_count()} cores ({cpu_model()}), "
        f"Python {platform.python_version()}, Starlette {starlette.__version__}, Flask "
        f"{_version('flask')}. In process: the app called directly with a prepared scope/environ, "
        f"{rounds} interleaved rounds of {batch} requests per variant; medians. Overhead = variant minus "
        f"the bare app in the same round. Load average at the end: {os.getloadavg()[0]:.1f} (other "
        "suites shared the machine), so absolute numbers carry noise; the ratios are from one run.",
        "",
        "ASGI (Starlette, one templated route):",
        "",
        *table(asgi, "slokit"),
        "",
        "WSGI (Flask, one templated route):",
        "",
        *table(wsgi, "slokit (WSGI)"),
        "",
        f"slokit's overhead is {ours:.1f} µs, {min(peers) / ours:.1f}x below the cheapest ASGI peer "
        f"({min(peers):.1f} µs). \"slokit\" runs with its defaults: exemplars on, no span active, so it looks "
        "for a span and finds none (compare \"exemplars=False\"); \"in a sampled span\" attaches the trace id "
        "as an exemplar; \"+ OTel metrics\" also records into an OpenTelemetry SDK histogram.",
        "",
    ]
    del flask
    return "\n".join(lines)


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--write", type=Path, help="markdown file whose Middleware section to replace")
    args = parser.parse_args()

    loop = asyncio.new_event_loop()
    asgi = measure({n: asgi_timer(a, loop, "sampled span" in n) for n, a in asgi_variants().items()}, "bare Starlette",
                   args.rounds, args.batch)
    loop.close()
    wsgi = measure({n: wsgi_timer(a) for n, a in wsgi_variants().items()}, "bare Flask", args.rounds, args.batch)
    section = report(asgi, wsgi, args.rounds, args.batch)
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
