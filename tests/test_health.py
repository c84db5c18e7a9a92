"""Health probes against real servers on loopback: warm-up, a dependency going down and back, hysteresis,
checks running at once within their deadline, probes sharing one run, and the runtime's state (breakers,
switches, a stale Prometheus source, a rejected reload) read into readiness."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from examples.service import create_app as example_app
from slokit.cli import main
from slokit.demo.service import Gateway, create_app, serve
from slokit.demo.story import SPEC
from slokit.health import Health, HealthMiddleware
from slokit.instrument import SLOMiddleware
from slokit.runtime import Decisions, ManualClock, Metrics, PolicyReloader, Runtime, parse_policy
from slokit.spec import load
from slokit.status import StatusBoard
from tests.conftest import EXAMPLES, ROOT
from tests.instrument_helpers import free_port, running
from tests.server_helpers import Dependency, uvicorn_serving


def connects(port: int) -> Callable[[], None]:
    """A check that the dependency on `port` accepts connections."""
    return lambda: socket.create_connection(("127.0.0.1", port), timeout=0.3).close()


def probe(url: str, path: str = "/readyz") -> tuple[int, dict[str, Any]]:
    response = requests.get(url + path, timeout=5)
    assert response.headers["content-type"] == "application/health+json"
    return response.status_code, response.json()


def shop(health: Health, registry: CollectorRegistry) -> Starlette:
    async def pay(request: Request) -> PlainTextResponse:
        return PlainTextResponse("paid")

    app = Starlette(routes=[Route("/pay", pay)])
    app.add_middleware(SLOMiddleware, service="shop", registry=registry)
    app.add_middleware(HealthMiddleware, health=health)  # outermost
    return app


def readiness(decisions: Decisions) -> list[tuple[str, str, str]]:
    return [(t.from_state, t.to_state, t.reason) for t in decisions.recent if t.target == "health:readiness"]


def test_warm_up_then_a_dependency_going_down_and_back(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    decisions = Decisions(Metrics(registry))
    health = Health(cache_for=0, rise=2, fall=3, decisions=decisions)  # every probe is a result
    caplog.set_level(logging.WARNING, "slokit.runtime")
    with Dependency() as db:
        health.check("db", connects(db.port), timeout=0.3)
        with uvicorn_serving(shop(health, registry)) as url:
            assert probe(url, "/livez") == (200, {"status": "pass"})  # alive, whatever the checks say
            code, body = probe(url)
            assert code == 503 and body["state"] == "starting"
            assert "db:responseTime (ConnectionRefusedError" in body["output"]

            db.up()  # warm-up ends with the first pass of every critical check
            assert probe(url) == (200, {"status": "pass", "ready": True, "state": "ready", "reason": "warmed_up",
                                        "output": "ready"})

            db.down()  # three failing results in a row before the pod leaves the load balancer
            answers = [probe(url) for _ in range(4)]
            assert [(c, b["state"], b["status"]) for c, b in answers] == [
                (200, "ready", "warn"), (200, "ready", "warn"), (503, "not_ready", "fail"), (503, "not_ready", "fail")]
            assert answers[0][1]["output"].startswith("ready; failing 1 of 3 results before not ready: db:")

            db.up()  # and two passing ones before it comes back
            answers = [probe(url) for _ in range(2)]
            assert [(c, b["state"]) for c, b in answers] == [(503, "not_ready"), (200, "ready")]
            assert answers[0][1]["output"] == "not ready; passing 1 of 2 results before ready"

            code, doc = probe(url, "/healthz")
            assert code == 200 and doc["checks"]["db:responseTime"][0]["status"] == "pass"
            assert requests.get(url + "/pay", timeout=5).text == "paid"

    assert readiness(decisions) == [("starting", "ready", "warmed_up"), ("ready", "not_ready", "failing"),
                                    ("not_ready", "ready", "recovered")]
    failing = next(t for t in decisions.recent if t.reason == "failing")
    assert failing.detail["results"] == 3 and "ConnectionRefusedError" in failing.detail["failing"]["db:responseTime"]
    sample = registry.get_sample_value
    assert sample("slokit_decision_transitions_total",
                  {"target": "health:readiness", "from_state": "ready", "to_state": "not_ready"}) == 1
    assert sample("slokit_health_ready") == 1 and sample("slokit_health_check_up", {"check": "db"}) == 1
    logged = [json.loads(r.getMessage().removeprefix("slokit decision ")) for r in caplog.records
              if "health:readiness" in r.getMessage()]
    assert [line["reason"] for line in logged] == ["warmed_up", "failing", "recovered"]
    # probes went past the SLO middleware: the only route it measured is /pay
    routes = {s.labels["route"] for m in registry.collect() for s in m.samples
              if s.name == "slokit_http_server_request_duration_seconds_count"}
    assert routes == {"/pay"}


def slow_every_other_time() -> Callable[[], Awaitable[None]]:
    delays = itertools.cycle([0.0, 0.5])  # 0.5s is over the check's 0.2s timeout

    async def check() -> None:
        await asyncio.sleep(next(delays))

    return check


def test_a_check_slow_every_other_time_does_not_bounce_readiness() -> None:
    """Hysteresis: with fall=3 a check that times out on every other probe keeps the pod ready; with
    rise=fall=1 the same check flips readiness on every probe."""
    for fall, rise, expected in ((3, 2, [200] * 8), (1, 1, [200, 503] * 4)):
        health = Health(cache_for=0, rise=rise, fall=fall)
        health.check("db", slow_every_other_time(), timeout=0.2)
        with uvicorn_serving(health.asgi()) as url:
            assert [probe(url)[0] for _ in range(8)] == expected
        assert len(readiness(health.decisions)) == (1 if fall == 3 else 8)


def test_checks_run_at_once_within_their_timeouts_and_a_hung_check_is_not_started_twice() -> None:
    runs: dict[str, int] = {}
    release = threading.Event()

    def sleeping(name: str) -> Callable[[], None]:
        def check() -> None:
            runs[name] = runs.get(name, 0) + 1
            time.sleep(0.4)
        return check

    async def sleeping_async() -> None:
        runs["c"] = runs.get("c", 0) + 1
        await asyncio.sleep(0.4)

    def hung() -> None:
        runs["hung"] = runs.get("hung", 0) + 1
        release.wait(10)

    health = Health(cache_for=0, deadline=0.8)
    health.check("a", sleeping("a"))
    health.check("b", sleeping("b"))
    health.check("c", sleeping_async)
    health.check("hung", hung, critical=False, timeout=0.2)
    with uvicorn_serving(health.asgi()) as url:
        start = time.monotonic()
        code, doc = probe(url, "/healthz")
        elapsed = time.monotonic() - start
        assert elapsed < 0.9, elapsed  # one after the other would take 1.2s + 0.2s
        assert code == 200 and doc["status"] == "warn"
        assert [doc["checks"][f"{n}:responseTime"][0]["status"] for n in "abc"] == ["pass"] * 3
        assert all(0.39 < doc["checks"][f"{n}:responseTime"][0]["observedValue"] < 0.8 for n in "abc")
        assert doc["checks"]["hung:responseTime"][0]["output"] == "timed out after 0.2s"

        code, doc = probe(url, "/healthz")  # the hung run still goes on: it is not started again
        assert doc["checks"]["hung:responseTime"][0]["output"].startswith("still running from an earlier probe")
        assert runs["hung"] == 1 and runs["a"] == 2

        release.set()
        time.sleep(0.2)
        code, doc = probe(url, "/healthz")
        assert runs["hung"] == 2 and doc["status"] == "pass"

    # a check's timeout is capped by the deadline
    async def forever() -> None:
        await asyncio.sleep(30)

    capped = Health(cache_for=0, deadline=0.3)
    capped.check("slow", forever, timeout=30)
    with uvicorn_serving(capped.asgi()) as url:
        start = time.monotonic()
        code, body = probe(url)
        assert time.monotonic() - start < 1.0 and code == 503
        assert body["output"] == "starting: waiting for slow:responseTime (timed out after 0.3s)"


def test_concurrent_probes_share_one_run_of_the_checks() -> None:
    runs = 0

    def db() -> None:
        nonlocal runs
        runs += 1
        time.sleep(0.5)

    health = Health(cache_for=0)  # no cache: only the run in flight is shared
    health.check("db", db)
    with uvicorn_serving(health.asgi()) as url, ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda _: requests.get(url + "/readyz", timeout=5).status_code, range(20)))
    assert codes == [200] * 20
    assert runs <= 2  # one run (two if a request came in after the first had finished)

    cached = Health(cache_for=60)
    cached.check("db", db)
    runs = 0
    assert [cached.result().code for _ in range(5)] == [200] * 5 and runs == 1


def test_probe_paths_methods_and_standalone_app() -> None:
    health = Health()
    with uvicorn_serving(health.asgi()) as url:
        assert requests.head(url + "/readyz", timeout=5).content == b""
        refused = requests.post(url + "/readyz", timeout=5)
        assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
        assert requests.get(url + "/elsewhere", timeout=5).status_code == 404
        assert probe(url, "/healthz") == (200, {"status": "pass", "ready": True, "state": "ready",
                                                "reason": "warmed_up", "output": "ready", "checks": {},
                                                "time": pytest.approx(time.time(), abs=60),
                                                "since": pytest.approx(time.time(), abs=60)})
    with pytest.raises(ValueError, match="without ':'"):
        health.check("db:primary", lambda: None)


# -- the runtime's state ---------------------------------------------------------------------------------

SLOS = load([str(EXAMPLES / "checkout.yml")]).slos
POLICY = """\
version: slokit/policy/v1
rules:
  - name: protect
    slo: checkout-availability
    when: {severity: page}
    if_unknown: active
    open_breakers: [payments]
  - name: shed
    slo: checkout-latency
    when: {burn_above: 6, windows: [30m, 6h]}
    if_unknown: inactive
    disable_switches: [recommendations]
