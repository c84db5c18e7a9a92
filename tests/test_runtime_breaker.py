"""The circuit breaker: local outcomes, policy holds, half-open probes, modes, and the ways to use it."""

from __future__ import annotations

import asyncio

import pytest

from slokit.runtime import Breaker, BreakerConfig, BreakerOpen, Decisions, ManualClock

CONFIG = BreakerConfig(failure_rate=50, slow_call_rate=80, slow_call=2.0, window_size=10, min_calls=4,
                       open_for=30, half_open_probes=2)


def make(config: BreakerConfig = CONFIG) -> tuple[Breaker, ManualClock, Decisions]:
    clock, decisions = ManualClock(), Decisions()
    return Breaker("payments", config, clock, decisions), clock, decisions


def states(decisions: Decisions) -> list[tuple[str, str, str]]:
    return [(t.from_state, t.to_state, t.reason) for t in decisions.recent]


def test_opens_on_failure_rate_once_min_calls_are_in() -> None:
    breaker, _, decisions = make()
    for ok in (False, False, False):  # 100% failures, but only 3 calls: below min_calls
        breaker.record(ok)
    assert breaker.state == "closed" and breaker.allow()
    breaker.record(True)  # 4 calls, 75% failed
    assert breaker.state == "open" and not breaker.allow()
    assert states(decisions) == [("closed", "open", "failure_rate")]
    assert decisions.recent[-1].detail == {"calls": 4, "failure_rate": 75.0, "slow_call_rate": 0.0}


def test_opens_on_slow_call_rate() -> None:
    breaker, _, decisions = make()
    for duration in (2.5, 3.0, 2.0, 0.1, 4.0):
        breaker.record(True, duration)
    assert breaker.state == "open"
    assert states(decisions) == [("closed", "open", "slow_call_rate")]


def test_count_window_forgets_old_calls() -> None:
    breaker, _, _ = make()
    for ok in [True] * 10 + [False] * 3 + [True] * 10:  # the window holds the last 10 calls
        breaker.record(ok)
    for _ in range(4):  # 4 of 10 failed: the three earlier failures slid out
        breaker.record(False)
    assert breaker.state == "closed"
    breaker.record(False)
    assert breaker.state == "open"


def test_time_window_forgets_old_seconds() -> None:
    breaker, clock, _ = make(BreakerConfig(failure_rate=50, window="time", window_size=10, min_calls=4))
    for _ in range(3):
        breaker.record(False)
    clock.advance(11)
    for _ in range(3):
        breaker.record(True)
    breaker.record(False)  # 1 of 4 within the last 10 seconds
    assert breaker.state == "closed"
    for _ in range(3):
        breaker.record(False)
    assert breaker.state == "open"


def test_half_open_admits_a_bounded_number_of_probes() -> None:
    breaker, clock, decisions = make()
    for _ in range(4):
        breaker.record(False)
    clock.advance(29)
    assert not breaker.allow()
    clock.advance(1)
    assert [breaker.allow() for _ in range(4)] == [True, True, False, False]
    assert breaker.state == "half_open"
    breaker.record(True)
    breaker.record(True)
    assert breaker.state == "closed" and breaker.allow()
    assert states(decisions)[1:] == [("open", "half_open", "open_timeout"), ("half_open", "closed", "probes_passed")]


def test_failed_probes_open_again() -> None:
    breaker, clock, _ = make()
    for _ in range(4):
        breaker.record(False)
    clock.advance(30)
    assert breaker.allow() and breaker.allow()
    breaker.record(False)
    breaker.record(True)
    assert breaker.state == "open" and not breaker.allow()


def test_policy_holds_it_open_past_the_timer_and_releases_it() -> None:
    breaker, clock, decisions = make()
    breaker.policy_open("checkout-availability", {"5m": 20.0, "1h": 15.0}, 14.4)
    clock.advance(3600)
    assert not breaker.allow() and breaker.state == "open"
    breaker.policy_release("checkout-availability", {"5m": 0.5}, 1.0)
    assert breaker.state == "closed" and breaker.allow()
    opened = decisions.recent[0]
    assert (opened.reason, opened.slo, opened.burn, opened.threshold) == (
        "policy", "checkout-availability", {"5m": 20.0, "1h": 15.0}, 14.4)


def test_modes() -> None:
    breaker, _, decisions = make(BreakerConfig(mode="forced_open"))
    assert not breaker.allow() and breaker.state == "open"
    breaker.set_mode("disabled")
    for _ in range(50):
        breaker.record(False)
    assert breaker.allow() and breaker.state == "closed"
    breaker.set_mode("metrics_only")  # decides and reports, but lets every call through
    for _ in range(10):
        breaker.record(False)
    assert breaker.state == "open" and breaker.allow()
    assert states(decisions)[-1] == ("closed", "open", "failure_rate")


def test_decorator_context_manager_and_fallback() -> None:
    breaker, _, _ = make()

    @breaker.protect(fallback=lambda order: f"queued {order}")
    def pay(order: str) -> str:
        raise ConnectionError("gateway down")

    for _ in range(4):
        with pytest.raises(ConnectionError):
            pay("o-1")
    assert pay("o-2") == "queued o-2"  # open: the fallback answers, the gateway is not called
    with pytest.raises(BreakerOpen):
        with breaker:
            pass


def test_ignored_exceptions_do_not_count() -> None:
    breaker = Breaker("search", CONFIG, ManualClock(), ignore=(KeyError,))

    @breaker
    def lookup() -> None:
        raise KeyError("not found is an answer, not an outage")

    for _ in range(10):
        with pytest.raises(KeyError):
            lookup()
    assert breaker.state == "closed"


def test_async_decorator_and_context_manager() -> None:
    breaker, clock, _ = make()

    @breaker
    async def fetch(ok: bool) -> str:
        await asyncio.sleep(0)
        if not ok:
            raise TimeoutError
        return "ok"

    async def main() -> list[str]:
        out = [await fetch(True)]
        for _ in range(3):
            try:
                async with breaker:
                    clock.advance(3.0)  # slow and failing
                    raise TimeoutError
            except TimeoutError:
                out.append("failed")
        try:
            await fetch(True)
        except BreakerOpen:
            out.append("open")
        return out

    assert asyncio.run(main()) == ["ok", "failed", "failed", "failed", "open"]
