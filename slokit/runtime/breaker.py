"""A circuit breaker that opens on the SLO's burn (policy) and on local outcomes (like resilience4j).

closed: calls pass; outcomes go into a count- or time-based window; when it holds at least `min_calls`
calls and the failure rate or the slow-call rate reaches its threshold, the breaker opens.
open: calls are refused for `open_for` seconds, then half-open (unless the policy holds it open).
half-open: `half_open_probes` calls pass; their rates decide between closed and open again.
The policy opens it while an SLO burns too fast and closes it when the burn has recovered.

`allow()` is the hot path: in closed state it is one attribute check and a return.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
from array import array
from collections.abc import Callable
from typing import Any

from slokit.errors import SlokitError
from slokit.names import CLOSED, HALF_OPEN, OPEN
from slokit.runtime.clock import Clock, system_clock
from slokit.runtime.decisions import Decisions, Transition
from slokit.runtime.ring import Ring
from slokit.spec.policy import MODES, BreakerConfig

_FAILED, _SLOW = 1, 2


class BreakerOpen(SlokitError):
    """Raised instead of calling through an open breaker (when no fallback is given)."""

    def __init__(self, name: str):
        super().__init__(f"circuit breaker {name!r} is open")
        self.name = name


class _CountWindow:
    """The last `size` outcomes with running totals: O(1) per call."""

    timed = False

    def __init__(self, size: int):
        self.size = size
        self.reset()

    def reset(self) -> None:
        self.codes, self.pos = array("b", bytes(self.size)), 0
        self.calls = self.failed = self.slow = 0

    def add(self, code: int, now: float) -> None:
        old = self.codes[self.pos]
        if self.calls == self.size:
            self.failed -= old & _FAILED
            self.slow -= (old & _SLOW) >> 1
        else:
            self.calls += 1
        self.codes[self.pos] = code
        self.pos = (self.pos + 1) % self.size
        self.failed += code & _FAILED
        self.slow += (code & _SLOW) >> 1


class _TimeWindow:
    """Outcomes of the last `seconds` seconds in a ring of one-second buckets, with running totals: O(1) per
    call, at most one pass over the ring after an idle gap."""

    timed = True

    def __init__(self, seconds: int):
        self.seconds = seconds
        self.reset()

    def reset(self) -> None:
        self.ring = Ring(self.seconds, 3)  # calls, failed, slow
        self.calls = self.failed = self.slow = 0

    def add(self, code: int, now: float) -> None:
        ring, second = self.ring, int(now)
        if second > ring.index:
            calls, failed, slow = ring.advance(second)
            self.calls, self.failed, self.slow = self.calls - calls, self.failed - failed, self.slow - slow
        slot = ring.index % self.seconds
        failed, slow = code & _FAILED, (code & _SLOW) >> 1
        counts = ring.counts
        counts[0][slot] += 1
        counts[1][slot] += failed
        counts[2][slot] += slow
        self.calls += 1
        self.failed += failed
        self.slow += slow


_Window = _CountWindow | _TimeWindow
_entered: contextvars.ContextVar[tuple[float, ...]] = contextvars.ContextVar("slokit_breaker_entered", default=())


class Breaker:
    """A named breaker. Use `allow()`/`record()`, `call()`, `@breaker`, `with breaker:` or `async with breaker:`."""

    def __init__(self, name: str, config: BreakerConfig | None = None, clock: Clock = system_clock,
                 decisions: Decisions | None = None,
                 failure: tuple[type[BaseException], ...] = (Exception,),
                 ignore: tuple[type[BaseException], ...] = ()):
        self.name, self.target = name, f"breaker:{name}"
        self.config = config or BreakerConfig()
        self.clock, self.decisions = clock, decisions
        self.failure, self.ignore = failure, ignore
        self.state = CLOSED
        self._lock = threading.Lock()
        self._policy_hold = False
        self._open_until = 0.0
        self._probes_admitted = 0
        self._probes = _CountWindow(self.config.half_open_probes)
        self._window = self._new_window()
        self._pass = True  # allow() without a lock: closed (normal mode), disabled or metrics-only
        if decisions:
            decisions.initial(self.target, self.state)
        self.set_mode(self.config.mode)

    def _new_window(self) -> _Window:
        c = self.config
        return _CountWindow(c.window_size) if c.window == "count" else _TimeWindow(c.window_size)

    # -- the hot path ---------------------------------------------------------------------------------
    def allow(self) -> bool:
        """May a call go through now? Closed: one attribute check."""
        if self._pass:
            return True
        return self._allow_slow()

    def _allow_slow(self) -> bool:
        with self._lock:
            if self.mode == "forced_open":
                return False
            if self.state == OPEN:
                if self._policy_hold or self.clock() < self._open_until:
                    return False
                self._move(HALF_OPEN, "open_timeout")
            if self.state == HALF_OPEN:
                if self._probes_admitted < self.config.half_open_probes:
                    self._probes_admitted += 1
                    return True
                return False
            return True

    def record(self, success: bool, duration: float = 0.0) -> None:
        """The outcome of a call that `allow()` let through."""
        if self.mode == "disabled":
            return
        config = self.config
        code = (0 if success else _FAILED) | (_SLOW if duration >= config.slow_call else 0)
        with self._lock:
            if self.state == CLOSED:
                w = self._window
                w.add(code, self.clock() if w.timed else 0.0)
                # a good call lowers the rates of a count window, unless it completes min_calls
                if w.calls >= config.min_calls and (code or w.timed or w.calls == config.min_calls):
                    self._check(w, config.min_calls)
            elif self.state == HALF_OPEN:
                self._probes.add(code, 0.0)
                if self._probes.calls >= config.half_open_probes:
                    if not self._check(self._probes, config.half_open_probes):
                        self._move(CLOSED, "probes_passed", detail=self._rates(self._probes))

    def _rates(self, w: _Window) -> dict[str, Any]:
        return {"calls": w.calls, "failure_rate": round(100 * w.failed / w.calls, 3) if w.calls else 0.0,
                "slow_call_rate": round(100 * w.slow / w.calls, 3) if w.calls else 0.0}

    def _check(self, w: _Window, min_calls: int) -> bool:
        """Open if a rate of window `w` reached its threshold (lock held)."""
        if w.calls < min_calls:
            return False
        c = self.config
        for reason, count, threshold in (("failure_rate", w.failed, c.failure_rate),
                                         ("slow_call_rate", w.slow, c.slow_call_rate)):
            if 100 * count >= threshold * w.calls:
                self._open_until = self.clock() + c.open_for
                self._move(OPEN, reason, threshold=threshold, detail=self._rates(w))
                return True
        return False

    def _move(self, to: str, reason: str, slo: str | None = None, burn: dict[str, float] | None = None,
              threshold: float | None = None, detail: dict[str, Any] | None = None) -> None:
        """Change state (lock held) and report why."""
        old = self.state
        if old == to:
            return
        self.state = to
        if to == CLOSED:
            self._window.reset()
        if to == HALF_OPEN:
            self._probes.reset()
            self._probes_admitted = 0
        self._pass = self.mode in ("disabled", "metrics_only") or (to == CLOSED and self.mode == "normal")
        if self.decisions:
            self.decisions.transition(Transition(self.clock(), self.target, old, to, reason, slo, burn or {},
                                                 threshold, detail or {}))

    # -- policy and modes -----------------------------------------------------------------------------
    def policy_open(self, slo: str | None = None, burn: dict[str, float] | None = None,
                    threshold: float | None = None, reason: str = "policy") -> None:
        """Hold the breaker open while the policy says the SLO burns too fast."""
        with self._lock:
            self._policy_hold = True
            if self.mode != "disabled":
                self._move(OPEN, reason, slo, burn, threshold)

    def policy_release(self, slo: str | None = None, burn: dict[str, float] | None = None,
                       threshold: float | None = None, reason: str = "policy_recovered") -> None:
        """The burn recovered (after the hold time): close, unless a local trip still keeps it open."""
        with self._lock:
            if not self._policy_hold:
                return
            self._policy_hold = False
            if self.state == OPEN and self.mode != "forced_open" and self.clock() >= self._open_until:
                self._move(CLOSED, reason, slo, burn, threshold)

    def configure(self, config: BreakerConfig) -> None:
        """New settings from a reloaded policy; the outcome window starts over, the state is kept."""
        with self._lock:
            if config == self.config:
                return
            self.config = config
            self._window = self._new_window()
            self._probes = _CountWindow(config.half_open_probes)
            self._probes_admitted = 0  # a new probe window, a whole new round (else half-open for good)
        self.set_mode(config.mode)

    @property
    def policy_held(self) -> bool:
        return self._policy_hold

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        with self._lock:
            self.mode = mode
            if mode == "forced_open":
                self._move(OPEN, "forced_open")
            elif mode == "disabled" and self.state != CLOSED:
                self._move(CLOSED, "disabled")
            self._pass = mode in ("disabled", "metrics_only") or (self.state == CLOSED and mode == "normal")

    # -- ways to use it -------------------------------------------------------------------------------
    def _failed(self, exc: BaseException | None) -> bool:
        return exc is not None and isinstance(exc, self.failure) and not isinstance(exc, self.ignore)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self.allow():
            raise BreakerOpen(self.name)
        start = self.clock()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self.record(not self._failed(exc), self.clock() - start)
            raise
        self.record(True, self.clock() - start)
        return result

    async def call_async(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self.allow():
            raise BreakerOpen(self.name)
        start = self.clock()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self.record(not self._failed(exc), self.clock() - start)
            raise
        self.record(True, self.clock() - start)
        return result

    def protect(self, fallback: Callable[..., Any] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator for sync or async functions; `fallback(*args, **kwargs)` answers while open."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            if inspect.iscoroutinefunction(fn):
                @functools.wraps(fn)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    try:
                        return await self.call_async(fn, *args, **kwargs)
                    except BreakerOpen:
                        if fallback is None:
                            raise
                        result = fallback(*args, **kwargs)
                        return await result if inspect.isawaitable(result) else result
                return async_wrapper

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return self.call(fn, *args, **kwargs)
                except BreakerOpen:
                    if fallback is None:
                        raise
                    return fallback(*args, **kwargs)
            return wrapper

        return decorate

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`@breaker` on a sync or async function (no fallback: raises BreakerOpen)."""
        return self.protect()(fn)

    def __enter__(self) -> Breaker:
        if not self.allow():
            raise BreakerOpen(self.name)
        _entered.set(_entered.get() + (self.clock(),))
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        stack = _entered.get()
        _entered.set(stack[:-1])
        self.record(not self._failed(exc), self.clock() - stack[-1])

    async def __aenter__(self) -> Breaker:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)
