"""A local HTTP server that fails the way real servers do, for the tests of every client.

Each request takes the next fault from `script`, then `default`: JSON or any bytes with any status,
garbage, a 200k-deep JSON, a 300 MB body, a one-byte drip, a hang, a closed connection, a short body, a
redirect (on or off host); or forwarded to a real upstream (Prometheus, Alertmanager) and then failed, so
the request was done but its answer is lost (how a retried POST makes duplicates). It binds loopback on a
free port (127.0.0.2 is another host on the same machine) and records what it was sent.

    with FaultServer(default=json({"status": "success", ...})) as server:
        server.script = [status(500), drip()]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

Fault = Callable[["Handler"], None]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # as real servers answer; each answer also says `Connection: close` (see send)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.server.owner.seen.append(Seen(self.command, self.path, dict(self.headers), self.body))
        fault = self.server.owner.next_fault()
        try:
            fault(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def send(self, status: int, body: bytes, content_type: str = "application/json",
             headers: dict[str, str] | None = None, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        # It closes after each answer, so it says so: a redirect followed on a pooled connection lost the race
        # with the close under load.
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FaultServer


class FaultServer:
    def __init__(self, default: Fault | None = None, upstream: str | None = None, host: str = "127.0.0.1"):
        self.default = default or (forward() if upstream else json([]))
        self.upstream = upstream
        self.script: list[Fault] = []
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._httpd = _Server((host, 0), Handler)
        self._httpd.owner = self
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def next_fault(self) -> Fault:
        return self.script.pop(0) if self.script else self.default

    def requests(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.seen if method is None or s.method == method]

    def close(self) -> None:
        self.stopping.set()  # ends hangs and drips
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- faults -------------------------------------------------------------------------------------------
def data(body: bytes, status: int = 200, content_type: str = "application/json") -> Fault:
    return lambda h: h.send(status, body, content_type)


def json(value: Any, status: int = 200) -> Fault:
    import json as _json
    return data(_json.dumps(value).encode(), status)


def status(code: int, text: bytes = b"it broke") -> Fault:
    return data(text, code, "text/plain")


GARBAGE = data(b"<html><body>502 Bad Gateway</body></html>", 200, "text/html")
NOT_JSON = data(b'{"status": "success", "data": ', 200)  # JSON cut short


def deep(depth: int = 200_000) -> Fault:
    """Valid JSON nested `depth` lists deep: a recursive parser overflows the stack."""
    return data(b"[" * depth + b"]" * depth)


def huge(megabytes: int = 300) -> Fault:
    """A body of `megabytes` MB (announced by Content-Length), written until the client stops reading."""
    def fault(h: Handler) -> None:
        chunk = b" " * (1 << 20)
        h.send(200, b"", length=megabytes << 20)
        for _ in range(megabytes):
            h.wfile.write(chunk)
    return fault


def drip(interval: float = 0.2, seconds: float = 60.0, in_headers: bool = False) -> Fault:
    """One byte every `interval` seconds (of the headers, or of a long body): each read gets something, so
    a per-read timeout never fires. Stops after `seconds` or when the server closes."""
    def fault(h: Handler) -> None:
        if in_headers:
            stream = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000
        else:
            h.send(200, b"", length=100_000)
            stream = b" " * 100_000
        end = time.monotonic() + seconds
        for i in range(len(stream)):
            if time.monotonic() > end or h.server.owner.stopping.wait(interval):
                return
            h.wfile.write(stream[i:i + 1])
            h.wfile.flush()
    return fault


def hang(seconds: float = 60.0) -> Fault:
    """Read the request, answer nothing (until `seconds` pass or the server closes)."""
    return lambda h: (h.server.owner.stopping.wait(seconds), None)[1]


def close() -> Fault:
    """Close the connection without answering."""
    return lambda h: None


def short(sent: bytes = b'{"status": "succ', announced: int = 1000) -> Fault:
    """Announce `announced` bytes, send fewer, close."""
    return lambda h: h.send(200, sent, length=announced)


def redirect(location: str, code: int = 302) -> Fault:
    return lambda h: h.send(code, b"", "text/plain", {"Location": location})


def by_method(**faults: Fault) -> Fault:
    """A fault per HTTP method (GET=..., POST=...): deterministic however many times a client retries."""
    return lambda h: faults[h.command](h)


def forward() -> Fault:
    """Pass the request to the upstream and its answer back."""
    def fault(h: Handler) -> None:
        status_code, body = _forward(h)
        h.send(status_code, body)
    return fault


def forwarded_then(then: Fault) -> Fault:
    """Pass the request to the upstream (it is done there), then answer with `then` instead."""
    def fault(h: Handler) -> None:
        _forward(h)
        then(h)
    return fault


def slow(seconds: float, then: Fault | None = None) -> Fault:
    """Wait, then answer with `then` (default: forward)."""
    def fault(h: Handler) -> None:
        h.server.owner.stopping.wait(seconds)
        (then or forward())(h)
    return fault


def every_fault() -> dict[str, Fault]:
    """The faults every client must survive, by name (wrong shapes of one API are its tests' own)."""
    return {"http_500": status(500), "garbage": GARBAGE, "cut_json": NOT_JSON, "deep_json": deep(),
            "huge_body": huge(300), "drip": drip(), "drip_headers": drip(in_headers=True), "hang": hang(),
            "close": close(), "short_body": short()}


def _forward(h: Handler) -> tuple[int, bytes]:
    owner = h.server.owner
    assert owner.upstream, "forward needs an upstream"
    headers = {k: v for k, v in h.headers.items() if k.lower() in ("content-type", "authorization", "accept")}
    answer = requests.request(h.command, owner.upstream + h.path, data=h.body or None, headers=headers, timeout=10)
    return answer.status_code, answer.content
