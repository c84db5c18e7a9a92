"""WSGI middleware: the ASGI middleware's contract for Flask and plain WSGI apps.

    app.wsgi_app = SLOWSGIMiddleware(app.wsgi_app, service="checkout")        # Flask
    app = SLOWSGIMiddleware(app, service="checkout", route=Templates([...]).wsgi())   # any WSGI app

The route is resolved when the app calls `start_response`; the request is recorded when the server closes
the response iterable, so a streamed body is counted when it ends, and a body the server stopped reading
early (the client hung up) is a `disconnect`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from time import perf_counter
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry

from slokit import names
from slokit.instrument import otel as otel_module
from slokit.instrument.core import (
    DEFAULT_CLASSIFICATION,
    Classification,
    Listener,
    Recorder,
    http_recorder,
    method_label,
)
from slokit.instrument.routes import werkzeug_route

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class SLOWSGIMiddleware:
    """Measures every request of a WSGI app. The route comes from `route(environ)` if given, else from
    the URL rule Flask/werkzeug matched (`/users/<int:id>` is labelled `/users/{id}`); unmatched paths are
    `names.UNMATCHED_ROUTE`. Options as for the ASGI `SLOMiddleware`."""

    def __init__(
        self,
        app: WSGIApp,
        service: str,
        *,
        registry: CollectorRegistry = REGISTRY,
        classification: Classification = DEFAULT_CLASSIFICATION,
        route: Callable[[Environ], str | None] | None = None,
        listener: Listener | None = None,
        otel: Any = None,
        exemplars: bool = True,
    ) -> None:
        self.app = app
        self.route = route or werkzeug_route
        self.recorder = http_recorder(
            "server", service, registry=registry, classification=classification, listener=listener,
            otel=otel_module.from_option(otel), exemplars=exemplars)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        exchange = _Exchange(self, environ, perf_counter())

        def start_response_wrapper(status: str, headers: Any, exc_info: Any = None) -> Any:
            exchange.status = int(status[:3])
            # Resolve now: Flask forgets the matched rule when its request context ends, before the body.
            exchange.route = self.route(environ)
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, start_response_wrapper)
        except BaseException:
            exchange.finish(500, names.BAD)
            raise
        exchange.body = body
        return exchange


class _Exchange:
    """The response iterable handed to the server: passes the body through, records on close."""

    __slots__ = ("middleware", "environ", "start", "status", "route", "body", "done", "recorded")

    def __init__(self, middleware: SLOWSGIMiddleware, environ: Environ, start: float) -> None:
        self.middleware, self.environ, self.start = middleware, environ, start
        self.status = 0
        self.route: str | None = None
        self.body: Iterable[bytes] = ()
        self.done = self.recorded = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.body
        except GeneratorExit:
            raise
        except BaseException:
            self.finish(500, names.BAD)  # the app failed while streaming
            raise
        self.done = True

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            if self.done:
                recorder: Recorder = self.middleware.recorder
                self.finish(self.status, recorder.outcome(self.status))
            else:
                self.finish(self.status, names.DISCONNECT)

    def finish(self, status: int, outcome: str) -> None:
        if self.recorded:
            return
        self.recorded = True
        seconds = perf_counter() - self.start
        middleware = self.middleware
        route = self.route or middleware.route(self.environ) or names.UNMATCHED_ROUTE
        method = method_label(self.environ.get("REQUEST_METHOD", "GET"))
        middleware.recorder.record(route, method, status, outcome, seconds)
