"""The status page marks every breaker and switch transition on the burn chart, so a reader sees when the
loop acted against how the burn moved."""

from __future__ import annotations

import re

from slokit.runtime import Decisions, ManualClock, Runtime, parse_policy
from slokit.spec.model import SLO, HttpSLI
from slokit.status import StatusBoard
from slokit.status.page import render

CHECKOUT = SLO("checkout", "availability", 99.0, 2 * 3600, HttpSLI("checkout", route="/pay"), None)
POLICY = """\
version: slokit/policy/v1
rules:
  - {name: protect, slo: checkout-availability, when: {severity: page}, recover: {hold: 5s},
     open_breakers: [payments], disable_switches: [recommendations]}
breakers:
  payments: {open_for: 2s, ramp: {steps: [50], every: 2s}}
switches:
  recommendations: {ramp: off}
"""
MARK = re.compile(r'<line class="transition" x1="([\d.]+)"[^>]*stroke="(#[0-9a-f]+)"[^>]*><title>([^<]*)</title>')


def test_every_transition_is_a_vertical_line_on_the_burn_chart_with_its_reason() -> None:
    clock = ManualClock(1000.0)
    runtime = Runtime(parse_policy("policy.yml", POLICY, [CHECKOUT]), [CHECKOUT], clock=clock,
                      decisions=Decisions(), environ={})
    board = StatusBoard(runtime, [CHECKOUT])
    listener, payments = board.listener(), runtime.breaker("payments")
    for second in range(60):  # ten seconds of errors from t+10s; the gateway answers every call it gets
        for _ in range(10):
            listener("/pay", "bad" if 10 <= second < 20 else "good", 0.01)
            if payments.allow():
                payments.record(True)
        runtime.evaluate()
        board.sample()
        clock.advance(1)
    moves = [(t.target, t.from_state, t.to_state, t.reason) for t in runtime.decisions.recent]
    assert moves == [
        ("breaker:payments", "closed", "open", "policy"), ("switch:recommendations", "on", "off", "policy"),
        ("breaker:payments", "open", "half_open", "open_timeout"),
        ("breaker:payments", "half_open", "open", "probes_passed"),
        ("breaker:payments", "open", "ramp", "policy_recovered"),
        ("switch:recommendations", "off", "on", "policy_recovered"),
        ("breaker:payments", "ramp", "closed", "ramp_done")]
    page = render(board.snapshot())
    marks = MARK.findall(page)
    assert [title.split(" ", 1)[1] for _, _, title in marks] == [
        f"{target}: {old} → {new} ({reason})" for target, old, new, reason in moves][::-1]  # newest first
    assert [colour for _, colour, _ in marks][::-1] == [
        "#9d1c13", "#9d1c13", "#b7791f", "#9d1c13", "#b7791f", "#13622e", "#13622e"]  # degraded, probing, back
    xs = [float(x) for x, _, _ in marks][::-1]
    assert xs == sorted(xs) and xs[0] < xs[-1]  # placed at their times along the chart
    assert "transitions as vertical lines" in page