source:
  prometheus: {url: "http://127.0.0.1:PORT", stale_after: 60s, timeout: 1s}
"""


class _EmptyVector(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "success", "data": {"resultType": "vector", "result": []}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def components(health: Health) -> dict[str, tuple[str, str]]:
    report = health.result()
    return {c.key: (c.status, c.output) for c in report.components}


def test_a_stale_source_is_reported_per_rule_and_breakers_held_open_degrade_but_stay_ready() -> None:
    prometheus = ThreadingHTTPServer(("127.0.0.1", 0), _EmptyVector)
    threading.Thread(target=prometheus.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        clock = ManualClock(1_700_000_000.0)
        policy = parse_policy("policy.yml", POLICY.replace("PORT", str(prometheus.server_address[1])), SLOS)
        runtime = Runtime(policy, SLOS, clock=clock, environ={})
        runtime.evaluate()  # no answer yet: each rule in its if_unknown state
        health = Health(runtime, cache_for=0, rise=1, fall=1)
        no_fallback = Health(runtime, cache_for=0, unready_when_open=["payments"], decisions=Decisions())
        fresh_only = Health(runtime, cache_for=0, unready_when_stale=True, decisions=Decisions())

        seen = components(health)
        assert seen["payments:state"] == ("warn", "open: held open by the policy; its fallback serves")
        assert seen["recommendations:state"] == ("pass", "")  # if_unknown: inactive runs normally
        assert seen["source:age"] == ("warn", "no answer yet; rules in their if_unknown state: protect active, "
                                              "shed inactive")
        assert seen["policy:rules"] == ("pass", "")
        report = health.last()
        assert report is not None and (report.code, report.status) == (200, "warn")
        stale = next(c for c in report.components if c.key == "source:age")
        assert stale.as_json()["if_unknown"] == {"protect": "active", "shed": "inactive"}

        # configured otherwise: payments has no fallback; the source must be fresh
        report = no_fallback.result()
        assert report.code == 503 and report.output == ("starting: waiting for payments:state (open: held open by "
                                                        "the policy; the service cannot serve its calls)")
        report = fresh_only.result()
        assert report.code == 503 and report.output.startswith("starting: waiting for source:age (no answer yet")

        assert runtime.source.poll()  # type: ignore[attr-defined]  # Prometheus answers: fresh again
        runtime.evaluate()
        assert components(health)["source:age"] == ("pass", "")
        assert fresh_only.result().code == 200

        clock.advance(61)  # no poll for longer than stale_after
        assert components(health)["source:age"][1].startswith("no answer for 61s (stale after 60s)")
        assert [fresh_only.result().code for _ in range(3)] == [200, 200, 503]  # fall=3: the third in a row
    finally:
        prometheus.shutdown()
        prometheus.server_close()


def test_the_policy_must_be_loaded_and_a_rejected_reload_degrades(tmp_path: Path) -> None:
    health = Health(needs_policy=True, cache_for=0)
    assert health.result().output == "starting: waiting for policy:rules (no policy loaded yet)"
    policy = tmp_path / "policy.yml"
    policy.write_text((EXAMPLES / "policy.yml").read_text())
    runtime = Runtime.load([str(EXAMPLES / "checkout.yml")], str(policy), environ={})
    reloader = PolicyReloader(str(policy), SLOS, runtime)
    health.runtime, health.reloader = runtime, reloader  # loaded after the app started serving
    assert health.result().state == "ready"

    policy.write_text("version: slokit/policy/v1\nrules:\n  - name: x\n    slo: nope\n")
    assert not reloader.check()
    report = health.result()
    assert report.code == 200 and report.status == "warn"
    assert "policy:rules (last reload rejected, the running policy stays: " in report.output
    assert report.output.endswith("policy.yml:3: rules[0].when: is required (and 3 more))")


# -- where the probes are mounted ----------------------------------------------------------------------------

def test_the_demo_serves_the_probes_and_its_status_page_shows_them() -> None:
    spec = load([str(SPEC)])
    registry = CollectorRegistry()
    runtime = Runtime(spec.policy, spec.slos, clock=ManualClock(1_700_000_000.0),
                      decisions=Decisions(Metrics(registry)))
    board = StatusBoard(runtime, spec.slos)
    served = serve(create_app(runtime, board, Gateway(), registry))
    try:
        assert board.snapshot()["health"]["output"] == "not probed yet"
        assert probe(served.url)[0] == 200
        runtime.breaker("payments").policy_open(slo="checkout-availability", burn={"1s": 50.0}, threshold=14.4)
        board.health.cache_for = 0  # type: ignore[union-attr]
        code, body = probe(served.url)
        assert code == 200 and body["status"] == "warn"
        assert "payments:state (open: held open by the policy; its fallback serves)" in body["output"]
        status = requests.get(served.url + "/slokit/status.json", timeout=5).json()
        assert status["health"]["checks"]["payments:state"][0]["status"] == "warn"
        page = requests.get(served.url + "/slokit/", timeout=5).text
        assert 'class="readiness" data-state="ready" data-status="warn"' in page
        assert 'data-component="payments:state" data-status="warn"' in page
        metrics = requests.get(served.url + "/metrics", timeout=5).text
        assert "slokit_health_ready 1.0" in metrics and 'route="/readyz"' not in metrics
        console = CliRunner().invoke(main, ["status", "--url", served.url + "/slokit/"])
        assert console.exit_code == 0, console.output
        lines = console.output.splitlines()
        assert any(line.startswith("readiness") and "ready (warn)" in line for line in lines)
        assert any(line.startswith("payments:state") and "warn" in line and "open: held open by the policy" in line
                   for line in lines)
    finally:
        served.stop()


def test_the_example_service_reports_its_gateway_down_as_degraded_not_unready() -> None:
    health = Health(cache_for=0)
    with uvicorn_serving(example_app(registry=CollectorRegistry(), health=health)) as url:
        assert probe(url) == (200, {"status": "pass", "ready": True, "state": "ready", "reason": "warmed_up",
                                    "output": "ready"})
        requests.post(url + "/admin/gateway", params={"failure_ratio": 1}, timeout=5).raise_for_status()
        code, doc = probe(url, "/healthz")
        assert code == 200 and doc["status"] == "warn"
        assert doc["checks"]["gateway:responseTime"][0] == {
            "componentType": "check", "status": "warn", "critical": False, "observedUnit": "s",
            "output": "GatewayError: gateway unavailable", "observedValue": pytest.approx(0, abs=0.1)}


# -- WSGI under gunicorn -------------------------------------------------------------------------------------

WSGI_APP = """\
import os
import socket

