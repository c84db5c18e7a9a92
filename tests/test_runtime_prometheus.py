"""The Prometheus source against a real `prometheus` on loopback running slokit's generated rules.

A tiny exporter serves counters with a fixed 1% error ratio; Prometheus scrapes it every second and
records `slo:sli_error:ratio_rate<window>`. The source talks to Prometheus through a fault-injecting
proxy on loopback, so one run shows: a real answer, garbage, a slow answer, a dead server, staleness
(the safe state) and recovery, each counted in `slokit_runtime_source_errors_total{reason}`.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from slokit import names
from slokit.generate.files import generate
from slokit.runtime import Decisions, Engine, ManualClock, PrometheusSource, Runtime, SourceConfig, parse_policy
from slokit.spec.loader import load
from tests.conftest import require
from tests.instrument_helpers import all_rules, free_port, prometheus_scraping, wait_until

SPEC = """\
version: slokit/v1
service: shop
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(shop_requests_total{code="500"}[{{.window}}]))
        total_query: sum(rate(shop_requests_total[{{.window}}]))
"""
POLICY = """\
version: slokit/policy/v1
rules:
  - name: protect
    slo: shop-availability
    when: {burn_above: 5, windows: [5m]}
    recover: {burn_below: 1, hold: 1m}
    if_unknown: inactive
    open_breakers: [payments]
