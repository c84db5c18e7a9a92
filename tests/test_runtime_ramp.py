"""Gradual release of switches, and flap damping of rules, in simulated time."""

from __future__ import annotations

import hashlib

from slokit.runtime import Decisions, ManualClock, Runtime, Switches, parse_policy
from slokit.runtime.ramp import key_share
from slokit.spec.model import SLO, HttpSLI
from slokit.spec.policy import Ramp

USERS = [f"user-{i}" for i in range(4000)]


def test_a_switch_ramps_back_user_by_user_and_nobody_flickers() -> None:
    clock = ManualClock()
    switches = Switches(clock=clock, decisions=Decisions(), environ={})
    switches.add("recommendations", ramp=Ramp((25.0, 50.0), 120))
    switches.policy_off("recommendations")
    assert not any(switches.enabled("recommendations", u) for u in USERS)
    switches.policy_on("recommendations")
    quarter = {u for u in USERS if switches.enabled("recommendations", u)}
    assert 900 <= len(quarter) <= 1100
    assert quarter == {u for u in USERS if switches.enabled("recommendations", u)}  # same answer every time
    clock.advance(119)
    switches.tick()
    assert switches.state()["recommendations"]["share"] == 0.25
    clock.advance(1)
    switches.tick()
    half = {u for u in USERS if switches.enabled("recommendations", u)}
    assert quarter < half and 1900 <= len(half) <= 2100  # those in at 25% stay in at 50%
    assert sum(switches.enabled("recommendations") for _ in range(100)) == 50  # no key: every other call
    clock.advance(120)
    switches.tick()
    assert all(switches.enabled("recommendations", u) for u in USERS)
    moves = [(t.from_state, t.to_state, t.reason, t.detail.get("admit_percent")) for t in switches.decisions.recent]
    assert moves == [("on", "off", "policy", None), ("off", "ramp", "policy_recovered", 25.0),
                     ("ramp", "ramp", "ramp_step", 50.0), ("ramp", "on", "ramp_done", None)]


def test_an_override_wins_over_a_ramp_and_the_gauge_shows_the_share() -> None:
    clock = ManualClock()
    decisions = Decisions()
    switches = Switches(clock=clock, decisions=decisions, environ={})
    switches.add("reviews", ramp=Ramp((10.0,), 60))
    switches.policy_off("reviews")
    switches.policy_on("reviews")
    gauge = decisions.metrics.registry.get_sample_value("slokit_switch_enabled", {"switch": "reviews"})
    assert gauge == 0.1
    switches.override("reviews", True, "http")
    assert all(switches.enabled("reviews", u) for u in USERS[:100])


def test_the_stable_hash_is_the_same_in_every_process() -> None:
    """Not Python's per-process `hash()`: BLAKE2b-64 of the key's UTF-8, so every replica agrees."""
    digest = hashlib.blake2b(b"user-42", digest_size=8).digest()
    assert key_share("user-42") == key_share(b"user-42") == int.from_bytes(digest, "big") / 2**64
    assert 0 <= key_share("") < 1 and key_share(42) == key_share("42")


CHECKOUT = SLO("checkout", "availability", 99.0, 2 * 3600, HttpSLI("checkout", route="/pay"), None)


def test_a_rule_that_trips_again_soon_holds_longer_and_a_quiet_period_resets_it() -> None:
    """A 2h SLO (windows in seconds): errors for 10s, then calm, repeatedly. The hold doubles on each quick
    re-trip, up to max_hold, and is back to the first hold after reset_after without a trip."""
    policy = parse_policy("policy.yml", """\
version: slokit/policy/v1
rules:
  - name: shed
    slo: checkout-availability
    when: {severity: page}
    recover: {hold: 10s, damping: {factor: 2, max_hold: 30s, reset_after: 200s}}
    disable_switches: [reviews]
switches:
  reviews: {ramp: off}
""", [CHECKOUT])
    clock = ManualClock(10_000.0)
    runtime = Runtime(policy, [CHECKOUT], clock=clock, environ={})
    assert runtime.engine is not None

    def run(seconds: int, bad: bool) -> None:
        for _ in range(seconds):
            runtime.engine.record(CHECKOUT.key, good=0 if bad else 10, bad=10 if bad else 0)
            clock.advance(1)
            runtime.evaluate()

    run(120, False)
    for _ in range(4):  # four bursts, each soon after the last recovery
        run(10, True)
        run(60, False)
    run(300, False)  # quiet for longer than reset_after
    run(10, True)
    run(60, False)
    trips = [t for t in runtime.decisions.recent if t.to_state == "off"]
    assert [(t.reason, t.detail["hold"]) for t in trips] == [
        ("policy", 10.0), ("policy_retrip", 20.0), ("policy_retrip", 30.0), ("policy_retrip", 30.0), ("policy", 10.0)]
    assert [t.detail.get("retrips") for t in trips] == [None, 1, 2, 3, None]
    registry = runtime.decisions.metrics.registry
    assert registry.get_sample_value("slokit_policy_retrips_total", {"rule": "shed"}) == 3
    assert registry.get_sample_value("slokit_policy_hold_seconds", {"rule": "shed"}) == 10.0
