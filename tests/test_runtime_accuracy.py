"""Accuracy proof in simulated time: decisions happen when the window arithmetic says they should.

For a 30d / 99.9% SLO, a step from 0 to error ratio e fires the page tier (1h and 5m above 14.4x) after
0.0144 * 60 / e minutes; the policy decision must land within one engine bucket (30s) of that.
"""

from __future__ import annotations

import random

import pytest

from slokit import windows
from slokit.runtime.simulate import Event, simulate
from slokit.spec.model import SLO, HttpSLI
from slokit.spec.policy import Policy, Rule

MONTH = 30 * 86400
SLO_ID = "checkout-availability"
CHECKOUT = SLO("checkout", "availability", 99.9, MONTH, HttpSLI("checkout", route="/pay"), None)
BUCKET = 30.0  # a tenth of the 5m window
WARMUP = 6 * 3600 + 600  # fill the longest page window with healthy traffic first
RATE = 1000  # requests per second


def page_policy(**recover: object) -> Policy:
    rule = Rule("protect", CHECKOUT.key, severity="page", recover_below=float(recover.get("below", 1.0)),
                recover_windows=tuple(recover.get("windows", (300,))), hold=float(recover.get("hold", 600)),
                open_breakers=("payments",))
    return Policy(rules=(rule,))


def traffic(phases: list[tuple[float, float]], every: float = 1.0) -> list[Event]:
    """(seconds, error ratio) phases as one event row per `every` seconds."""
    events, t = [], 0.0
    for seconds, ratio in phases:
        for _ in range(int(seconds / every)):
            bad = round(RATE * every * ratio)
            events.append(Event(t, SLO_ID, round(RATE * every) - bad, bad))
            t += every
    return events


def transitions(events: list[Event], policy: Policy, until: float = 0.0) -> list[dict]:
    return [r for r in simulate(events, policy, [CHECKOUT], until=until) if r["target"] == "breaker:payments"]


@pytest.mark.parametrize("ratio", [0.02, 0.05, 0.1, 0.5])
def test_page_decision_at_theoretical_detection_time(ratio: float) -> None:
    theory = 0.0144 * 60 / ratio * 60  # seconds: the formula for 30d / 99.9%
    page = windows.table(MONTH).by_severity("page")[0]
    assert theory == pytest.approx(windows.detection_seconds(page, CHECKOUT.error_budget, ratio))
    events = traffic([(WARMUP, 0.0), (theory + 300, ratio)])
    opened = transitions(events, page_policy())[0]
    assert (opened["from"], opened["to"], opened["reason"]) == ("closed", "open", "policy")
    assert abs(opened["time"] - WARMUP - theory) <= BUCKET
    assert opened["burn"]["1h"] > 14.4 and opened["burn"]["5m"] > 14.4 and opened["threshold"] == 14.4


def test_steady_ratio_below_budget_never_trips() -> None:
    ticket = Rule("ticket", CHECKOUT.key, severity="ticket", recover_below=0.5, recover_windows=(7200,), hold=600,
                  disable_switches=("recommendations",))
    both = Policy(rules=(page_policy().rules[0], ticket))
    # three days at 99% of the budget: neither tier, not even the 1x ticket over 3d
    assert list(simulate(traffic([(3 * 86400, 0.00099)], every=10), both, [CHECKOUT])) == []
    # a noisy day (each 10s row between 0.5x and 1.3x of the budget, 0.9x on average) never pages
    rng = random.Random(7)
    noisy = [Event(10.0 * i, SLO_ID, 10 * RATE - bad, bad) for i in range(8640) if (bad := rng.randint(5, 13)) >= 0]
    assert list(simulate(noisy, page_policy(), [CHECKOUT])) == []


def test_recovery_honours_the_hold_time() -> None:
    incident = 1200.0
    events = traffic([(WARMUP, 0.0), (incident, 0.1), (3600, 0.0)])
    opened, released, step, closed = transitions(events, page_policy(windows=(300,), below=1.0, hold=600))
    stopped = WARMUP + incident
    # the 5m window drops below 1x once less than 0.001/0.1 of it still holds errors: 297s after they stop
    below = stopped + 300 * (1 - 0.001 / 0.1)
    assert (released["from"], released["to"], released["reason"]) == ("open", "ramp", "policy_recovered")
    assert abs(released["time"] - (below + 600)) <= BUCKET
    assert released["time"] - opened["time"] > 600
    assert released["burn"]["5m"] < 1.0
    # then the ramp: 10% of the calls for a minute, 50% for a minute, all of them
    assert [(m["to"], m["reason"], m["time"] - released["time"]) for m in (step, closed)] == [
        ("ramp", "ramp_step", 60), ("closed", "ramp_done", 120)]


def test_no_flapping_while_errors_come_and_go() -> None:
    """Errors on and off every 5 minutes: the 10 minute hold never completes, the breaker stays open."""
    flapping = [(300, 0.1), (300, 0.0)] * 6
    events = traffic([(WARMUP, 0.0), (1200, 0.1)] + flapping)
    moves = transitions(events, page_policy(windows=(300,), below=1.0, hold=600))
    assert [(m["from"], m["to"]) for m in moves] == [("closed", "open")]
