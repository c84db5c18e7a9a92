"""Retries of non-idempotent calls with an Idempotency-Key, against the example payments server
(examples/idempotency.py) on Starlette under uvicorn and on Flask under gunicorn: the key is made once per
call and sent on every attempt, so the server charges once however often the call is retried."""

from __future__ import annotations

import re
import sys

import httpx
import pytest
import requests
from prometheus_client import CollectorRegistry
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from examples.idempotency import parse_key, starlette_app
from slokit.retry import Backoff, RetryAdapter, RetryBudget, RetryPolicy, RetryTransport, retrying
from tests.conftest import ROOT
from tests.instrument_helpers import free_port, running
from tests.server_helpers import uvicorn_serving

FAST = Backoff(base=0.001, cap=0.002)
UUID_KEY = re.compile(r'"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"')


def keyed_policy(registry: CollectorRegistry, keys: bool = True) -> RetryPolicy:
    return RetryPolicy("checkout", attempts=4, backoff=FAST, budget=RetryBudget(floor=1.0), registry=registry,
                       idempotency_keys=keys)


def session_with(adapter: RetryAdapter | HTTPAdapter) -> requests.Session:
    session = requests.Session()
    session.mount("http://", adapter)
    return session


def charged(url: str) -> int:
    return int(requests.get(url + "/payments", timeout=5).json()["payments"])


def decisions(registry: CollectorRegistry) -> dict[str, float]:
    return {s.labels["decision"]: s.value for m in registry.collect() for s in m.samples
            if s.name == "slokit_client_retries_total"}


def test_a_lost_answer_is_retried_with_the_same_generated_key_and_the_server_charges_once() -> None:
    registry = CollectorRegistry()
    with uvicorn_serving(starlette_app(lose_first=1)) as url, session_with(RetryAdapter(keyed_policy(registry))) as s:
        first = s.post(url + "/payments", json={"amount": 100}, timeout=5)  # charged, then the answer is lost
        assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "true"
        assert first.json() == {"id": "pay_1", "amount": 100}
        key = first.request.headers["Idempotency-Key"]
        assert UUID_KEY.fullmatch(key)
        assert charged(url) == 1  # two attempts, one effect

        second = s.post(url + "/payments", json={"amount": 100}, timeout=5)  # a new call: a new key, a new payment
        assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
        assert second.request.headers["Idempotency-Key"] != key
        assert charged(url) == 2
    assert decisions(registry) == {"retried": 1}


def test_without_keys_a_post_is_never_retried_and_naive_retries_charge_twice() -> None:
    registry = CollectorRegistry()
    with uvicorn_serving(starlette_app(lose_first=1)) as url:
        with session_with(RetryAdapter(keyed_policy(registry, keys=False))) as s:
            assert s.post(url + "/payments", json={"amount": 100}, timeout=5).status_code == 502
        assert charged(url) == 1 and decisions(registry) == {"not_idempotent": 1}
    # what slokit refuses to do: urllib3 told to retry POSTs on 502 charges the customer twice
    naive = Retry(total=3, allowed_methods=None, status_forcelist=[502], backoff_factor=0, raise_on_status=False)
    with uvicorn_serving(starlette_app(lose_first=1)) as url, session_with(HTTPAdapter(max_retries=naive)) as s:
        assert s.post(url + "/payments", json={"amount": 100}, timeout=5).status_code == 201
        assert charged(url) == 2


def test_a_slow_first_attempt_is_answered_409_then_replayed_under_gunicorn() -> None:
    """The client gives up on a slow first attempt (timeout) while the server still works on it; the retry
    with the same key gets 409 + Retry-After, waits, and then gets the first attempt's answer."""
    registry = CollectorRegistry()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "--bind", f"127.0.0.1:{port}",
               "examples.idempotency:flask_app(slow_first=1.0)"]
    with running(command, url + "/payments", "gunicorn", cwd=ROOT), \
            session_with(RetryAdapter(keyed_policy(registry))) as s:
        answer = s.post(url + "/payments", json={"amount": 250}, timeout=0.5)
        assert answer.status_code == 201 and answer.headers["Idempotent-Replayed"] == "true"
        assert answer.json() == {"id": "pay_1", "amount": 250}
        assert charged(url) == 1
    assert decisions(registry) == {"retried": 2}  # after the timeout, and after the 409


def test_the_server_contract_for_keys_the_caller_gives() -> None:
    registry = CollectorRegistry()
    with uvicorn_serving(starlette_app()) as url, session_with(RetryAdapter(keyed_policy(registry))) as s:
        def pay(key: str, amount: int = 100) -> requests.Response:
            return s.post(url + "/payments", json={"amount": amount}, headers={"Idempotency-Key": key}, timeout=5)

        assert pay("order-17").status_code == 201
        again = pay("order-17")  # the caller's own retry, later: the same payment
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["id"] == "pay_1" and charged(url) == 1
        reused = pay("order-17", amount=999)  # the same key for another request
        assert reused.status_code == 422 and reused.headers["content-type"] == "application/problem+json"
        assert pay("x" * 256).status_code == 400 and charged(url) == 1
        plain = requests.post(url + "/payments", json={"amount": 1}, timeout=5)  # no key: a new payment each time
        assert plain.status_code == 201 and charged(url) == 2
    assert decisions(registry) == {}  # nothing failed retryably


def test_httpx_transports_key_their_calls_too() -> None:
    registry = CollectorRegistry()
    with uvicorn_serving(starlette_app(lose_first=1)) as url, \
            httpx.Client(transport=RetryTransport(keyed_policy(registry))) as client:
        answer = client.post(url + "/payments", json={"amount": 5})
        assert answer.status_code == 201 and answer.headers["idempotent-replayed"] == "true"
        assert UUID_KEY.fullmatch(answer.request.headers["idempotency-key"])
        assert charged(url) == 1


def test_a_function_gets_one_key_per_call_for_all_its_attempts() -> None:
    seen: list[str] = []
    policy = RetryPolicy("checkout", attempts=3, backoff=FAST, registry=CollectorRegistry())

    @retrying(policy, retry_on=(ConnectionError,), idempotent=False, key="idempotency_key")
    def charge(amount: int, idempotency_key: str | None = None) -> str:
        assert idempotency_key is not None
        seen.append(idempotency_key)
        if len(seen) % 3:
            raise ConnectionError("reset")
        return idempotency_key

    made = charge(100)
    assert seen == [made] * 3 and re.fullmatch(r"[0-9a-f-]{36}", made)
    assert charge(100, idempotency_key="order-18") == "order-18" and seen[3:] == ["order-18"] * 3

    @retrying(policy, retry_on=(ConnectionError,), idempotent=False)
    def unkeyed() -> None:
        seen.append("unkeyed")
        raise ConnectionError("reset")

    with pytest.raises(ConnectionError):
        unkeyed()
    assert seen.count("unkeyed") == 1  # without a key, never retried


UUID = "8e03978e-40d5-43e8-bc93-6894a57f9324"


@pytest.mark.parametrize("value, key", [(f'"{UUID}"', UUID), ("order-17", "order-17"), ('""', None),
                                        ('"a\\"b"', None), ("é", None), ("x" * 256, None)])
def test_keys_are_parsed_as_the_draft_writes_them(value: str, key: str | None) -> None:
    assert parse_key(value) == key
