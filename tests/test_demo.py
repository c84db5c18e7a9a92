"""`slokit demo` tells the whole story: calm, fault, page-level burn, breaker open, switch off, fallback
serving, probes during the fault, fault ending, a ramped recovery after the hold time without flapping
(also with a fault much longer than the hold); and with --no-fault, nothing happens."""

from __future__ import annotations

import socket

import click
import pytest
from click.testing import CliRunner

from slokit.cli import main
from slokit.demo.story import run


def tell(**options: object) -> tuple[int, list[str]]:
    lines: list[str] = []
    status = run(echo=lambda line: lines.append(click.unstyle(line)), **options)  # type: ignore[arg-type]
    return status, lines


def first(lines: list[str], text: str) -> int:
    """Index of the first line containing `text` (fails the test if there is none)."""
    found = [i for i, line in enumerate(lines) if text in line]
    assert found, f"no line with {text!r} in:\n" + "\n".join(lines)
    return found[0]


def story_time(line: str) -> float:
    return float(line.split("t+", 1)[1].split("s]", 1)[0])


def test_the_story_happens_in_order_and_ends_recovered() -> None:
    status, lines = tell(speed=8)
    assert status == 0, "\n".join(lines)
    order = [first(lines, text) for text in (
        "FAULT: the payment gateway fails 30%",
        "PAGE-LEVEL BURN: checkout-availability",
        "breaker payments: closed -> open  (policy: checkout-availability burns",
        "switch recommendations: on -> off",
        "fallback serving: /pay answers 202",
        "FAULT ENDS",
        # (from open, or from half_open when the rule let go while a probe round ran)
        "-> ramp  (policy recovered: 1s 0.0x, 5s 0.0x < 1x for 20s and the probes passed; 10% of the calls)",
        "breaker payments: ramp -> ramp  (ramp; 50% of the calls)",
        "breaker payments: ramp -> closed  (ramp done: all the calls)",
        "done in",
    )]
    assert order == sorted(order), "\n".join(lines)
    switch = [first(lines, text) for text in ("switch recommendations: off -> ramp  (policy recovered",
                                              "switch recommendations: ramp -> ramp  (ramp; 50% of the users)",
                                              "switch recommendations: ramp -> on  (ramp done: all the users)")]
    assert order[5] < switch[0] < switch[1] < switch[2] < order[-1], "\n".join(lines)
    # the page tier reads 1s+10s (>14.4x) or 5s+1m (>6x): 30% errors page within seconds, not minutes
    assert story_time(lines[order[1]]) - story_time(lines[order[0]]) < 8
    # recovery waits for the hold: at least 20 story seconds after the breaker opened
    assert story_time(lines[order[6]]) - story_time(lines[order[2]]) >= 20
    assert len([line for line in lines if "-> open  (policy" in line]) == 1  # no flap
    progress = [line for line in lines if "| burn 1s" in line]
    assert len(progress) >= 15
    assert any("breaker open | recommendations OFF" in line for line in progress)
    assert "breaker closed | recommendations on" in progress[-1]
    summary = lines[order[-1]]
    assert "from the fallback" in summary and "budget remaining 9" in summary  # some budget spent, most left


def test_a_fault_longer_than_the_hold_is_probed_through_and_ramped_back_without_a_flap() -> None:
    status, lines = tell(speed=10, fault_for=90.0)
    assert status == 0, "\n".join(lines)
    fault, ends = first(lines, "FAULT: the payment gateway"), first(lines, "FAULT ENDS")
    assert story_time(lines[ends]) - story_time(lines[fault]) == pytest.approx(90, abs=1)
    during = lines[fault:ends]
    probes = [line for line in during if "breaker payments: half_open -> open  (" in line and "probes failed" in line]
    assert len(probes) >= 4, "\n".join(lines)  # probing all along the fault, less often as the probes fail
    assert "next probe in 10s" in probes[-1]
    assert not [line for line in during if "-> ramp" in line or "-> closed" in line]  # no traffic back meanwhile
    after = lines[ends:]
    steps = [first(after, text) for text in ("probes passed", "-> ramp  (policy recovered", "ramp -> closed")]
    assert steps == sorted(steps)
    assert len([line for line in lines if "-> open  (policy" in line]) == 1  # tripped once: no flap
    assert "FLAPPING" not in "\n".join(lines)


def test_no_fault_means_nothing_trips() -> None:
    status, lines = tell(speed=12, fault=False)
    assert status == 0, "\n".join(lines)
    assert not [line for line in lines if "FAULT" in line or "->" in line or "PAGE" in line]
    assert "0 failed, 0 from the fallback; 0 transition(s)" in lines[-1]
    assert "budget remaining 100.0%" in lines[-1]


@pytest.mark.parametrize("args", [["--speed", "0"], ["--speed", "100"], ["--port", "70000"], ["--fault", "10m"],
                                  ["--fault", "soon"]])
def test_demo_options_are_checked(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["demo", *args])
    assert result.exit_code == 2 and "Invalid value" in result.output


def test_a_taken_port_is_an_error_message_not_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["demo", "--port", str(port)])
    assert result.exit_code == 1 and f"Error: cannot serve on 127.0.0.1:{port}" in result.output
