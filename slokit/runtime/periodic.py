"""One daemon thread calling a function every few seconds until stopped (the runtime's loops)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("slokit.runtime")


class Periodic:
    def __init__(self, name: str, fn: Callable[[], object], interval: Callable[[], float], first: bool = False):
        self.name, self.fn, self.interval, self.first = name, fn, interval, first
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        if self.first:
            self._call()
        while not self._stop.wait(self.interval()):
            self._call()

    def _call(self) -> None:
        try:
            self.fn()
        except Exception:  # a bug must not end the loop: log it, the next round tries again
            log.exception("slokit %s failed", self.name)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
