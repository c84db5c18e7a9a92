"""`Health`: the app's checks and the runtime's state, judged into readiness with hysteresis.

Probes must be cheap and must not flap. A result is kept for `cache_for` seconds and shared: probes that
arrive while the checks run wait for that run instead of starting another, so however many probes come,
each check runs at most once per `cache_for`. Every check is bounded by `deadline`, so a probe answers
within it. Readiness changes only after `fall` (or `rise`) results in a row, and each change is a decision
transition (`health:readiness`) like a breaker's: a log line, `slokit_decision_transitions_total`, a reason.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from prometheus_client import CollectorRegistry, Gauge

from slokit import names
from slokit.health.checks import Check, Result, Runner
from slokit.health.readiness import (
    READY,
    STARTING,
    TARGET,
    WARN,
    Component,
    Readiness,
    Rules,
    Verdict,
    check_component,
    runtime_components,
    status_of,
)
from slokit.runtime.decisions import Decisions, Transition

if TYPE_CHECKING:
    from slokit.runtime.reload import PolicyReloader
    from slokit.runtime.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Report:
    """One evaluation: the state after hysteresis, the document's status, every component."""

    at: float  # monotonic time it was finished (for the cache)
    time: float  # the clock's time (as transitions have it)
    state: str  # starting | ready | not_ready
    status: str  # pass | warn | fail
    reason: str  # why the state is what it is: the last change's reason (warming_up while starting)
    since: float  # when the state began
    output: str  # one sentence for people
    components: tuple[Component, ...]

    @property
    def ready(self) -> bool:
        return self.state == READY

    @property
    def code(self) -> int:
        return 200 if self.ready else 503

    def summary(self) -> dict[str, Any]:
        """The /readyz body."""
        return {"status": self.status, "ready": self.ready, "state": self.state, "reason": self.reason,
                "output": self.output}

    def as_json(self) -> dict[str, Any]:
        """The /healthz body: the summary, when, and every component under `checks` (one array per key)."""
        checks: dict[str, list[dict[str, Any]]] = {}
        for c in self.components:
            checks.setdefault(c.key, []).append(c.as_json())
        return {**self.summary(), "time": round(self.time, 3), "since": round(self.since, 3), "checks": checks}

    @cached_property
    def ready_body(self) -> bytes:
        return json.dumps(self.summary(), sort_keys=True).encode()

    @cached_property
    def health_body(self) -> bytes:
        return json.dumps(self.as_json(), sort_keys=True).encode()


_gauges: weakref.WeakKeyDictionary[CollectorRegistry, tuple[Gauge, Gauge, Gauge]] = weakref.WeakKeyDictionary()


def _metrics(registry: CollectorRegistry) -> tuple[Gauge, Gauge, Gauge]:
    found = _gauges.get(registry)
    if found is None:
        found = _gauges[registry] = (
            Gauge(names.HEALTH_READY, "1 while the service reports ready (after hysteresis), else 0.",
                  registry=registry),
            Gauge(names.HEALTH_CHECK_UP, "1 if the health check's last run passed, 0 if it failed or timed out.",
                  ["check"], registry=registry),
            Gauge(names.HEALTH_CHECK_DURATION, "Seconds the health check's last run took (at most its timeout).",
                  ["check"], registry=registry))
    return found


def _sentence(verdict: Verdict, components: Sequence[Component], rise: int, fall: int) -> str:
    failing = "; ".join(f"{k} ({v})" if v else k for k, v in verdict.failing.items())
    degraded = "; ".join(f"{c.key} ({c.output})" if c.output else c.key for c in components if c.status == WARN
                         and c.key not in verdict.failing)
    if verdict.state == STARTING:
        return f"starting: waiting for {failing}"
    if verdict.state == READY:
        text = "ready"
        if verdict.reason == "holding":
            text += f"; failing {verdict.streak} of {fall} results before not ready: {failing}"
        return text + (f"; degraded: {degraded}" if degraded else "")
    if verdict.reason == "recovering":
        return f"not ready; passing {verdict.streak} of {rise} results before ready"
    return f"not ready: {failing}"