from flask import Flask

from slokit.health import Health, HealthWSGIMiddleware
from slokit.instrument import SLOWSGIMiddleware

PORT = int(os.environ["DB_PORT"])
app = Flask("shop")
health = Health(cache_for=0, rise=2, fall=2)


@health.check("db", timeout=0.3)
def db():
    socket.create_connection(("127.0.0.1", PORT), timeout=0.3).close()


@app.get("/orders/<int:order>")
def order(order):
    return {"order": order}


app.wsgi_app = HealthWSGIMiddleware(SLOWSGIMiddleware(app.wsgi_app, "shop"), health)
"""


def test_wsgi_probes_under_gunicorn_warm_up_fall_and_rise(tmp_path: Path) -> None:
    (tmp_path / "shopapp.py").write_text(WSGI_APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with Dependency() as db:
        env = {**os.environ, "DB_PORT": str(db.port), "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
        # one worker (readiness is per process), threads so probes can overlap
        command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "--bind",
                   f"127.0.0.1:{port}", "shopapp:app"]
        with running(command, url + "/livez", "gunicorn", env=env, cwd=tmp_path):
            assert probe(url)[1]["state"] == "starting"
            db.up()
            assert probe(url)[0] == 200
            db.down()
            assert [probe(url)[0] for _ in range(3)] == [200, 503, 503]
            db.up()
            assert [probe(url)[0] for _ in range(2)] == [503, 200]
            code, doc = probe(url, "/healthz")
            assert code == 200 and doc["checks"]["db:responseTime"][0]["status"] == "pass"
            assert requests.head(url + "/healthz", timeout=5).content == b""
            assert requests.delete(url + "/readyz", timeout=5).status_code == 405
            assert requests.get(url + "/orders/7", timeout=5).json() == {"order": 7}
