"""Retries that respect the error budget: backoff with full jitter, a retry budget, no retries into an outage.

    policy = RetryPolicy("checkout", breaker=breaker, burning=page_burning(engine, gateway_slo))
    session.mount("https://gateway/", RetryAdapter(policy))                    # requests
    httpx.Client(transport=RetryTransport(policy))                              # httpx (AsyncRetryTransport too)

    @retrying(policy, retry_on=(ConnectionError,))                              # any idempotent function
    def fetch_rates(): ...

    payments = RetryPolicy("payments", idempotency_keys=True)                  # the server dedupes by key
    session.mount("https://payments/", RetryAdapter(payments))                 # so a POST can be retried

Why each rule:
- Fixed retries multiply load by 1 + N exactly when the dependency is down (retry storms). A *retry budget*
  (Finagle's RetryBudget; gRPC's retry throttling is the token-bucket form of the same idea) lets retries be
  at most `ratio` of the requests of the last `window` seconds plus a small floor (so a quiet client can
  still retry): under a total outage a caller sends at most 1 + ratio attempts per request, not 1 + N.
- Exponential backoff with *full jitter* (sleep uniform(0, min(cap, base * 2^n))) spreads the retries of
  many clients instead of synchronising them.
- Only idempotent methods, or calls carrying an `Idempotency-Key`, are retried: a retried POST may charge
  twice. With `idempotency_keys=True` (for a dependency that deduplicates on the key, docs/delivery.md)
  every non-idempotent call without one gets a key, made once per call and sent on every attempt, so the
  server sees one effect however often the call is retried; a keyed call's 409 (the first attempt is still
  being processed, as the IETF draft says) is retried too.
- No retries while the dependency's breaker is open (or half-open, probing) or its SLO burns at page level:
  the retry would only add load to what is already failing.
- `Retry-After` (seconds or an HTTP date) is honoured; one longer than `max_retry_after` is not waited for:
  the answer goes back to the caller.
Every decision is counted in `names.RETRIES` with its reason.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests
from prometheus_client import REGISTRY, CollectorRegistry, Counter
from requests.adapters import BaseAdapter, HTTPAdapter

from slokit import names
from slokit.http import host_port as url_peer
from slokit.runtime.ring import Ring

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENCY_KEY = "idempotency-key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IN_PROGRESS = 409  # a keyed call is still being processed by an earlier attempt: retry it (the IETF draft)
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: retry n waits uniform(0, min(cap, base * multiplier^n))."""

    base: float = 0.05
    cap: float = 2.0
    multiplier: float = 2.0

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        return rand() * min(self.cap, self.base * self.multiplier ** retry)


