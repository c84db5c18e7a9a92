"""Clocks. The runtime never calls `time` directly, so tests and `slokit simulate` drive it in simulated time."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]  # seconds

# Wall time, so transitions carry real timestamps (logs, annotations). A step back is harmless: the engine
# keeps counting into its current bucket until time passes it again.
system_clock: Clock = time.time


class ManualClock:
    """A clock that moves only when told: simulated time for tests and replays."""

    def __init__(self, start: float = 0.0):
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self.now += seconds
        return self.now

    def set(self, now: float) -> None:
        if now < self.now:
            raise ValueError(f"a clock does not go back ({now} < {self.now})")
        self.now = float(now)