class Health:
    """Probes for one process: `/livez`, `/readyz`, `/healthz` (see `asgi()`, `wsgi()`; docs/health.md).

    `runtime` (optional) adds its policy, breakers, switches and burn source; readiness transitions go to
    its `decisions` (or `decisions=`, or a `Decisions()` of its own) and carry its clock's time.
    """

    def __init__(self, runtime: Runtime | None = None, *, reloader: PolicyReloader | None = None,
                 deadline: float = 0.8, cache_for: float = 1.0, rise: int = 2, fall: int = 3,
                 unready_when_open: Collection[str] = (), unready_when_stale: bool = False,
                 needs_policy: bool = False, decisions: Decisions | None = None,
                 clock: Callable[[], float] | None = None):
        if deadline <= 0 or cache_for < 0:
            raise ValueError("deadline must be above 0 and cache_for at least 0 seconds")
        self.runtime, self.reloader = runtime, reloader
        self.deadline, self.cache_for = deadline, cache_for
        self.rules = Rules(frozenset(unready_when_open), unready_when_stale, needs_policy)
        self.decisions = decisions or (runtime.decisions if runtime is not None else Decisions())
        self.clock = clock or (runtime.clock if runtime is not None else time.time)
        self.checks: dict[str, Check] = {}
        self._readiness = Readiness(rise, fall)
        self._runner = Runner()
        self._lock = threading.Lock()  # the state and the report
        self._thread_flight = threading.Lock()  # one evaluation at a time from threads (WSGI)
        self._loop_flight: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())
        self._since, self._reason = self.clock(), "warming_up"
        self._report: Report | None = None
        self._ready_gauge, self._up, self._seconds = _metrics(self.decisions.metrics.registry)
        self._ready_gauge.set(0)

    # -- what the app declares ------------------------------------------------------------------------
    def check(self, name: str, fn: Callable[[], Any] | None = None, *, critical: bool = True,
              timeout: float | None = None) -> Any:
        """Register a check (sync or async; it fails by raising or returning False). Without `fn`, a decorator.

        `critical` checks must pass for the service to be ready (and must each pass once before it first
        is); the others only degrade it. `timeout` defaults to, and is capped by, the deadline.
        """
        if not name or ":" in name or not name.isprintable():
            raise ValueError(f"a check needs a printable name without ':' (the draft's name:measurement), not {name!r}")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be above 0 seconds")

        def register(f: F) -> F:
            self.checks[name] = Check(name, f, critical, timeout)
            return f

        return register if fn is None else register(fn)

    # -- results --------------------------------------------------------------------------------------
    def last(self) -> Report | None:
        """The latest report, without running anything (None before the first probe)."""
        return self._report

    def _fresh(self, asked: float) -> Report | None:
        """A report finished after `asked` (a run this caller waited for) or younger than `cache_for`."""
        report = self._report
        if report is not None and (report.at >= asked or asked - report.at < self.cache_for):
            return report
        return None

    def result(self) -> Report:
        """Evaluate (or reuse the cached result) from a thread with no running event loop (WSGI, scripts)."""
        asked = time.monotonic()
        if (report := self._fresh(asked)) is not None:
            return report
        with self._thread_flight:
            if (report := self._fresh(asked)) is not None:
                return report
            return asyncio.run(self._evaluate())

    async def aresult(self) -> Report:
        """Evaluate (or reuse the cached result) on the running event loop (ASGI)."""
        asked = time.monotonic()
        if (report := self._fresh(asked)) is not None:
            return report
        loop = asyncio.get_running_loop()
        flight = self._loop_flight.get(loop)
        if flight is None:
            flight = self._loop_flight[loop] = asyncio.Lock()
        async with flight:
            if (report := self._fresh(asked)) is not None:
                return report
            return await self._evaluate()

    async def _evaluate(self) -> Report:
        checks = list(self.checks.values())
        results = await self._runner.run(checks, self.deadline)
        return self._judge(checks, results)

    def _judge(self, checks: Sequence[Check], results: Sequence[Result]) -> Report:
        components = [check_component(c, r) for c, r in zip(checks, results, strict=True)]
        components += runtime_components(self.runtime, self.reloader, self.rules)
        for c, r in zip(checks, results, strict=True):
            self._up.labels(c.name).set(1 if r.ok else 0)
            self._seconds.labels(c.name).set(r.seconds)
        with self._lock:
            before = self._readiness.state
            verdict = self._readiness.judge(components)
            now = self.clock()
            if verdict.changed:
                self._since, self._reason = now, verdict.reason
                detail: dict[str, Any] = {"results": verdict.streak} if verdict.reason != "warmed_up" else {}
                if verdict.failing:
                    detail["failing"] = verdict.failing
                self.decisions.transition(Transition(now, TARGET, before, verdict.state, verdict.reason,
                                                     detail=detail))
            report = Report(time.monotonic(), now, verdict.state, status_of(verdict.state, components),
                            self._reason, self._since, _sentence(verdict, components, self._readiness.rise,
                                                                 self._readiness.fall), tuple(components))
            self._report = report
            self._ready_gauge.set(1 if report.ready else 0)
        return report

    # -- serving --------------------------------------------------------------------------------------
    def asgi(self, app: Any = None) -> Any:
        """The probes as an ASGI app, in front of `app` if given (see HealthMiddleware)."""
        from slokit.health.app import HealthMiddleware

        return HealthMiddleware(app, self)

    def wsgi(self, app: Any = None) -> Any:
        """The probes as a WSGI app, in front of `app` if given (see HealthWSGIMiddleware)."""
        from slokit.health.app import HealthWSGIMiddleware

        return HealthWSGIMiddleware(app, self)
