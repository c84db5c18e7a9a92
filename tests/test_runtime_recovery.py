"""The recovery model in simulated time: a two-hour total outage of a dependency, the four ways a service
can meet it (a fallback or none, the breaker's own failure-rate rule on or off), with exact counts.

10 requests a second on a 99.9% / 30d SLO, a policy holding breaker `dep` open at page-level burn and
recovering when 5m and 1h stay below 1x for 10 minutes. The issue's bounds: it trips within 2 minutes, at
most 1% of the requests after the trip reach the broken dependency, it is never closed with full traffic
while the dependency is down, and it closes within hold + open_for + 5 minutes after the dependency heals.
"""

from __future__ import annotations

import functools

import pytest

from slokit.runtime.closedloop import FaultReport, Result, run
from slokit.runtime.scenario import read_scenario
from slokit.spec.model import SLO, HttpSLI
from slokit.spec.policy import parse_policy

CHECKOUT = SLO("checkout", "availability", 99.9, 30 * 86400, HttpSLI("checkout", route="/pay"), None)
HOLD, OPEN_FOR = 600, 30


def policy(local_rule: bool, source: str = "") -> str:
    return f"""\
version: slokit/policy/v1
rules:
  - name: protect
    slo: checkout-availability
    when: {{severity: page}}
    recover: {{burn_below: 1, windows: [5m, 1h], hold: 10m}}
    open_breakers: [dep]
breakers:
  dep: {{failure_rate: {50 if local_rule else "off"}, window_size: 100, min_calls: 20, open_for: 30s}}
{source}"""


@functools.cache  # each case is simulated once (about a second each) and read by several tests
def outage(fallback: bool, local_rule: bool, source: str = "") -> tuple[Result, FaultReport]:
    scenario = read_scenario("outage.yml", f"""\
version: slokit/scenario/v1
duration: 3h10m
traffic: {{slo: checkout-availability, rate: 10}}
dependency:
  breaker: dep
  fallback: {str(fallback).lower()}
  faults: [{{from: 1h, to: 3h, down: true}}]
""")
    result = run(scenario, parse_policy("policy.yml", policy(local_rule, source), [CHECKOUT]), [CHECKOUT])
    [fault] = result.faults
    return result, fault


# (fallback, local rule) -> (seconds to trip, calls that reached the dependency after the trip, requests after
# the trip, seconds from healing to closed). Without the local rule the page condition trips at the first
# evaluation that sees it (30s: 300 requests failed); with it, the 50th failed call of the last 100 opens the
# breaker after 4.9s (the requests after it: 71950). Then a probe round (one
# failed call each) after 30s, 60s, 120s, 240s, then every 5 minutes (open_for_max); the round after
# healing passes, the rule (or the breaker) releases, and the ramp (10% then 50%, a minute each) closes it.
EXPECTED = {
    (False, False): (30.0, 26, 71700, 330.0),
    (False, True): (4.9, 26, 71950, 275.3),
    (True, False): (30.0, 26, 71700, 330.0),
    (True, True): (4.9, 26, 71950, 275.3),
}


@pytest.mark.parametrize(("fallback", "local_rule"), list(EXPECTED))
def test_a_two_hour_outage_trips_fast_spares_the_dependency_and_recovers(fallback: bool, local_rule: bool) -> None:
    result, fault = outage(fallback, local_rule)
    tripped_after, calls_after_trip, requests_after_trip, closed_after = EXPECTED[fallback, local_rule]
    report = fault.as_json()
    assert (report["tripped_after"], fault.calls_after_trip, fault.requests_after_trip, report["closed_after"]) == (
        tripped_after, calls_after_trip, requests_after_trip, closed_after)
    # the bounds
    assert tripped_after <= 120
    assert fault.calls_after_trip <= 0.01 * fault.requests_after_trip
    assert fault.full_traffic_calls == 0  # never closed with full traffic while the dependency was down
    assert closed_after <= HOLD + OPEN_FOR + 300
    assert fault.trips == 1  # no flapping
    closing = [t for t in result.transitions if t["target"] == "breaker:dep" and t["time"] >= 3 * 3600]
    assert [(t["from"], t["to"]) for t in closing][-3:] == [("open" if not local_rule else "half_open", "ramp"),
                                                           ("ramp", "ramp"), ("ramp", "closed")]


def test_a_fallback_spends_almost_no_budget_and_without_one_the_outage_spends_it_all() -> None:
    with_fallback, _ = outage(True, False)
    without, _ = outage(False, False)
    # 300 failed requests before the trip, 26 failed probes: 326 of the 25920 bad requests a month allows
    assert with_fallback.summary["bad"] == 326
    assert with_fallback.summary["budget_spent"]["checkout-availability"] == pytest.approx(326 / 25920, abs=1e-6)
    assert without.summary["bad"] == 326 + without.summary["refused"]


def test_counted_as_prometheus_counts_them_the_refusals_lock_the_service_out() -> None:
    """The self-sustained outage the in-process engine prevents: when refusals count against the SLO (a
    Prometheus source, no fallback), the burn never recovers and the breaker stays open after healing."""
    source = "source: {prometheus: {url: 'http://127.0.0.1:9'}}\n"
    result, fault = outage(False, False, source)
    assert fault.closed_at is None and result.summary["source"].startswith("prometheus")
    assert all(t["to"] != "ramp" for t in result.transitions)
    # with a fallback the same policy is safe: refused calls are good requests
    _, safe = outage(True, False, source)
    assert safe.as_json()["closed_after"] == 330.0
