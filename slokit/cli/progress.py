"""Progress of a long `slokit generate` on a terminal: one line, rewritten in place, then erased."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """`slokit: dashboards 120/500 services` on stderr once a run has taken `after` seconds, at most every
    `every` seconds; nothing at all when stderr is not a terminal (CI logs, pipes) or when `quiet`."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None, after: float = 0.5, every: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.enabled = not quiet and self.stream.isatty()
        self.after, self.every, self.clock = after, every, clock
        self.start = self.last = clock()
        self.shown = False

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.start < self.after or (now - self.last < self.every and done < total):
            return
        self.last, self.shown = now, True
        self.stream.write(f"\r\033[Kslokit: {what} {done}/{total} services")
        self.stream.flush()

    def close(self) -> None:
        """Erase the line, so what follows starts on a clean one."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False
