"""The probes on HTTP, for ASGI (Starlette, FastAPI) and WSGI (Flask, plain) apps.

    app.add_middleware(HealthMiddleware, health=health)          # Starlette: add it after SLOMiddleware
    app.wsgi_app = HealthWSGIMiddleware(app.wsgi_app, health)    # Flask: wrap outside SLOWSGIMiddleware

Put in front of the app (outermost), probes never reach the app or its SLO middleware, so they are not
counted as traffic. `/livez` answers at once without running anything: it proves the process serves
requests (a deadlocked event loop or a wedged worker does not answer). `/readyz` and `/healthz` answer
200 or 503 from `Health`. Only GET and HEAD.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slokit.instrument.asgi import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from slokit.health.health import Health, Report

PATHS = {"/livez": "live", "/readyz": "ready", "/healthz": "health"}
CONTENT_TYPE = "application/health+json"  # the draft's media type
LIVE = b'{"status": "pass"}'
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def _body(kind: str, report: Report) -> tuple[int, bytes]:
    return report.code, report.ready_body if kind == "ready" else report.health_body


def _headers(body: bytes, allow: bool = False) -> list[tuple[str, str]]:
    out = [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
    return out + [("Allow", "GET, HEAD")] if allow else out


class HealthMiddleware:
    """ASGI: serves the probe paths (under the scope's root_path) and passes everything else to `app`."""

    def __init__(self, app: ASGIApp | None, health: Health) -> None:
        self.app, self.health = app, health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            root, path = scope.get("root_path", ""), scope["path"]
            kind = PATHS.get(path[len(root):] if root and path.startswith(root) else path)
            if kind is not None:
                await self._probe(kind, scope["method"], send)
                return
        if self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "lifespan":  # served alone (uvicorn): start and stop cleanly
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "http":
            await self._send(send, "GET", 404, b'{"error": "GET /livez, /readyz or /healthz"}')

    async def _probe(self, kind: str, method: str, send: Send) -> None:
        if method not in ("GET", "HEAD"):
            await self._send(send, "GET", 405, b'{"error": "GET or HEAD"}', allow=True)
        elif kind == "live":
            await self._send(send, method, 200, LIVE)
        else:
            await self._send(send, method, *_body(kind, await self.health.aresult()))

    @staticmethod
    async def _send(send: Send, method: str, status: int, body: bytes, allow: bool = False) -> None:
        headers = [(k.lower().encode(), v.encode()) for k, v in _headers(body, allow)]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


class HealthWSGIMiddleware:
    """WSGI: serves the probe paths (PATH_INFO) and passes everything else to `app`."""

    def __init__(self, app: Callable[..., Iterable[bytes]] | None, health: Health) -> None:
        self.app, self.health = app, health

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        kind = PATHS.get(environ.get("PATH_INFO", ""))
        if kind is None:
            if self.app is not None:
                return self.app(environ, start_response)
            return self._send(start_response, "GET", 404, b'{"error": "GET /livez, /readyz or /healthz"}')
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return self._send(start_response, "GET", 405, b'{"error": "GET or HEAD"}', allow=True)
        if kind == "live":
            return self._send(start_response, method, 200, LIVE)
        return self._send(start_response, method, *_body(kind, self.health.result()))

    @staticmethod
    def _send(start_response: Callable[..., Any], method: str, status: int, body: bytes,
              allow: bool = False) -> list[bytes]:
        start_response(f"{status} {_REASONS[status]}", _headers(body, allow))
        return [b"" if method == "HEAD" else body]
