"""The console as a read-only WSGI app, and a small threaded server for it (stdlib `wsgiref`: no framework).

    /                 the list of SLOs (?service=, ?team=, ?burning=1, ?sort=)
    /slo/<id>         one SLO: charts, burn per window, alert conditions, groups
    /api/slos         the list as JSON (same filters)      /api/slos/<id>   one SLO as JSON
    /-/healthy        200 while the app runs (no auth, no Prometheus query)

Only GET and HEAD. An SLO id in a path is looked up among the loaded SLOs and never reaches a query. Pages
are sent with a Content-Security-Policy that allows no script at all, so markup that got past escaping
could still not run. Optional auth: a bearer token ($SLOKIT_SERVE_TOKEN) or basic auth
($SLOKIT_SERVE_USER, $SLOKIT_SERVE_PASSWORD), compared in constant time, never logged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import math
import os
import socketserver
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slokit.errors import ConfigError
from slokit.serve import pages
from slokit.serve.console import Console

log = logging.getLogger(__name__)
ENV_TOKEN, ENV_USER, ENV_PASSWORD = "SLOKIT_SERVE_TOKEN", "SLOKIT_SERVE_USER", "SLOKIT_SERVE_PASSWORD"
HEADERS = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
           ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                       "form-action 'self'; frame-ancestors 'none'")]
REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}
FILTERS = ("service", "team", "burning", "sort")

Response = tuple[int, str, bytes]  # status, content type, body


@dataclass(frozen=True, repr=False)
class Auth:
    """Who may read the console: anyone (no secret set), a bearer token, or a user and password."""

    token: str | None = None
    user: str | None = None
    password: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Auth:
        user, password = env.get(ENV_USER) or None, env.get(ENV_PASSWORD) or None
        if (user is None) != (password is None):
            raise ConfigError(f"set both {ENV_USER} and {ENV_PASSWORD}, or neither")
        return cls(env.get(ENV_TOKEN) or None, user, password)

    def __repr__(self) -> str:  # never the secrets
        return f"Auth(token={'set' if self.token else 'unset'}, basic={'set' if self.user else 'unset'})"

    @property
    def required(self) -> bool:
        return bool(self.token or self.user)

    def allows(self, header: str | None) -> bool:
        if not self.required:
            return True
        scheme, _, value = (header or "").partition(" ")
        if self.token and scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip().encode(), self.token.encode())
        if self.user and self.password is not None and scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            same_user = hmac.compare_digest(user.encode(), self.user.encode())
            return hmac.compare_digest(password.encode(), self.password.encode()) and same_user
        return False

    @property
    def challenge(self) -> str:
        return 'Basic realm="slokit"' if self.user else 'Bearer realm="slokit"'


def _json(status: int, value: Any) -> Response:
    return status, "application/json", json.dumps(value, sort_keys=True, allow_nan=False, default=str).encode()


def _html(status: int, text: str) -> Response:
    return status, "text/html; charset=utf-8", text.encode()


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: None (and "never" is already a string where it means something)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class ConsoleApp:
    """Routes a request to a view of the console; every failure is a page or JSON error, never a traceback."""

    def __init__(self, console: Console, auth: Auth | None = None):
        self.console, self.auth = console, auth or Auth()

    def respond(self, method: str, path: str, query: str, authorization: str | None, root: str = "") -> Response:
        if path == "/-/healthy":
            return 200, "text/plain; charset=utf-8", b"ok\n"
        if not self.auth.allows(authorization):
            return 401, "application/json", b'{"error": "authentication required"}'
        if method not in ("GET", "HEAD"):
            return 405, "application/json", b'{"error": "read-only: GET or HEAD"}'
        params = {k: v for k, v in parse_qsl(query) if k in FILTERS}
        now = self.console.clock()
        try:
            return self._route(path, params, now, root)
        except Exception:  # a bug must not show a traceback to a reader; it is logged with one
            log.exception("slokit serve: %s failed", path)
            return _html(500, pages.document("error · slokit", '<div class="banner" role="alert">The console failed '
                                             "to render this page; the error is in its log.</div>",
                                             self.console.prometheus.where, root))

    def _route(self, path: str, params: dict[str, str], now: float, root: str) -> Response:
        console = self.console
        if path in ("", "/", "/index.html"):
            return _html(200, pages.list_page(console, console.overview(), params, now, root))
        if path in ("/api/slos", "/api/slos/"):
            view = console.overview()
            return _json(200, _clean({**self._meta(view.read_at, view.error, now), "notes": list(view.notes),
                                      "slos": pages.select(view.data or [], params)}))
        for prefix, kind in (("/slo/", "html"), ("/api/slos/", "json")):
            if path.startswith(prefix):
                slo = console.by_id.get(unquote(path[len(prefix):]))
                if slo is None:
                    what = "no SLO with that id in the loaded specs"
                    return _json(404, {"error": what}) if kind == "json" else _html(
                        404, pages.not_found_page(console, what, root))
                overview, history = console.detail(slo)
                if kind == "html":
                    return _html(200, pages.detail_page(console, slo, overview, history, now, root))
                row = next((r for r in overview.data or [] if r["id"] == slo.id), None)
                return _json(200, _clean({**self._meta(overview.read_at, overview.error, now), "slo": row,
                                          "alert_rules": console.alert_rules(slo), "history": history.data,
                                          "history_error": history.error}))
        return _json(404, {"error": "GET /, /slo/<id>, /api/slos or /api/slos/<id>"})

    def _meta(self, read_at: float | None, error: str | None, now: float) -> dict[str, Any]:
        return {"prometheus": self.console.prometheus.where, "time": round(now, 3),
                "read_at": None if read_at is None else round(read_at, 3),
                "age": None if read_at is None else round(max(0.0, now - read_at), 3), "error": error}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        status, kind, body = self.respond(method, environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
                                          environ.get("HTTP_AUTHORIZATION"), environ.get("SCRIPT_NAME", ""))
        headers = [("Content-Type", kind), ("Content-Length", str(len(body))), *HEADERS]
        if status == 401:
            headers.append(("WWW-Authenticate", self.auth.challenge))
        start_response(f"{status} {REASONS.get(status, '')}", headers)
        return [b"" if method == "HEAD" else body]


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        log.debug("%s " + format, self.address_string(), *args)  # the request line only, never headers


def make_console_server(app: ConsoleApp, host: str = "127.0.0.1", port: int = 8080) -> WSGIServer:
    """A threaded WSGI server for the app (bound, not yet serving); `server_address` has the port it got."""
    return make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)


def serve_in_thread(app: ConsoleApp, host: str = "127.0.0.1", port: int = 0) -> tuple[WSGIServer, threading.Thread]:
    """Serve from a daemon thread (tests, the benchmark, the demo); `server.shutdown()` stops it."""
    server = make_console_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="slokit-serve",
                              daemon=True)
    thread.start()
    return server, thread