class RetryBudget:
    """Retries may be at most `ratio` of the requests of the last `window` seconds, plus `floor` per second.

    Requests and retries are counted in one-second buckets (a ring of `window` buckets, with running totals),
    so the budget forgets old traffic and recovers on its own; thread-safe, O(1) per call.
    """

    def __init__(self, ratio: float = 0.1, floor: float = 1.0, window: int = 10,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 <= ratio <= 1 or floor < 0 or window < 1:
            raise ValueError("ratio must be in [0, 1], floor >= 0, window >= 1 second")
        self.ratio, self.floor, self.window, self.clock = ratio, floor, int(window), clock
        self._ring = Ring(self.window, 2)  # requests, retries
        self._requests = self._retries = 0  # over the ring's seconds
        self._lock = threading.Lock()

    def _advance(self) -> int:
        """Move to the current second (lock held): the seconds passed leave the totals. The current slot."""
        ring = self._ring
        requests, retries = ring.advance(int(self.clock()))
        self._requests -= requests
        self._retries -= retries
        return ring.slot

    def request(self) -> None:
        """Count one original request (each deposits `ratio` of a retry)."""
        with self._lock:
            self._ring.counts[0][self._advance()] += 1
            self._requests += 1

    def try_retry(self) -> bool:
        """Take one retry from the budget if there is one left."""
        with self._lock:
            slot = self._advance()
            if self._retries + 1 > self.ratio * self._requests + self.floor * self.window:
                return False
            self._ring.counts[1][slot] += 1
            self._retries += 1
            return True


_counters: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def new_key() -> str:
    """A fresh Idempotency-Key value: a random UUID as a structured-field string (quoted), as the draft asks."""
    return f'"{uuid.uuid4()}"'


def has_key(headers: Mapping[str, str] | None) -> bool:
    return any(k.lower() == IDEMPOTENCY_KEY for k in headers or {})


def _retries_counter(registry: CollectorRegistry) -> Counter:
    counter = _counters.get(registry)
    if counter is None:
        counter = _counters[registry] = Counter(names.RETRIES, "Retry decisions on outbound calls that failed "
                                                "retryably: retried, or why not.", names.RETRY_LABELS,
                                                registry=registry)
    return counter


@dataclass
class RetryPolicy:
    """When and how long to wait before a retry. One policy (and so one budget) per dependency."""

    service: str = "default"
    attempts: int = 3  # in all, the first one included
    backoff: Backoff = field(default_factory=Backoff)
    budget: RetryBudget = field(default_factory=RetryBudget)
    statuses: frozenset[int] = RETRY_STATUSES
    methods: frozenset[str] = IDEMPOTENT_METHODS
    breaker: Any = None  # a slokit.runtime.Breaker (or anything with `.state`): no retries unless closed
    burning: Callable[[], bool] | None = None  # True while the dependency's SLO burns at page level
    max_retry_after: float = 30.0
    idempotency_keys: bool = False  # the dependency deduplicates on Idempotency-Key: key non-idempotent calls
    registry: CollectorRegistry = REGISTRY
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._counter = _retries_counter(self.registry)

    def start(self, peer: str, method: str = "GET", headers: Mapping[str, str] | None = None,
              to_peer: Callable[[str], str] | None = None) -> Attempts:
        """A new call: counts it into the budget. The rest (idempotency, the peer label) is worked out
        only if the call fails, so a successful call pays one budget count (`to_peer(peer)` turns a URL
        into the label then)."""
        self.budget.request()
        return Attempts(self, peer, method, headers, to_peer)

    def add_key(self, method: str, headers: MutableMapping[str, str]) -> None:
        """With `idempotency_keys`, give a non-idempotent call that has none its key: once, before the first
        attempt, so every attempt sends the same one."""
        if self.idempotency_keys and method.upper() not in self.methods and not has_key(headers):
            headers[IDEMPOTENCY_HEADER] = new_key()

    def _refusal(self, retry: int, idempotent: bool) -> str | None:
        if not idempotent:
            return "not_idempotent"
        if retry + 1 >= self.attempts:
            return "attempts_exhausted"
        breaker = self.breaker
        if breaker is not None and getattr(breaker, "state", "closed") != "closed" and getattr(
                breaker, "mode", "normal") not in ("disabled", "metrics_only"):  # those modes let calls through
            return "breaker_open"
        if self.burning is not None and self.burning():
            return "burning"
        return None


class Attempts:
    """One call's retries: ask `next_delay()` after each retryable failure; None means give up."""

    __slots__ = ("headers", "method", "peer", "policy", "retries", "to_peer")

    def __init__(self, policy: RetryPolicy, peer: str, method: str, headers: Mapping[str, str] | None,
                 to_peer: Callable[[str], str] | None) -> None:
        self.policy, self.peer, self.method, self.headers, self.to_peer = policy, peer, method, headers, to_peer
        self.retries = 0

    @property
    def keyed(self) -> bool:
        """Does the call carry an Idempotency-Key (the server deduplicates its attempts)?"""
        return has_key(self.headers)

    def next_delay(self, retry_after: str | None = None) -> float | None:
        p = self.policy
        if self.to_peer is not None:
            self.peer, self.to_peer = self.to_peer(self.peer), None
        decision = p._refusal(self.retries, self.method.upper() in p.methods or self.keyed)
        delay = p.backoff.delay(self.retries, p.rand)
        if decision is None and retry_after:
            wait = parse_retry_after(retry_after)
            if wait is not None and wait > p.max_retry_after:
                decision = "retry_after_too_long"
            elif wait is not None:
                delay = max(delay, wait)
        if decision is None and not p.budget.try_retry():
            decision = "budget_exhausted"
        p._counter.labels(p.service, self.peer, decision or names.RETRIED).inc()
        if decision is not None:
            return None
        self.retries += 1
        return delay


def parse_retry_after(value: str) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if unreadable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def page_burning(source: Any, slo: Any) -> Callable[[], bool]:
    """A `burning` callable: True while any page tier of `slo` burns in both its windows.

    `source` is the runtime's Engine or PrometheusSource (`burn_rates(slo.key) -> {window seconds: burn}`).
    An unknown burn (stale source) reads as not burning: retries stay limited by the budget anyway.
    """
    table, key = slo.table, slo.key

    def burning() -> bool:
        return table.firing(names.PAGE, source.burn_rates(key) or {}) is not None

    return burning


# -- requests ---------------------------------------------------------------------------------------------

class RetryAdapter(BaseAdapter):
    """A requests adapter retrying the adapter it wraps by `policy` (default inner: HTTPAdapter, no retries).

    Compose with the SLO hook: `SLOAdapter(svc, RetryAdapter(policy))` measures each call once, retries
    included; `RetryAdapter(policy, SLOAdapter(svc))` measures every attempt.
    """

    def __init__(self, policy: RetryPolicy, inner: BaseAdapter | None = None) -> None:
        super().__init__()
        self.policy = policy
        self.inner = inner if inner is not None else HTTPAdapter(max_retries=0)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.policy.add_key(request.method or "GET", request.headers)
        attempts = self.policy.start(request.url or "", request.method or "GET", request.headers, url_peer)
        return run(attempts, lambda: self.inner.send(request, *args, **kwargs),
                   (requests.ConnectionError, requests.Timeout), _discard)

    def close(self) -> None:
        self.inner.close()


def _discard(response: requests.Response) -> None:
    """Read off the failed answer's body so its keep-alive connection goes back to the pool (as urllib3 does)."""
    drain = getattr(response.raw, "drain_conn", None)
    if drain is not None:
        drain()
    response.close()


# -- httpx ------------------------------------------------------------------------------------------------

try:
    import httpx
except ImportError:  # httpx is optional
    httpx = None  # type: ignore[assignment]

if httpx is not None:
    _HTTPX_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout, httpx.RemoteProtocolError)

    class RetryTransport(httpx.BaseTransport):
        """An httpx transport retrying the transport it wraps by `policy`."""

        def __init__(self, policy: RetryPolicy, inner: httpx.BaseTransport | None = None) -> None:
            self.policy = policy
            self.inner = inner if inner is not None else httpx.HTTPTransport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            self.policy.add_key(request.method, request.headers)
            attempts = self.policy.start(str(request.url), request.method, request.headers, url_peer)
            return run(attempts, lambda: self.inner.handle_request(request), _HTTPX_ERRORS, httpx.Response.close)

        def close(self) -> None:
            self.inner.close()

    class AsyncRetryTransport(httpx.AsyncBaseTransport):
        """The async twin of `RetryTransport` (waits with asyncio.sleep)."""

        def __init__(self, policy: RetryPolicy, inner: httpx.AsyncBaseTransport | None = None) -> None:
            self.policy = policy
            self.inner = inner if inner is not None else httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.policy.add_key(request.method, request.headers)
            attempts = self.policy.start(str(request.url), request.method, request.headers, url_peer)
            return await run_async(attempts, lambda: self.inner.handle_async_request(request), _HTTPX_ERRORS,
                                   httpx.Response.aclose)

        async def aclose(self) -> None:
            await self.inner.aclose()