"""
START = time.time()
SHOP = ("shop", "availability")


def serve(handler: type[BaseHTTPRequestHandler], port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def close(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


class Exporter(BaseHTTPRequestHandler):
    """990 good and 10 failed requests a second since the test started: a 1% error ratio (10x burn)."""

    def do_GET(self) -> None:
        t = time.time() - START
        body = (f'shop_requests_total{{code="200"}} {990 * t:.3f}\n'
                f'shop_requests_total{{code="500"}} {10 * t:.3f}\n').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Faults:
    """What the proxy does: forward to Prometheus, or answer garbage, or answer slowly."""

    upstream: str
    mode: str = "forward"
    seen_auth: list[str] = field(default_factory=list)


def proxy_handler(faults: Faults) -> type[BaseHTTPRequestHandler]:
    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            faults.seen_auth.append(self.headers.get("Authorization", ""))
            status, body = 200, b""
            if faults.mode == "forward":
                answer = requests.get(faults.upstream + self.path, timeout=5)
                status, body = answer.status_code, answer.content
            elif faults.mode == "garbage":
                body = b"<html>502 from some load balancer</html>"
            elif faults.mode == "wrong_shape":
                body = b'{"status": "success", "data": {"resultType": "matrix", "result": {}}}'
            elif faults.mode == "http_500":
                status, body = 500, b"internal error"
            elif faults.mode == "slow":
                time.sleep(1.5)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the slow answer's client gave up, as it should

        def log_message(self, *args: object) -> None:
            pass

    return Proxy


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("prometheus")
    (tmp / "spec.yml").write_text(SPEC)
    files, _ = generate(load([str(tmp / "spec.yml")]))
    exporter = serve(Exporter)
    try:
        with prometheus_scraping(require("prometheus"), tmp, all_rules(files),
                                 f"127.0.0.1:{exporter.server_port}") as url:
            query = {"query": "slo:sli_error:ratio_rate3d"}
            # The groups of a 30d SLO state their interval (1m: the step its event-weighted windows assume);
            # Prometheus starts each at an offset within that minute, so the first sample of the SLI group can
            # take up to 60s, and the scope's windows (the 1h and longer, from the SLI group's rates) as long again.
            wait_until(lambda: bool(requests.get(url + "/api/v1/query", params=query, timeout=2)
                                    .json()["data"]["result"]), 150, "recorded SLI series")
            yield url
    finally:
        close(exporter)


def load_slos():
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "spec.yml").write_text(SPEC)
        return load([str(Path(tmp) / "spec.yml")]).slos


def errors(decisions: Decisions, reason: str) -> float:
    return decisions.metrics.registry.get_sample_value(names.SOURCE_ERRORS, {"reason": reason}) or 0.0


def test_reads_the_recorded_burn_like_the_engine(prometheus: str) -> None:
    slos = load_slos()
    source = PrometheusSource(SourceConfig(prometheus, timeout=2), slos)
    assert source.poll()
    burn = source.burn_rates(SHOP)
    assert burn is not None and set(burn) >= {300, 1800, 3600, 21600, 3 * 86400}
    clock = ManualClock()
    engine = Engine.for_slos(slos, clock)
    for _ in range(600):  # the exporter's traffic, counted in-process
        engine.record(SHOP, good=990, bad=10)
        clock.advance(1)
    in_process = engine.burn_rates(SHOP)
    assert in_process is not None and in_process[300] == pytest.approx(10.0)
    assert burn[300] == pytest.approx(in_process[300], rel=0.02)
    assert burn[3600] == pytest.approx(in_process[3600], rel=0.02)


def test_faults_hold_the_last_answer_then_fall_back_to_the_safe_state(prometheus: str) -> None:
    slos = load_slos()
    faults = Faults(prometheus)
    port = free_port()
    proxy = serve(proxy_handler(faults), port)
    clock, decisions = ManualClock(), Decisions()
    config = SourceConfig(f"http://127.0.0.1:{port}", timeout=0.5, auth_header_env="SHOP_PROM_AUTH", stale_after=300)
    source = PrometheusSource(config, slos, clock, decisions, environ={"SHOP_PROM_AUTH": "Bearer t0ken"})
    runtime = Runtime(parse_policy("policy.yml", POLICY, slos), slos, source=source, clock=clock,
                      decisions=decisions)
    try:
        assert source.poll()
        runtime.evaluate()
        assert runtime.breaker("payments").state == "open"
        assert faults.seen_auth[-1] == "Bearer t0ken"
        held = source.burn_rates(SHOP)

        for mode, reason in (("garbage", "garbage"), ("wrong_shape", "garbage"), ("http_500", "http_status"),
                             ("slow", "timeout")):
            faults.mode = mode
            clock.advance(60)
            started = time.monotonic()
            assert not source.poll()  # no exception, whatever came back
            assert time.monotonic() - started < 1.4  # the timeout, not the server, decides how long we wait
            assert errors(decisions, reason) >= 1, mode
            assert source.burn_rates(SHOP) == held  # the last answer is held
            runtime.evaluate()
            assert runtime.breaker("payments").state == "open"  # no flapping while the answer is held

        close(proxy)  # the source is down
        clock.advance(60)
        assert not source.poll() and errors(decisions, "connection") == 1
        assert source.burn_rates(SHOP) == held
        clock.advance(61)  # 301s since the last answer: stale
        assert source.burn_rates(SHOP) is None
        runtime.evaluate()
        last = decisions.recent[-1]
        assert runtime.breaker("payments").state == "ramp"  # if_unknown: inactive, back gradually like any release
        assert (last.target, last.to_state, last.reason) == ("breaker:payments", "ramp", "source_lost")

        faults.mode = "forward"
        proxy = serve(proxy_handler(faults), port)  # back up
        assert source.poll()
        runtime.evaluate()
        assert runtime.breaker("payments").state == "open"
    finally:
        close(proxy)


def test_background_polling_starts_and_stops(prometheus: str) -> None:
    source = PrometheusSource(SourceConfig(prometheus, poll=0.2, timeout=2), load_slos())
    source.start()
    try:
        wait_until(lambda: source.age is not None, 10, "first poll")
    finally:
        source.stop()
    assert not source.running


def test_policy_with_a_prometheus_source_runs_the_loop_in_the_background(prometheus: str) -> None:
    slos = load_slos()
    policy = parse_policy("policy.yml", POLICY + f"""\
source:
  prometheus: {{url: "{prometheus}", poll: 200ms, timeout: 2s}}
evaluate_every: 200ms
""", slos)
    runtime = Runtime(policy, slos)
    assert runtime.engine is None and isinstance(runtime.source, PrometheusSource)
    runtime.start()
    try:
        wait_until(lambda: runtime.breaker("payments").state == "open", 10, "breaker opened by Prometheus' burn")
    finally:
        runtime.stop()
    assert not runtime.source.running
