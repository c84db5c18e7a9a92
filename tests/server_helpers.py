"""Real servers on loopback for the health and idempotency tests: uvicorn serving an ASGI app from a thread,
and a TCP dependency a test takes down and brings back on the same port."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.instrument_helpers import free_port


@contextmanager
def uvicorn_serving(app: Any, timeout: float = 10.0) -> Iterator[str]:
    """Serve `app` with uvicorn on a free 127.0.0.1 port until the block ends; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class _Close(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        pass  # accept, then close: enough for a connect check


class Dependency:
    """A TCP service on a fixed loopback port: `up()` listens, `down()` stops listening (connects are refused)."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def up(self) -> None:
        if self._server is None:
            self._server = _Server(("127.0.0.1", self.port), _Close)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            daemon=True)
            self._thread.start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> Dependency:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()
