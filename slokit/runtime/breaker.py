"""A circuit breaker that opens on the SLO's burn (policy) and on its own outcomes (like resilience4j), and
comes back only on the dependency's evidence: probes, then a ramp.

closed: calls pass; outcomes go into a count- or time-based window; when it holds at least `min_calls`
calls and the failure rate or the slow-call rate reaches its threshold, the breaker opens.
open: calls are refused. After `open_for` it probes, also while the policy holds it open.
half_open: a probe round: up to `half_open_probes` calls pass. A round fails as soon as more of its calls
failed than the breaker allows (`allowance`); the wait before the next round then doubles, up to
`open_for_max`, so a dependency that stays down sees a few calls an hour, not a few a minute. A round that
passes ends the wait; while the policy holds the breaker it stays open (the rule decides when; the next
check comes after `open_for_max`), otherwise the ramp starts.
ramp: the steps of `config.ramp` (e.g. 10% then 50% of the calls, a minute each), by a stable hash of the
key the app passes (or evenly without one); a step with too many failed calls opens the breaker again.
After the last step: closed, with every call.

Refused calls that fail a request (no fallback answered them) and probe calls are reported to `on_own`:
the runtime leaves them out of the burn its rules read, so the breaker's own refusals can never hold it
open (docs/runtime.md, "Recovery").

`allow()` is the hot path: in closed state it is one attribute check and a return. `call()` and
`record()` on a closed breaker whose window holds no failure count a success without taking the lock.
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
from slokit.names import CLOSED, HALF_OPEN, OPEN, RAMP
from slokit.runtime.clock import Clock, system_clock
from slokit.runtime.decisions import Decisions, Transition
from slokit.runtime.ramp import Stepper
from slokit.runtime.ring import Ring
from slokit.spec.policy import MODES, BreakerConfig

_FAILED, _SLOW = 1, 2

OwnOutcome = Callable[[bool, float], None]  # (call succeeded, seconds) of a refusal or a probe


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

    def add_successes(self, n: int) -> None:
        """`n` good calls at once (the ones counted without the lock)."""
        if n >= self.size:
            self.reset()
            self.calls = self.size
        elif self.failed or self.slow:
            for _ in range(n):
                self.add(0, 0.0)
        else:  # nothing in the window failed: only the position and the count move
            self.pos = (self.pos + n) % self.size
            self.calls = min(self.size, self.calls + n)


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
        self.on_own: OwnOutcome | None = None  # refusals that fail a request, and probe calls (the runtime's)
        self.allowance = self.default_allowance()  # share of probe / ramp calls that may fail
        self._lock = threading.Lock()
        self._policy_hold = False
        self._open_until = 0.0
        self._wait = self.config.open_for  # before the next probe round; doubles while rounds fail
        self._failing = False  # the latest evidence (a probe round, a ramp step, a trip) says the dependency fails
        self._probes_admitted = 0
        self._probes = _CountWindow(self.config.half_open_probes)
        self._ramp: Stepper | None = None
        self._released: dict[str, Any] | None = None  # the policy's release, when it came during a probe round
        self._ramp_calls = self._ramp_failed = 0
        self._window = self._new_window()
        self._successes = self._counted = 0  # good calls counted without the lock, and how many are in the window
        self._slow_call = self.config.slow_call
        self._pass = True  # allow() without a lock: closed (normal mode), disabled or metrics-only
        self._clean = True  # record() without a lock: closed, normal mode, no failure in a count window
        if decisions:
            decisions.initial(self.target, self.state)
        self.set_mode(self.config.mode)

    def _new_window(self) -> _Window:
        c = self.config
        return _CountWindow(c.window_size) if c.window == "count" else _TimeWindow(c.window_size)

    def default_allowance(self) -> float:
        """The share of probe and ramp calls that may fail, from the config alone (the runtime derives a
        stricter one from the rules naming the breaker)."""
        c = self.config
        if c.recover_failure_rate is not None:
            return c.recover_failure_rate / 100
        return (c.failure_rate if c.failure_rate is not None else 50.0) / 100

    # -- the hot path ---------------------------------------------------------------------------------
    def allow(self, key: object | None = None, fallback: bool = False) -> bool:
        """May a call go through now? Closed: one attribute check. `key` (a user or session id) keeps one
        user in or out for a whole ramp step. `fallback=True`: the app answers a refusal itself, so the
        refusal is not a failed request (without it, a refusal is assumed to fail one)."""
        if self._pass:
            return True
        return self._allow_slow(key, fallback)

    def _allow_slow(self, key: object | None, fallback: bool) -> bool:
        with self._lock:
            admitted = self._admit(key)
        if not admitted and not fallback and not self.config.fallback and self.on_own is not None:
            self.on_own(False, 0.0)
        return admitted

    def _admit(self, key: object | None) -> bool:
        """Admit one call or not (lock held)."""
        if self.mode == "forced_open":
            return False
        if self.state == OPEN:
            if self.clock() < self._open_until:
                return False
            self._move(HALF_OPEN, "open_timeout", detail={"probes": self.config.half_open_probes})
        if self.state == HALF_OPEN:
            if self._probes_admitted < self.config.half_open_probes:
                self._probes_admitted += 1
                return True
            return False
        if self.state == RAMP:
            self._tick()
            if self._ramp is not None:
                return self._ramp.admits(key)
        return True

    def record(self, success: bool, duration: float = 0.0) -> None:
        """The outcome of a call that `allow()` let through."""
        if self._clean and success and duration < self._slow_call:
            self._successes += 1  # a lost update under a thread race only undercounts good calls
            return
        self._record(success, duration)

    def _record(self, success: bool, duration: float) -> None:
        if self.mode == "disabled":
            return
        config = self.config
        code = (0 if success else _FAILED) | (_SLOW if duration >= config.slow_call else 0)
        own = False
        with self._lock:
            if self.mode == "metrics_only" and self.state in (OPEN, RAMP):
                self._admit(None)  # every call passes: let it move the states as an admitted call would
            if self.state == CLOSED:
                w = self._window
                if self._successes != self._counted:
                    self._catch_up()
                w.add(code, self.clock() if w.timed else 0.0)
                # a good call lowers the rates of a count window, unless it completes min_calls
                if w.calls >= config.min_calls and (code or w.timed or w.calls == config.min_calls):
                    self._check(w, config.min_calls)
                if code:
                    self._clean = False
                elif not (w.failed or w.slow):  # the last failure slid out: back to the lock-free path
                    self._set_clean()
            elif self.state == HALF_OPEN:
                own = True
                self._probe(code)
            elif self.state == RAMP:
                self._ramp_calls += 1
                if code:
                    self._ramp_failed += 1
                    if self._ramp_failed > self.allowance * max(self._ramp_calls, config.min_calls):
                        self._reopen("ramp_failed", {"calls": self._ramp_calls, "failed": self._ramp_failed})
        if own and self.on_own is not None:
            self.on_own(success, duration)

    def _catch_up(self) -> None:
        """Put the good calls counted without the lock into the window (lock held)."""
        pending = self._successes - self._counted
        if pending > 0:
            self._counted += pending
            if isinstance(self._window, _CountWindow):
                self._window.add_successes(pending)

    def _set_clean(self) -> None:
        w = self._window
        self._clean = (self.state == CLOSED and self.mode == "normal" and not w.timed
                       and not w.failed and not w.slow)

    def _probe(self, code: int) -> None:
        """One probe's outcome (lock held): the round fails as soon as it cannot pass any more."""
        p, n = self._probes, self.config.half_open_probes
        p.add(code, 0.0)
        bad = sum(1 for i in range(p.calls) if p.codes[i])  # failed or slow
        detail = {"calls": p.calls, "failed": bad}
        if bad > self.allowance * n:
            self._reopen("probes_failed", detail)
        elif p.calls >= n:
            self._failing, self._wait = False, self.config.open_for
            if self._policy_hold:  # the dependency answers; the rule decides when traffic goes back, and
                self._open_until = self.clock() + self.config.max_open  # meanwhile a check now and then will do
                self._move(OPEN, "probes_passed", detail={**detail, "held_by": "policy"})
            elif self._released is not None:  # the rule let go while this round ran: say so
                why, self._released = self._released, None
                self._release(**{**why, "detail": {**why.get("detail", {}), "probes": detail}})
            else:
                self._release("probes_passed", detail=detail)

    def _reopen(self, reason: str, detail: dict[str, Any]) -> None:
        """A probe round or a ramp step failed: open, and wait twice as long before the next round."""
        self._failing = True
        self._wait = min(self._wait * 2, self.config.max_open)
        self._open_until = self.clock() + self._wait
        self._move(OPEN, reason, detail={**detail, "next_probe_in": self._wait})

    def _release(self, reason: str, slo: str | None = None, burn: dict[str, float] | None = None,
                 threshold: float | None = None, detail: dict[str, Any] | None = None) -> None:
        """Back towards full traffic (lock held): the first ramp step, or closed if there is no ramp."""
        ramp = self.config.ramp
        if not ramp.steps:
            self._move(CLOSED, reason, slo, burn, threshold, detail)
            return
        self._ramp = Stepper(ramp, self.clock())
        self._ramp_calls = self._ramp_failed = 0
        self._move(RAMP, reason, slo, burn, threshold, {**(detail or {}), "admit_percent": self._ramp.percent})

    def _tick(self) -> None:
        """Move the ramp on when its step is over (lock held)."""
        ramp, now = self._ramp, self.clock()
        if ramp is None or now < ramp.until:
            return
        detail = {"calls": self._ramp_calls, "failed": self._ramp_failed}
        if ramp.step(now):
            self._ramp_calls = self._ramp_failed = 0
            self._report(RAMP, RAMP, "ramp_step", detail={**detail, "admit_percent": ramp.percent})
        else:
            self._move(CLOSED, "ramp_done", detail=detail)

    def tick(self) -> None:
        """Let time move a ramp on without a call (the runtime calls this at every evaluation)."""
        if self.state == RAMP:
            with self._lock:
                self._tick()

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
            if threshold is not None and 100 * count >= threshold * w.calls:
                self._failing, self._wait = True, c.open_for
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
            self._counted = self._successes
            self._wait, self._failing = self.config.open_for, False
        if to != RAMP:
            self._ramp = None
        if to != HALF_OPEN:
            self._released = None
        if to == HALF_OPEN:
            self._probes.reset()
            self._probes_admitted = 0
        self._pass = self.mode in ("disabled", "metrics_only") or (to == CLOSED and self.mode == "normal")
        self._set_clean()
        self._report(old, to, reason, slo, burn, threshold, detail)

    def _report(self, old: str, to: str, reason: str, slo: str | None = None, burn: dict[str, float] | None = None,
                threshold: float | None = None, detail: dict[str, Any] | None = None) -> None:
        if self.decisions:
            self.decisions.transition(Transition(self.clock(), self.target, old, to, reason, slo, burn or {},
                                                 threshold, detail or {}))

    # -- policy and modes -----------------------------------------------------------------------------
    def policy_open(self, slo: str | None = None, burn: dict[str, float] | None = None,
                    threshold: float | None = None, reason: str = "policy",
                    detail: dict[str, Any] | None = None) -> None:
        """Hold the breaker open while the policy says the SLO burns too fast; it keeps probing."""
        with self._lock:
            self._policy_hold = True
            if self.mode == "disabled" or self.state == OPEN:
                return
            if self.state == CLOSED:
                self._wait, self._failing = self.config.open_for, False
            self._open_until = self.clock() + self._wait
            self._move(OPEN, reason, slo, burn, threshold, detail)

    def policy_release(self, slo: str | None = None, burn: dict[str, float] | None = None,
                       threshold: float | None = None, reason: str = "policy_recovered",
                       detail: dict[str, Any] | None = None) -> None:
        """The rule recovered: ramp back, unless the latest probes failed (then it probes on, on its own)."""
        with self._lock:
            if not self._policy_hold:
                return
            self._policy_hold = False
            if self.state == OPEN and self.mode != "forced_open" and not self._failing:
                self._release(reason, slo, burn, threshold, detail)
            elif self.state == HALF_OPEN:  # a probe round is running: it decides, and reports this release
                self._released = {"reason": reason, "slo": slo, "burn": burn, "threshold": threshold,
                                  "detail": detail or {}}

    def configure(self, config: BreakerConfig) -> None:
        """New settings from a reloaded policy; the outcome window starts over, the state is kept."""
        with self._lock:
            if config == self.config:
                return
            self.config = config
            self._window = self._new_window()
            self._counted = self._successes
            self._probes = _CountWindow(config.half_open_probes)
            self._probes_admitted = 0  # a new probe window, a whole new round (else half-open for good)
            self._slow_call = config.slow_call
            self.allowance = self.default_allowance()
        self.set_mode(config.mode)

    @property
    def policy_held(self) -> bool:
        return self._policy_hold

    @property
    def probes_failing(self) -> bool:
        """Does the latest evidence (probe round, ramp step, local trip) say the dependency fails?"""
        return self._failing and self.mode in ("normal", "metrics_only")

    @property
    def admitted_share(self) -> float:
        """The share of calls let through now: 1 closed, 0 open, the step's share while ramping."""
        ramp = self._ramp
        return 1.0 if self.state == CLOSED else (ramp.share if ramp is not None else 0.0)

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
            self._set_clean()

    # -- ways to use it -------------------------------------------------------------------------------
    def _failed(self, exc: BaseException | None) -> bool:
        return exc is not None and isinstance(exc, self.failure) and not isinstance(exc, self.ignore)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not (self._pass or self._allow_slow(None, False)):
            raise BreakerOpen(self.name)
        return self._run(fn, args, kwargs)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call `fn` (admitted) and record how it went; a fast success on a clean window without the lock."""
        clock = self.clock
        start = clock()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._record(not self._failed(exc), clock() - start)
            raise
        if self._clean and clock() - start < self._slow_call:
            self._successes += 1
        else:
            self._record(True, clock() - start)
        return result

    async def call_async(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self.allow():
            raise BreakerOpen(self.name)
        return await self._run_async(fn, args, kwargs)

    async def _run_async(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
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
        answered = fallback is not None  # a refusal the fallback answers is not a failed request

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            if inspect.iscoroutinefunction(fn):
                @functools.wraps(fn)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    if not self.allow(fallback=answered):
                        if fallback is None:
                            raise BreakerOpen(self.name)
                        result = fallback(*args, **kwargs)
                        return await result if inspect.isawaitable(result) else result
                    return await self._run_async(fn, args, kwargs)
                return async_wrapper

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if not self.allow(fallback=answered):
                    if fallback is None:
                        raise BreakerOpen(self.name)
                    return fallback(*args, **kwargs)
                return self._run(fn, args, kwargs)
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
