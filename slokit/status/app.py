"""The status page as a read-only web app, for ASGI (Starlette, FastAPI) or WSGI (Flask, plain) services.

    app.mount("/slokit", status_asgi(board))                     # Starlette
    /slokit/             the HTML page          /slokit/status.json   the same data as JSON

Only GET and HEAD: nothing here changes state. Switch overrides stay behind the runtime's token-protected
`admin_app` (slokit.runtime.switches), which can be mounted beside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slokit.status.board import StatusBoard
from slokit.status.page import render

Answer = tuple[int, str, bytes, dict[str, str]]  # status, content type, body, extra headers


def answer(board: StatusBoard, method: str, path: str, mount: str) -> Answer:
    """The response for a request to `path` (relative to where the app is mounted at `mount`)."""
    if method not in ("GET", "HEAD"):
        return 405, "application/json", b'{"error": "read-only: GET or HEAD"}', {"Allow": "GET, HEAD"}
    if path == "":
        return 308, "text/plain", b"", {"Location": mount + "/"}
    if path in ("/", "/index.html"):
        return 200, "text/html; charset=utf-8", render(board.snapshot()).encode(), {}
    if path == "/status.json":
        return 200, "application/json", json.dumps(board.snapshot(), sort_keys=True).encode(), {}
    return 404, "application/json", b'{"error": "GET / or /status.json"}', {}


def _headers(kind: str, body: bytes, extra: dict[str, str]) -> list[tuple[str, str]]:
    return [("Content-Type", kind), ("Content-Length", str(len(body))), ("Cache-Control", "no-store"), *extra.items()]


def status_wsgi(board: StatusBoard) -> Callable[..., Iterable[bytes]]:
    """A WSGI app serving the page; mount it under a prefix (SCRIPT_NAME) or call it with the path rewritten."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        status, kind, body, extra = answer(board, method, environ.get("PATH_INFO", ""), environ.get("SCRIPT_NAME", ""))
        start_response(f"{status} {_REASONS.get(status, '')}", _headers(kind, body, extra))
        return [b"" if method == "HEAD" else body]

    return app


def status_asgi(board: StatusBoard) -> Callable[..., Any]:
    """A pure ASGI app serving the page (mount it with Starlette's `Mount`, or route to it yourself)."""

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        root = scope.get("root_path", "")
        path = scope["path"]
        path = path[len(root):] if root and path.startswith(root) else path
        status, kind, body, extra = answer(board, scope["method"], path, root)
        headers = [(k.lower().encode(), v.encode()) for k, v in _headers(kind, body, extra)]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    return app


_REASONS = {200: "OK", 308: "Permanent Redirect", 404: "Not Found", 405: "Method Not Allowed"}