# -- the loops --------------------------------------------------------------------------------------------

def _delay_after(attempts: Attempts, result: Any) -> float | None:
    """The wait before retrying an answer, or None to hand it back (not retryable, or the retry is refused).
    Only HTTP responses can be retryable answers; a function's return value is a success."""
    code = getattr(result, "status_code", None)
    if not isinstance(code, int):
        return None
    if code not in attempts.policy.statuses and not (code == IN_PROGRESS and attempts.keyed):
        return None
    return attempts.next_delay(result.headers.get("Retry-After"))


def run(attempts: Attempts, send: Callable[[], T], errors: tuple[type[BaseException], ...],
        discard: Callable[[T], Any] = lambda r: None) -> T:
    """Call `send` until it succeeds or `attempts` refuses (bounded by `policy.attempts`).

    A retryable answer (status in `policy.statuses`) that is not retried is returned as it is; an error
    that is not retried propagates.
    """
    while True:
        try:
            result = send()
        except errors:
            if (delay := attempts.next_delay()) is None:
                raise
        else:
            if (delay := _delay_after(attempts, result)) is None:
                return result
            discard(result)
        attempts.policy.sleep(delay)


async def run_async(attempts: Attempts, send: Callable[[], Awaitable[T]], errors: tuple[type[BaseException], ...],
                    discard: Callable[[T], Awaitable[Any]] | None = None) -> T:
    """`run` for coroutines: `send()` and `discard(result)` are awaited, the wait is asyncio.sleep."""
    while True:
        try:
            result = await send()
        except errors:
            if (delay := attempts.next_delay()) is None:
                raise
        else:
            if (delay := _delay_after(attempts, result)) is None:
                return result
            if discard is not None:
                await discard(result)
        await asyncio.sleep(delay)


# -- any function ----------------------------------------------------------------------------------------

def retrying(policy: RetryPolicy, retry_on: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError),
             idempotent: bool = True, name: str | None = None, key: str | None = None) -> Callable[[F], F]:
    """Retry a sync or async function on `retry_on` exceptions by `policy` (declare `idempotent` honestly).

    `key` names a keyword argument that carries an idempotency key to the server: the caller's value, or a
    new one (a UUID) made once per call; every attempt gets the same, so a non-idempotent call is retried.
    """
    method = "GET" if idempotent else "POST"

    def keyed(kwargs: dict[str, Any]) -> Mapping[str, str] | None:
        if key is None:
            return None
        if kwargs.get(key) is None:
            kwargs[key] = str(uuid.uuid4())
        return {IDEMPOTENCY_HEADER: kwargs[key]}

    def wrap(fn: F) -> F:
        peer = name or str(getattr(fn, "__qualname__", "function"))
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def call_async(*args: Any, **kwargs: Any) -> Any:
                attempts = policy.start(peer, method, keyed(kwargs))
                return await run_async(attempts, lambda: fn(*args, **kwargs), retry_on)
            return call_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            return run(policy.start(peer, method, keyed(kwargs)), lambda: fn(*args, **kwargs), retry_on)
        return call  # type: ignore[return-value]

    return wrap
