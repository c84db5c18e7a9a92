"""The status page's data: budget over the period, SLO rows coloured by tier, breakers and switches with
their last reason; served read-only as HTML and JSON, and printed by `slokit status --url`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import requests
from click.testing import CliRunner
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import Mount

from slokit.cli import main
from slokit.demo.service import Gateway, Served, create_app, serve
from slokit.demo.story import SPEC
from slokit.runtime import Decisions, ManualClock, Metrics, Runtime
from slokit.spec import load
from slokit.status import BudgetCounter, StatusBoard, status_asgi

SPECS = load([str(SPEC)])
SLOS = SPECS.slos  # checkout availability and latency, 99%, 2h period: page on 1s+10s > 14.4x


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_700_000_000.0)


@pytest.fixture
def board(clock: ManualClock) -> StatusBoard:
    runtime = Runtime(SPECS.policy, SLOS, clock=clock, decisions=Decisions(Metrics()))
    return StatusBoard(runtime, SLOS, title="checkout")


def traffic(board: StatusBoard, clock: ManualClock, seconds: int, per_second: int, failing: float) -> None:
    """`per_second` /pay requests each second, `failing` of them 503s; the runtime evaluates every second."""
    listener = board.listener()
    for _ in range(seconds):
        for _ in range(10):  # spread over the second, a tenth at a time
            bad = round(per_second / 10 * failing)
            for i in range(per_second // 10):
                listener("/pay", "bad" if i < bad else "good", 0.01)
            clock.advance(0.1)
        board.runtime.evaluate()
        board.sample()


def test_budget_spent_is_the_burn_integrated_over_the_period() -> None:
    clock = ManualClock(0.0)
    budget = BudgetCounter(error_budget=0.01, period=7200, clock=clock)
    assert budget.remaining() == 1.0
    for _ in range(72):  # 72s at 10% errors: burn 10x for 1% of the period spends 10% of the budget
        budget.record(good=90, bad=10)
        clock.advance(1)
    assert budget.remaining() == pytest.approx(0.9)
    clock.advance(7200)  # a whole period later the burn has left the window
    assert budget.remaining() == 1.0


def test_a_page_level_burn_shows_as_page_with_the_open_breaker_and_its_reason(board: StatusBoard,
                                                                             clock: ManualClock) -> None:
    traffic(board, clock, seconds=20, per_second=100, failing=0.0)
    traffic(board, clock, seconds=12, per_second=100, failing=0.3)
    snap = board.snapshot()

    availability, latency = snap["slos"]
    assert (availability["id"], availability["objective"], availability["period"]) == (
        "checkout-availability", 99, "2h")
    assert availability["sli"] == "http /pay: 5xx and 429"
    assert latency["sli"] == "http /pay: slower than 300ms"
    assert availability["state"] == "page" and latency["state"] == "ok"
    burn = {w["window"]: (w["burn"], w["tier"]) for w in availability["windows"]}
    assert burn["1s"] == (pytest.approx(30.0), "page")  # 30% errors / 1% budget
    # 12m holds all 32s of traffic: 360 of 3200 requests failed, 11.25x: above the ticket factors only
    assert burn["12m"] == (pytest.approx(11.25, rel=0.02), "ticket")
    assert 0.9 < availability["budget_remaining"] < 1.0
    assert len(availability["history"]["time"]) == 32
    assert max(availability["history"]["burn"]["1s"]) == pytest.approx(30.0)

    [payments] = snap["breakers"]
    assert payments["state"] == "open"
    assert (payments["last"]["reason"], payments["last"]["slo"]) == ("policy", "checkout-availability")
    [recommendations] = snap["switches"]
    assert (recommendations["state"], recommendations["last"]["to"]) == ("off", "off")
    assert [t["target"] for t in snap["transitions"]] == ["switch:recommendations", "breaker:payments"]


def test_recovery_after_the_hold_time_closes_the_breaker(board: StatusBoard, clock: ManualClock) -> None:
    traffic(board, clock, seconds=12, per_second=100, failing=0.3)
    traffic(board, clock, seconds=10, per_second=100, failing=0.0)
    assert board.snapshot()["breakers"][0]["state"] == "open"  # burn low, but not yet for the 20s hold
    traffic(board, clock, seconds=20, per_second=100, failing=0.0)
    snap = board.snapshot()
    assert snap["breakers"][0]["state"] == "ramp"  # back gradually: 10% of the calls, then 50% (4s each)
    assert snap["breakers"][0]["last"]["reason"] == "policy_recovered"
    traffic(board, clock, seconds=10, per_second=100, failing=0.0)
    snap = board.snapshot()
    assert snap["breakers"][0]["state"] == "closed" and snap["breakers"][0]["last"]["reason"] == "ramp_done"
    assert snap["switches"][0]["state"] == "on"


@pytest.fixture
def served(board: StatusBoard) -> Iterator[Served]:
    registry = CollectorRegistry()
    server = serve(create_app(board.runtime, board, Gateway(), registry))
    try:
        yield server
    finally:
        server.stop()


def test_json_endpoint_serves_the_snapshot_read_only(board: StatusBoard, clock: ManualClock, served: Served) -> None:
    traffic(board, clock, seconds=12, per_second=100, failing=0.3)
    body = requests.get(served.url + "/slokit/status.json", timeout=5).json()
    assert body == json.loads(json.dumps(board.snapshot()))  # the clock stands still: the same snapshot
    assert body["breakers"][0]["state"] == "open"
    for method in ("POST", "PUT", "DELETE"):
        refused = requests.request(method, served.url + "/slokit/status.json", timeout=5)
        assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD"
    assert requests.get(served.url + "/slokit/nothing", timeout=5).status_code == 404
    redirect = requests.get(served.url + "/slokit", timeout=5, allow_redirects=False)
    assert (redirect.status_code, redirect.headers["Location"]) == (308, "/slokit/")


def test_html_page_shows_rows_badges_and_charts(board: StatusBoard, clock: ManualClock, served: Served) -> None:
    traffic(board, clock, seconds=12, per_second=100, failing=0.3)
    page = requests.get(served.url + "/slokit/", timeout=5)
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert '<tr class="slo" data-slo="checkout-availability" data-state="page">' in html
    assert '<tr class="breaker" data-breaker="payments" data-state="open">' in html
    assert '<span class="burn tier-page" data-window="1s">1s 30.0x</span>' in html
    assert html.count("<svg") == 4  # burn and budget charts for both SLOs
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing loaded from elsewhere


def asgi_request(app: Starlette, method: str, path: str) -> tuple[int, bytes]:
    """One request through the ASGI protocol, as a server would make it."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": [],
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1234)}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_status_page_mounts_in_a_starlette_app(board: StatusBoard, clock: ManualClock) -> None:
    traffic(board, clock, seconds=12, per_second=100, failing=0.3)
    app = Starlette(routes=[Mount("/slokit", app=status_asgi(board))])
    status, body = asgi_request(app, "GET", "/slokit/status.json")
    assert status == 200 and json.loads(body)["breakers"][0]["state"] == "open"
    status, body = asgi_request(app, "GET", "/slokit/")
    assert status == 200 and b'data-breaker="payments" data-state="open"' in body
    assert asgi_request(app, "POST", "/slokit/status.json")[0] == 405


