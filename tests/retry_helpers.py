"""A local flaky HTTP server (http.server on 127.0.0.1) whose answers a test scripts: outage, flaps, Retry-After."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple[int, dict[str, str]]  # status, headers


class Flaky:
    """Counts the requests it gets; `answer(n)` decides the n-th (0-based) answer."""

    def __init__(self, answer: Callable[[int], Answer]) -> None:
        self.answer, self.hits, self.url = answer, 0, ""
        self._lock = threading.Lock()

    def next(self) -> Answer:
        with self._lock:
            n, self.hits = self.hits, self.hits + 1
        return self.answer(n)


def outage(n: int) -> Answer:
    return 503, {}


def every_other_fails(n: int) -> Answer:
    return (503, {}) if n % 2 == 0 else (200, {})


def every_tenth_fails(n: int) -> Answer:
    return (503, {}) if n % 10 == 0 else (200, {})


@contextmanager
def flaky_server(answer: Callable[[int], Answer]) -> Iterator[Flaky]:
    """Serve `answer` on a free loopback port until the block ends."""
    flaky = Flaky(answer)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real dependencies: connection setup is not measured
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40ms delayed-ACK stall

        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, headers = flaky.next()
            body = b"ok" if status < 400 else b"unavailable"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _reply

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    flaky.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield flaky
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
