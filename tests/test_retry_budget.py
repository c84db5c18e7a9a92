"""The retry budget, backoff, Retry-After parsing, page-burn signal and the decorator, on a fake clock."""

from __future__ import annotations

import asyncio
from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from slokit.retry import (
    Backoff,
    RetryBudget,
    RetryPolicy,
    page_burning,
    parse_retry_after,
    retrying,
)
from slokit.runtime.engine import Engine
from slokit.spec.model import SLO, EventsSLI


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_budget_allows_its_share_of_requests_plus_the_floor() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.1, floor=0.2, window=10, clock=clock)
    for _ in range(100):
        budget.request()
    allowed = sum(budget.try_retry() for _ in range(50))
    assert allowed == 12  # 10% of 100 requests + 0.2/s over 10s


def test_budget_forgets_old_traffic_and_recovers() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.5, floor=0.0, window=10, clock=clock)
    for _ in range(10):
        budget.request()
    assert sum(budget.try_retry() for _ in range(10)) == 5
    clock.now += 11  # the window has passed: the old requests and retries are gone
    assert not budget.try_retry()
    budget.request()
    budget.request()
    assert budget.try_retry() and not budget.try_retry()


@given(st.integers(min_value=0, max_value=30), st.floats(min_value=0, max_value=0.999999))
def test_full_jitter_stays_between_zero_and_the_capped_exponential(retry: int, r: float) -> None:
    backoff = Backoff(base=0.05, cap=2.0)
    delay = backoff.delay(retry, lambda: r)
    assert 0 <= delay < min(2.0, 0.05 * 2 ** retry) + 1e-12


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(formatdate(usegmt=True)) == pytest.approx(0.0, abs=1.5)
    assert parse_retry_after("soon") is None


def test_page_burning_follows_the_engines_burn() -> None:
    slo = SLO("gateway", "availability", 99.0, 86400, EventsSLI("e[{{.window}}]", "t[{{.window}}]"), None)
    clock = FakeClock()
    engine = Engine.for_slos([slo], clock=clock)
    burning = page_burning(engine, slo)
    engine.record(slo.key, good=1000)
    assert not burning()
    engine.record(slo.key, bad=1000)  # 50% errors against a 1% budget: 50x, far above the page factor
    assert burning()


def test_decorator_retries_idempotent_functions_within_the_policy() -> None:
    policy = RetryPolicy("checkout", attempts=3, registry=CollectorRegistry(), sleep=lambda s: None)
    calls = []

    @retrying(policy, retry_on=(ConnectionError,))
    def fetch() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("refused")
        return "rates"

    assert fetch() == "rates" and len(calls) == 3

    @retrying(policy, retry_on=(ConnectionError,), idempotent=False)
    def charge() -> None:
        calls.append(1)
        raise ConnectionError("refused")

    calls.clear()
    with pytest.raises(ConnectionError):
        charge()
    assert len(calls) == 1  # not idempotent: never retried


def test_async_decorator_gives_up_after_its_attempts() -> None:
    policy = RetryPolicy("checkout", attempts=2, backoff=Backoff(base=0.001), registry=CollectorRegistry())
    calls = []

    @retrying(policy, retry_on=(TimeoutError,))
    async def fetch() -> None:
        calls.append(1)
        raise TimeoutError

    with pytest.raises(TimeoutError):
        asyncio.run(fetch())
    assert len(calls) == 2
