"""Measure any function or block, sync or async, as good or bad: dependency SLOs that are not HTTP.

    charge = Measure("checkout", "gateway.charge")

    @charge                          # a sync or async function
    def pay(order): ...

    with charge() as call:           # or `async with charge() as call:`
        result = gateway.charge(order)
        if result.timed_out_but_retried:
            call.outcome = BAD       # override the classification from inside the block

An exception of one of `errors` (default: any Exception) is bad; other exceptions and normal returns are
good (pass `errors=(GatewayError,)` so a business exception such as a declined card stays good). One
observation of `names.FUNCTION_DURATION` per call; the `listener` gets `(function, outcome, seconds)`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from types import TracebackType
from typing import Any, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry

from slokit import names
from slokit.instrument.core import Listener, histogram

F = TypeVar("F", bound=Callable[..., Any])


class Call:
    """One measured block (a context manager, sync or async); set `outcome` inside to override."""

    __slots__ = ("measure", "start", "outcome")

    def __init__(self, measure: Measure) -> None:
        self.measure = measure
        self.start = 0.0
        self.outcome: str | None = None

    def __enter__(self) -> Call:
        self.start = perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.measure.record(self.outcome or self.measure.classify(exc), perf_counter() - self.start)

    async def __aenter__(self) -> Call:
        return self.__enter__()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.__exit__(kind, exc, tb)


@dataclass
class Measure:
    """A named function SLI: a decorator and a (sync or async) context manager."""

    service: str
    function: str
    registry: CollectorRegistry = REGISTRY
    errors: tuple[type[BaseException], ...] = (Exception,)
    listener: Listener | None = None
    _observe: dict[str, Callable[[float], None]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        family = histogram(names.FUNCTION_DURATION, "Duration of measured functions by SLO outcome (slokit).",
                           names.FUNCTION_LABELS, self.registry)
        for outcome in names.COUNTED_OUTCOMES:
            self._observe[outcome] = family.labels(self.service, self.function, outcome).observe

    def record(self, outcome: str, seconds: float) -> None:
        self._observe[outcome](seconds)
        if self.listener is not None:
            self.listener(self.function, outcome, seconds)

    def classify(self, exc: BaseException | None) -> str:
        return names.BAD if exc is not None and isinstance(exc, self.errors) else names.GOOD

    def __call__(self, func: F | None = None) -> Any:
        """`measure(func)` decorates; `measure()` gives a fresh context manager for one block."""
        if func is None:
            return Call(self)
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                start = perf_counter()
                try:
                    result = await func(*args, **kwargs)
                except BaseException as exc:
                    self.record(self.classify(exc), perf_counter() - start)
                    raise
                self.record(names.GOOD, perf_counter() - start)
                return result
            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = perf_counter()
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                self.record(self.classify(exc), perf_counter() - start)
                raise
            self.record(names.GOOD, perf_counter() - start)
            return result
        return wrapper

def measure(service: str, function: str, **options: Any) -> Measure:
    """`Measure(service, function, ...)`, named as a verb for `@measure("checkout", "charge")`."""
    return Measure(service, function, **options)
