"""Named checks the app registers, run concurrently, each within its timeout.

A check is a function of no arguments, sync or async: it passes unless it raises or returns False. Async
checks run on the caller's event loop and are cancelled at their timeout. Sync checks run in a daemon
thread each, so a check that hangs costs one thread, never the probe: the probe answers at the timeout,
and the check is not started again while that run is still going (a hung check cannot pile up threads).
"""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

MAX_OUTPUT = 200  # characters of an exception message in the output
_USERINFO = re.compile(r"(\b[a-zA-Z][\w+.-]*://)[^/\s@]+@")  # scheme://user:password@ -> scheme://***@


@dataclass(frozen=True)
class Check:
    name: str
    fn: Callable[[], Any]
    critical: bool = True  # a failing critical check makes the service not ready; others only degrade it
    timeout: float | None = None  # seconds; None: the deadline

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    seconds: float  # how long the run took (or how long it was waited for)
    output: str = ""  # why it failed: "timed out after 0.5s", "ConnectionRefusedError: ..."


def describe(exc: BaseException) -> str:
    """An exception as one line for the health document: type and message, no URL credentials, bounded."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = _USERINFO.sub(r"\1***@", " ".join(text.split()))
    return text if len(text) <= MAX_OUTPUT else text[: MAX_OUTPUT - 1] + "…"


def _verdict(name: str, value: Any, seconds: float) -> Result:
    return Result(name, False, seconds, "returned False") if value is False else Result(name, True, seconds)


class Runner:
    """Runs checks; remembers which sync checks are still running from an earlier probe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, float] = {}  # sync check name -> when its current run started (monotonic)

    async def run(self, checks: Iterable[Check], deadline: float) -> list[Result]:
        """Every check at once; each bounded by min(its timeout, deadline), so this returns within the deadline."""
        checks = list(checks)
        return list(await asyncio.gather(*(self._one(c, min(c.timeout or deadline, deadline)) for c in checks)))

    async def _one(self, check: Check, timeout: float) -> Result:
        start = time.monotonic()
        try:
            if check.is_async:
                value = await asyncio.wait_for(check.fn(), timeout)
            else:
                with self._lock:
                    since = self._running.get(check.name)
                if since is not None:
                    return Result(check.name, False, 0.0, f"still running from an earlier probe, started "
                                  f"{start - since:.1f}s ago, over its {timeout:g}s timeout")
                value = await asyncio.wait_for(self._in_thread(check), timeout)
        except TimeoutError:
            return Result(check.name, False, time.monotonic() - start, f"timed out after {timeout:g}s")
        except Exception as exc:  # the check failed: say how
            return Result(check.name, False, time.monotonic() - start, describe(exc))
        return _verdict(check.name, value, time.monotonic() - start)

    def _in_thread(self, check: Check) -> asyncio.Future[Any]:
        """Start `check.fn` in a daemon thread; its outcome arrives on this loop (if the loop still waits)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def deliver(value: Any, exc: BaseException | None) -> None:
            if done.done():  # the probe stopped waiting (timeout)
                return
            if exc is None:
                done.set_result(value)
            else:
                done.set_exception(exc)

        def run() -> None:
            value, error = None, None
            try:
                value = check.fn()
            except BaseException as exc:  # handed to the waiting probe, which reports it
                error = exc
            with self._lock:
                self._running.pop(check.name, None)
            try:
                loop.call_soon_threadsafe(deliver, value, error)
            except RuntimeError:  # that probe's loop is closed: nobody is waiting any more
                pass

        with self._lock:
            self._running[check.name] = time.monotonic()
        threading.Thread(target=run, name=f"slokit-health-{check.name}", daemon=True).start()
        return done
