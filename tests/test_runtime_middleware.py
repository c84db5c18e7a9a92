"""The loop in a real ASGI app: slokit's middleware feeds the engine, the policy opens the breaker the
handler checks, and the recommendations switch turns off."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from slokit.instrument import SLOMiddleware
from slokit.runtime import ManualClock, Runtime, parse_policy
from slokit.spec.model import SLO, HttpSLI

SLOS = [SLO("checkout", "availability", 99.9, 30 * 86400, HttpSLI("checkout", route="/pay"), None)]
POLICY = """\
version: slokit/policy/v1
rules:
  - name: protect
    slo: checkout-availability
    when: {severity: page}
    open_breakers: [payments]
    disable_switches: [recommendations]
"""


def test_failing_payments_open_the_breaker_through_the_middleware() -> None:
    clock = ManualClock(1_700_000_000)
    runtime = Runtime(parse_policy("policy.yml", POLICY, SLOS), SLOS, clock=clock, environ={})
    gateway_up = True
    calls = 0

    async def pay(request: Request) -> JSONResponse:
        nonlocal calls
        payments = runtime.breaker("payments")
        if not payments.allow():
            return JSONResponse({"queued": True}, status_code=202)  # degraded, but an answer
        calls += 1
        payments.record(gateway_up)
        extras = {"recommendations": ["socks"]} if runtime.enabled("recommendations") else {}
        return JSONResponse({"paid": True, **extras}, status_code=200 if gateway_up else 502)

    app = SLOMiddleware(Starlette(routes=[Route("/pay", pay, methods=["POST"])]), "checkout",
                        registry=CollectorRegistry(), listener=runtime.listener("checkout"))
    async def traffic() -> None:
        nonlocal gateway_up
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://checkout") as client:
            for _ in range(50):
                assert (await client.post("/pay")).json() == {"paid": True, "recommendations": ["socks"]}
                clock.advance(1)
            gateway_up = False
            for _ in range(5):
                assert (await client.post("/pay")).status_code == 502
            runtime.evaluate()  # the background loop does this every 30s
            assert (await client.post("/pay")).json() == {"queued": True}

    asyncio.run(traffic())
    assert calls == 55 and not runtime.enabled("recommendations")
    (opened, off) = runtime.decisions.recent
    assert (opened.target, opened.to_state, opened.slo) == ("breaker:payments", "open", "checkout-availability")
    assert opened.burn["5m"] == opened.burn["1h"] == round(5 / 55 / 0.001, 6)