def test_slokit_status_prints_the_tables_of_a_running_service(board: StatusBoard, clock: ManualClock,
                                                              served: Served) -> None:
    traffic(board, clock, seconds=12, per_second=100, failing=0.3)
    result = CliRunner().invoke(main, ["status", "--url", served.url + "/slokit/"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row = next(line for line in lines if line.startswith("checkout-availability"))
    assert "99%/2h" in row and "PAGE" in row and "1s 30.0x!!" in row
    breaker = next(line for line in lines if line.startswith("payments"))
    assert "open" in breaker and "closed -> open" in breaker and "policy, checkout-availability" in breaker
    assert any(line.startswith("recommendations") and " off " in line for line in lines)


def test_slokit_status_needs_exactly_one_source_and_says_when_it_cannot_read() -> None:
    assert CliRunner().invoke(main, ["status"]).exit_code == 2
    assert CliRunner().invoke(main, ["status", "--prometheus", "http://127.0.0.1:9"]).exit_code == 2  # no --spec
    result = CliRunner().invoke(main, ["status", "--url", "http://127.0.0.1:9/slokit/", "--timeout", "1"])
    assert result.exit_code == 3, result.output  # cannot tell: not an input error
    assert "cannot reach the service at http://127.0.0.1:9/slokit/status.json" in result.output


def test_slokit_status_refuses_json_that_is_not_a_status_page(served: Served) -> None:
    other_json = served.url + "/recommendations?as=.json"  # a JSON route that is not the status page
    result = CliRunner().invoke(main, ["status", "--url", other_json])
    assert result.exit_code == 3 and "is not a slokit status endpoint" in result.output


def test_budget_time_to_exhaustion_and_no_data_are_shown_honestly() -> None:
    from slokit.status.board import slo_row, time_to_exhaustion
    from slokit.status.terminal import render

    day = 86400
    assert time_to_exhaustion(0.75, 30 * day) == pytest.approx(90 * day)  # a quarter spent: 3 periods left
    assert time_to_exhaustion(-0.2, 30 * day) == 0  # spent
    assert time_to_exhaustion(1.0, 30 * day) == float("inf") and time_to_exhaustion(None, day) is None
    slo = load([str(SPEC)]).slos[0]
    rows = {"spent": slo_row(slo, {}, -0.5), "no data": slo_row(slo, None, None), "never": slo_row(slo, {}, 1.0)}
    text = render({"title": "t", "time": 0, "started": 0, "slos": list(rows.values()), "breakers": [],
                   "switches": [], "transitions": []})
    lines = text.splitlines()
    assert "no data" in lines[2] and "100.0%" not in lines[2]  # a dead SLI is never "within budget"
    assert "spent" in lines[1] and "never" in lines[3]
    assert json.loads(json.dumps(rows["never"]))["time_to_exhaustion"] == "never"
