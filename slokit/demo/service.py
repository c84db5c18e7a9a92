"""The demo's checkout service: examples/service.py's shape (a /pay route calling a payment gateway),
plus what the runtime adds: /pay calls the gateway through the `payments` breaker and answers from a
fallback (the charge is queued, 202) while it is open; /recommendations is behind the `recommendations`
switch; /livez, /readyz and /healthz are the health probes (in front of the middleware, so probes are not
traffic). Plain WSGI on the standard library's server, so the demo needs nothing beyond slokit's own
dependencies.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from slokit.errors import SlokitError
from slokit.health import Health, HealthWSGIMiddleware
from slokit.instrument.routes import Templates
from slokit.instrument.wsgi import SLOWSGIMiddleware
from slokit.runtime import BreakerOpen, Runtime
from slokit.status import StatusBoard, status_wsgi

ROUTES = ("/pay", "/recommendations", "/metrics")
STATUS_PREFIX = "/slokit"


class GatewayError(SlokitError):
    """The payment gateway failed the charge."""


@dataclass
class Gateway:
    """A payment gateway stand-in that fails `failure_ratio` of its calls, spread evenly (every Nth)."""

    failure_ratio: float = 0.0
    _debt: float = 0.0

    def charge(self, amount_cents: int) -> str:
        self._debt += self.failure_ratio
        if self._debt >= 1 - 1e-9:
            self._debt -= 1
            raise GatewayError("gateway unavailable")
        return f"charged {amount_cents}"


def _json(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def create_app(runtime: Runtime, board: StatusBoard, gateway: Gateway,
               registry: CollectorRegistry) -> Callable[..., Iterable[bytes]]:
    """The instrumented WSGI app: probes -> middleware -> routes; the status page under /slokit/."""
    health = board.health = board.health or Health(runtime)
    payments = runtime.breaker("payments")
    status_page = status_wsgi(board)
    metrics: Callable[..., Iterable[bytes]] = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/pay":
            try:
                with payments:
                    receipt = gateway.charge(100)
            except BreakerOpen:  # the fallback: accept the order, charge it later
                return _json(start_response, "202 Accepted", {"queued": True, "served_by": "fallback"})
            except GatewayError as exc:
                return _json(start_response, "503 Service Unavailable", {"error": str(exc)})
            return _json(start_response, "200 OK", {"receipt": receipt, "served_by": "gateway"})
        if path == "/recommendations":
            user = parse_qs(environ.get("QUERY_STRING", "")).get("user", [None])[0]
            if runtime.enabled("recommendations", key=user):  # while it ramps back, a user keeps one answer
                return _json(start_response, "200 OK", {"items": ["gift-wrap", "express"], "degraded": False})
            return _json(start_response, "200 OK", {"items": [], "degraded": True})
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == STATUS_PREFIX or path.startswith(STATUS_PREFIX + "/"):
            environ = {**environ, "SCRIPT_NAME": STATUS_PREFIX, "PATH_INFO": path[len(STATUS_PREFIX):]}
            health.result()  # no kubelet probes the demo: the page's reader refreshes the probes (cached)
            return status_page(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "no such route"})

    measured = SLOWSGIMiddleware(app, service="checkout", registry=registry, listener=board.listener(),
                                 route=Templates([*ROUTES, STATUS_PREFIX + "/", STATUS_PREFIX + "/{page}"]).wsgi())
    return HealthWSGIMiddleware(measured, health)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the timeline is the log
        pass


@dataclass
class Served:
    server: WSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(app: Callable[..., Iterable[bytes]], port: int = 0) -> Served:
    """Serve on 127.0.0.1 (port 0: a free one) from a daemon thread."""
    server = make_server("127.0.0.1", port, app, server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="demo-http", daemon=True)
    thread.start()
    return Served(server, thread)
