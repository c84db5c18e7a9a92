"""The circuit breaker: local outcomes, policy holds, half-open probes, modes, and the ways to use it."""

from __future__ import annotations

import asyncio

import pytest

from slokit.runtime import Breaker, BreakerConfig, BreakerOpen, Decisions, ManualClock
from slokit.spec.policy import Ramp

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


def test_half_open_admits_a_bounded_number_of_probes_then_ramps_back() -> None:
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
    assert breaker.state == "ramp"  # not straight back to full traffic: 10% of the calls, then 50%
    assert sum(breaker.allow() for _ in range(100)) == 10
    clock.advance(60)
    assert sum(breaker.allow() for _ in range(100)) == 50
    clock.advance(60)
    assert breaker.allow() and breaker.state == "closed"
    assert states(decisions)[1:] == [("open", "half_open", "open_timeout"), ("half_open", "ramp", "probes_passed"),
                                     ("ramp", "ramp", "ramp_step"), ("ramp", "closed", "ramp_done")]
    assert [t.detail.get("admit_percent") for t in decisions.recent][2:4] == [10.0, 50.0]


def test_a_failed_probe_round_doubles_the_wait_up_to_open_for_max() -> None:
    breaker, clock, decisions = make(BreakerConfig(failure_rate=50, min_calls=4, open_for=30, open_for_max=100))
    for _ in range(4):
        breaker.record(False)
    waits = []
    for _ in range(4):
        opened = clock.now
        while not breaker.allow():
            clock.advance(1)
        waits.append(clock.now - opened)
        breaker.record(False)
        breaker.record(False)
        assert breaker.state == "half_open"  # 2 of 5 probes failed: the round can still pass (at most 50%)
        breaker.record(False)  # 3 of 5: it cannot any more
        assert breaker.state == "open"
    assert waits == [30, 60, 100, 100]
    assert decisions.recent[-1].reason == "probes_failed" and decisions.recent[-1].detail["next_probe_in"] == 100


def test_one_failed_probe_fails_the_round_when_the_allowance_is_small() -> None:
    breaker, clock, _ = make()
    breaker.allowance = 0.006  # what a page rule of a 99.9% SLO allows: 6x the error budget
    breaker.policy_open("checkout-availability")
    clock.advance(30)
    assert breaker.allow() and breaker.state == "half_open"
    breaker.record(False)
    assert breaker.state == "open" and breaker.probes_failing
    assert not breaker.allow()


def test_a_ramp_step_with_failures_opens_again() -> None:
    breaker, clock, decisions = make()
    breaker.allowance = 0.01
    for _ in range(4):
        breaker.record(False)
    clock.advance(30)
    breaker.allow(), breaker.allow()
    breaker.record(True)
    breaker.record(True)
    assert breaker.state == "ramp"
    breaker.record(True)
    breaker.record(False)  # 1 of 2 ramp calls failed, more than 1% of min_calls (4)
    assert breaker.state == "open" and breaker.probes_failing
    assert states(decisions)[-1] == ("ramp", "open", "ramp_failed")
    assert decisions.recent[-1].detail == {"calls": 2, "failed": 1, "next_probe_in": 60}


def test_a_ramp_admits_the_same_users_and_more_of_them_each_step() -> None:
    breaker, clock, _ = make(BreakerConfig(ramp=Ramp((10.0, 50.0), 60)))
    breaker.policy_open()
    clock.advance(30)
    for _ in range(5):
        assert breaker.allow()
        breaker.record(True)
    breaker.policy_release()
    assert breaker.state == "ramp"
    users = [f"user-{i}" for i in range(2000)]
    first = {u for u in users if breaker.allow(key=u)}
    assert first == {u for u in users if breaker.allow(key=u)}  # asked again: the same answer
    assert 150 <= len(first) <= 250
    clock.advance(60)
    second = {u for u in users if breaker.allow(key=u)}
    assert first < second and 900 <= len(second) <= 1100  # everyone let in at 10% stays in at 50%


def test_policy_holds_it_open_past_the_timer_probes_and_ramps_back_on_release() -> None:
    breaker, clock, decisions = make()
    breaker.policy_open("checkout-availability", {"5m": 20.0, "1h": 15.0}, 14.4)
    assert not breaker.allow()
    clock.advance(30)
    assert breaker.allow() and breaker.allow() and not breaker.allow()  # a probe round while held
    breaker.record(True)
    breaker.record(True)
    assert breaker.state == "open" and not breaker.allow() and not breaker.probes_failing
    clock.advance(3600)
    breaker.policy_release("checkout-availability", {"5m": 0.5}, 1.0)
    assert breaker.state == "ramp"
    opened = decisions.recent[0]
    assert (opened.reason, opened.slo, opened.burn, opened.threshold) == (
        "policy", "checkout-availability", {"5m": 20.0, "1h": 15.0}, 14.4)
    assert states(decisions)[1:] == [("open", "half_open", "open_timeout"), ("half_open", "open", "probes_passed"),
                                     ("open", "ramp", "policy_recovered")]


def test_a_release_while_the_probes_fail_keeps_it_open() -> None:
    breaker, clock, _ = make()
    breaker.policy_open()
    clock.advance(30)
    breaker.allow()
    breaker.record(False)
    breaker.record(False)
    assert breaker.probes_failing
    breaker.policy_release()
    assert breaker.state == "open" and not breaker.policy_held  # it probes on, on its own


def test_refusals_and_probes_are_reported_as_its_own_outcomes() -> None:
    breaker, clock, _ = make()
    own: list[tuple[bool, float]] = []
    breaker.on_own = lambda ok, seconds: own.append((ok, seconds))
    breaker.policy_open()
    assert not breaker.allow()  # a refusal nobody answered: it fails a request
    assert not breaker.allow(fallback=True)  # the app answers it itself: not a failed request

    @breaker.protect(fallback=lambda: "queued")
    def pay() -> str:
        return "paid"

    assert pay() == "queued"
    clock.advance(30)
    assert breaker.allow()
    breaker.record(True, 0.2)  # a probe
    assert own == [(False, 0.0), (True, 0.2)]


def test_failure_rate_off_leaves_opening_to_the_policy() -> None:
    breaker, _, _ = make(BreakerConfig(failure_rate=None, min_calls=4))
    for _ in range(50):
        breaker.record(False)
    assert breaker.state == "closed"


def test_good_calls_counted_without_the_lock_still_push_failures_out_of_the_window() -> None:
    breaker, _, _ = make(BreakerConfig(failure_rate=50, window_size=10, min_calls=4))
    for _ in range(3):
        breaker.call(lambda: None)
    for _ in range(2):
        with pytest.raises(ValueError):
            breaker.call(_fail)
    assert breaker.state == "closed"  # 2 of 5 failed
    for _ in range(20):
        breaker.call(lambda: None)
    for _ in range(4):  # the two earlier failures slid out: 4 of 10 failed
        with pytest.raises(ValueError):
            breaker.call(_fail)
    assert breaker.state == "closed"
    with pytest.raises(ValueError):
        breaker.call(_fail)
    assert breaker.state == "open"


def _fail() -> None:
    raise ValueError("down")


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
