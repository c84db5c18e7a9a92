"""ASGI middleware: one observation per HTTP request, labelled with the route template and SLO outcome.

    app.add_middleware(SLOMiddleware, service="checkout")        # Starlette / FastAPI
    app = SLOMiddleware(app, service="checkout", route=Templates([...]).asgi())   # any ASGI app

A pure ASGI class (no BaseHTTPMiddleware): it wraps `send` to see the status and `receive` to see a client
hang up, and reads the route template the router left in the scope after the app returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry

from slokit import names
from slokit.instrument import otel as otel_module
from slokit.instrument.core import DEFAULT_CLASSIFICATION, Classification, Listener, http_recorder
from slokit.instrument.routes import starlette_route

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_BAD, _DISCONNECT, _UNMATCHED = names.BAD, names.DISCONNECT, names.UNMATCHED_ROUTE
_METHODS, _OTHER = names.METHODS, names.OTHER_METHOD


class SLOMiddleware:
    """Measures every HTTP request of an ASGI app into the contract's histogram.

    - route: the router's template (Starlette/FastAPI), or `route(scope)` if given; unmatched paths are
      `names.UNMATCHED_ROUTE`.
    - outcome: `classification` of the status once the response has ended (streaming bodies included); an
      exception is a 500 and bad; a client that hung up before the response ended is `disconnect`.
    - `listener(route, outcome, seconds)` is called per request (the runtime's burn-rate engine);
      `otel` (True or a MeterProvider) also records OpenTelemetry's `http.server.request.duration`.
    Websocket and lifespan scopes pass through untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        service: str,
        *,
        registry: CollectorRegistry = REGISTRY,
        classification: Classification = DEFAULT_CLASSIFICATION,
        route: Callable[[Scope], str | None] | None = None,
        listener: Listener | None = None,
        otel: Any = None,
        exemplars: bool = True,
    ) -> None:
        self.app = app
        self.route = route
        self.recorder = http_recorder(
            "server", service, registry=registry, classification=classification, listener=listener,
            otel=otel_module.from_option(otel), exemplars=exemplars)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        end = 0.0  # set when the last body chunk went out: background tasks after it are not the request's
        disconnected = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, end
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                await send(message)
            elif (kind == "http.response.body" and not message.get("more_body", False)) or (
                    kind == "http.response.pathsend"):
                await send(message)
                end = perf_counter()
            else:
                await send(message)

        async def receive_wrapper() -> Message:
            nonlocal disconnected
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            return message

        root_path = scope.get("root_path", "")
        start = perf_counter()
        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except BaseException as exc:
            if end:  # the response was complete; a background task failed after it
                outcome = self.recorder.outcome(status)
            elif disconnected or _is_disconnect(exc):
                # a send that failed (OSError, Starlette's ClientDisconnect) or a task the server cancelled
                outcome = _DISCONNECT
            else:
                status, outcome = 500, _BAD
            self._finish(scope, root_path, status, outcome, (end or perf_counter()) - start)
            raise
        if end:
            self._finish(scope, root_path, status, self.recorder.outcome(status), end - start)
        elif disconnected:
            self._finish(scope, root_path, status, _DISCONNECT, perf_counter() - start)
        else:
            # returned without finishing a response: the server answers 500 or cuts it off; its fault
            self._finish(scope, root_path, status or 500, _BAD, perf_counter() - start)

    def _finish(self, scope: Scope, root_path: str, status: int, outcome: str, seconds: float) -> None:
        if self.route is not None:
            template = self.route(scope)
        else:
            # fast path: the route Starlette left in the scope, outside any Mount
            template = getattr(scope.get("route"), "path", None)
            if template.__class__ is not str or scope.get("root_path", "") != root_path:
                template = starlette_route(scope, root_path)
        method = scope["method"]
        self.recorder.record(
            template or _UNMATCHED, method if method in _METHODS else _OTHER, status, outcome, seconds)


def _is_disconnect(exc: BaseException) -> bool:
    import asyncio

    return isinstance(exc, (OSError, asyncio.CancelledError)) or type(exc).__name__ == "ClientDisconnect"
