"""Retries against a real local HTTP server: the budget caps amplification under a total outage, flaps are
retried to success, and the rules (idempotency, Retry-After, breaker, page burn) hold on the wire."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import requests
from prometheus_client import CollectorRegistry
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from slokit.retry import (
    AsyncRetryTransport,
    Backoff,
    RetryAdapter,
    RetryBudget,
    RetryPolicy,
    RetryTransport,
)
from slokit.runtime.breaker import Breaker, BreakerConfig
from tests.retry_helpers import every_other_fails, every_tenth_fails, flaky_server, outage

FAST = Backoff(base=0.001, cap=0.002)  # real sleeps, kept short
REQUESTS = 200


def policy(registry: CollectorRegistry, **kw) -> RetryPolicy:
    kw.setdefault("budget", RetryBudget(ratio=0.1, floor=0.5, window=10))
    return RetryPolicy("checkout", attempts=4, backoff=FAST, registry=registry, **kw)


def session_with(adapter) -> requests.Session:
    session = requests.Session()
    session.mount("http://", adapter)
    return session


def decisions(registry: CollectorRegistry, peer: str) -> dict[str, float]:
    out = {}
    for metric in registry.collect():
        for s in metric.samples:
            if s.name == "slokit_client_retries_total" and s.labels["peer"] == peer:
                out[s.labels["decision"]] = s.value
    return out


def test_outage_attempts_per_request_stay_within_the_budget() -> None:
    registry = CollectorRegistry()
    with flaky_server(outage) as server, session_with(RetryAdapter(policy(registry))) as session:
        for _ in range(REQUESTS):
            assert session.get(server.url + "/rates", timeout=5).status_code == 503
        budgeted = server.hits / REQUESTS
        peer = server.url.removeprefix("http://")
    # naive fixed retries, the same number of attempts: urllib3's Retry
    naive = Retry(total=3, status_forcelist=[503], backoff_factor=0, raise_on_status=False)
    with flaky_server(outage) as server, session_with(HTTPAdapter(max_retries=naive)) as session:
        for _ in range(REQUESTS):
            assert session.get(server.url + "/rates", timeout=5).status_code == 503
        fixed = server.hits / REQUESTS

    floor = 0.5 * 10 / REQUESTS  # the budget's floor: 0.5 retries/s over its 10s window
    assert budgeted <= 1 + 0.1 + floor
    assert fixed == 4  # 1 + N
    counted = decisions(registry, peer)
    assert counted["retried"] == budgeted * REQUESTS - REQUESTS
    # every request ends with one refusal: its budget ran out, or (early on) it used all 4 attempts
    assert counted["budget_exhausted"] + counted.get("attempts_exhausted", 0) == REQUESTS
    assert counted["budget_exhausted"] > 0.8 * REQUESTS


def test_a_flapping_dependency_is_retried_to_success() -> None:
    registry = CollectorRegistry()
    with flaky_server(every_tenth_fails) as server, session_with(RetryAdapter(policy(registry))) as session:
        codes = [session.get(server.url + "/rates", timeout=5).status_code for _ in range(90)]
    assert codes == [200] * 90
    assert server.hits == 100  # 10 failed attempts, each retried once
    assert decisions(registry, server.url.removeprefix("http://")) == {"retried": 10}


def test_post_is_retried_only_with_an_idempotency_key() -> None:
    registry = CollectorRegistry()
    with flaky_server(every_other_fails) as server, session_with(RetryAdapter(policy(registry))) as session:
        keyed = session.post(server.url + "/pay", headers={"Idempotency-Key": "order-17"}, timeout=5)
        assert keyed.status_code == 200
        assert server.hits == 2
        assert session.post(server.url + "/pay", timeout=5).status_code == 503
        assert server.hits == 3
    assert decisions(registry, server.url.removeprefix("http://")) == {"not_idempotent": 1, "retried": 1}


def test_retry_after_is_honoured_and_a_long_one_is_not_waited_for() -> None:
    registry = CollectorRegistry()

    def once(n: int) -> tuple[int, dict[str, str]]:
        return (503, {"Retry-After": "1"}) if n == 0 else (200, {})

    def too_long(n: int) -> tuple[int, dict[str, str]]:
        return 503, {"Retry-After": "120"}

    with flaky_server(once) as server, session_with(RetryAdapter(policy(registry))) as session:
        start = time.monotonic()
        assert session.get(server.url + "/", timeout=5).status_code == 200
        assert time.monotonic() - start >= 1.0
    with flaky_server(too_long) as server, session_with(RetryAdapter(policy(registry))) as session:
        start = time.monotonic()
        assert session.get(server.url + "/", timeout=5).status_code == 503
        assert time.monotonic() - start < 1.0 and server.hits == 1
    assert decisions(registry, server.url.removeprefix("http://")) == {"retry_after_too_long": 1}


def test_no_retries_while_the_breaker_is_open_or_the_slo_burns_at_page_level() -> None:
    registry = CollectorRegistry()
    breaker = Breaker("gateway", BreakerConfig(mode="forced_open"))
    with flaky_server(outage) as server:
        with session_with(RetryAdapter(policy(registry, breaker=breaker))) as session:
            for _ in range(10):
                session.get(server.url + "/", timeout=5)
        assert server.hits == 10
        with session_with(RetryAdapter(policy(registry, burning=lambda: True))) as session:
            for _ in range(10):
                session.get(server.url + "/", timeout=5)
        assert server.hits == 20
    assert decisions(registry, server.url.removeprefix("http://")) == {"breaker_open": 10, "burning": 10}


def test_connection_refused_is_retried_within_the_budget_then_raised() -> None:
    registry = CollectorRegistry()
    with flaky_server(outage) as server:
        url = server.url
    # the server is gone: every attempt is refused. The floor allows 2 retries in 10s, all taken by the first
    # call; after that each call fails at once
    with session_with(RetryAdapter(policy(registry, budget=RetryBudget(ratio=0.0, floor=0.2, window=10)))) as s:
        for _ in range(5):
            with pytest.raises(requests.ConnectionError):
                s.get(url + "/", timeout=2)
    assert decisions(registry, url.removeprefix("http://")) == {"retried": 2, "budget_exhausted": 5}


def test_httpx_transports_retry_the_same_way() -> None:
    registry = CollectorRegistry()
    with flaky_server(every_other_fails) as server:
        with httpx.Client(transport=RetryTransport(policy(registry))) as client:
            assert [client.get(server.url + "/").status_code for _ in range(5)] == [200] * 5

        async def fetch() -> list[int]:
            async with httpx.AsyncClient(transport=AsyncRetryTransport(policy(registry))) as client:
                return [(await client.get(server.url + "/")).status_code for _ in range(5)]

        assert asyncio.run(fetch()) == [200] * 5
        assert server.hits == 20
