"""Measure: a decorator and context manager for any function, sync or async."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from slokit.instrument import BAD, GOOD, measure

METRIC = "slokit_function_duration_seconds"


class Declined(Exception):
    """A business outcome, not a failure of the gateway."""


class GatewayDown(Exception):
    pass


def count(registry: CollectorRegistry, outcome: str) -> float:
    labels = {"service": "checkout", "function": "gateway.charge", "outcome": outcome}
    return registry.get_sample_value(METRIC + "_count", labels) or 0.0


def test_sync_function_exceptions_in_errors_are_bad() -> None:
    registry = CollectorRegistry()

    @measure("checkout", "gateway.charge", registry=registry, errors=(GatewayDown,))
    def charge(kind: str) -> str:
        if kind == "down":
            raise GatewayDown()
        if kind == "declined":
            raise Declined()
        return "ok"

    assert charge("fine") == "ok"
    for kind, exc in (("down", GatewayDown), ("declined", Declined)):
        with pytest.raises(exc):
            charge(kind)
    assert count(registry, GOOD) == 2  # a declined card is the gateway working
    assert count(registry, BAD) == 1
    assert charge.__name__ == "charge"


def test_async_function_and_listener() -> None:
    registry = CollectorRegistry()
    heard: list[tuple[str, str, float]] = []

    @measure("checkout", "gateway.charge", registry=registry, listener=lambda *e: heard.append(e))
    async def charge(fail: bool) -> str:
        await asyncio.sleep(0.01)
        if fail:
            raise GatewayDown()
        return "ok"

    async def run() -> None:
        assert await charge(False) == "ok"
        with pytest.raises(GatewayDown):
            await charge(True)

    asyncio.run(run())
    assert [(f, o) for f, o, _ in heard] == [("gateway.charge", GOOD), ("gateway.charge", BAD)]
    assert all(s >= 0.01 for _, _, s in heard)


def test_context_manager_sync_async_and_override() -> None:
    registry = CollectorRegistry()
    charge = measure("checkout", "gateway.charge", registry=registry)
    with charge():
        pass
    with pytest.raises(GatewayDown):
        with charge():
            raise GatewayDown()
    with charge() as call:
        call.outcome = BAD  # the call returned, but with a result the app counts as a failure

    async def run() -> None:
        async def one() -> None:
            async with charge():
                await asyncio.sleep(0.01)
        await asyncio.gather(one(), one())  # overlapping blocks each get their own timer

    asyncio.run(run())
    assert count(registry, GOOD) == 3
    assert count(registry, BAD) == 2
