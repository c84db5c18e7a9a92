"""Gradual release, shared by breakers and switches: which share of the traffic a ramp admits now, and
whether this call (or this user) is in it.

A call with a key (a user or session id the app passes) is in when the key's stable hash falls below the
share, so one user is either in or out for the whole step, and stays in as the share grows: nobody
flickers between the full and the degraded experience. The hash is CRC-32, the same in every process and
every replica. A call without a key is admitted evenly: every 10th call at 10%.
"""

from __future__ import annotations

import hashlib

from slokit.spec.policy import Ramp

_SCALE = 2.0 ** 64


def key_share(key: object) -> float:
    """Where a key falls in [0, 1): stable across processes and restarts (unlike `hash()`)."""
    data = key if isinstance(key, bytes) else str(key).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") / _SCALE


class Stepper:
    """Where one ramp is: the step, the share it admits, when the next step is due; an even spread for
    calls without a key. Not locked: its owner holds a lock (or, for a switch, tolerates a lost count)."""

    def __init__(self, ramp: Ramp, now: float):
        self.ramp, self.index, self.until = ramp, 0, now + ramp.every
        self._calls = 0

    @property
    def share(self) -> float:
        return self.ramp.steps[self.index] / 100

    @property
    def percent(self) -> float:
        return self.ramp.steps[self.index]

    def step(self, now: float) -> bool:
        """At or past the step's end: move to the next step (True), or False when the ramp is over."""
        if self.index + 1 >= len(self.ramp.steps):
            return False
        self.index, self.until = self.index + 1, now + self.ramp.every
        return True

    def admits(self, key: object | None) -> bool:
        share = self.share
        if key is not None:
            return key_share(key) < share
        self._calls += 1
        return int(self._calls * share) != int((self._calls - 1) * share)
