"""End to end: the example service with the middleware, scraped by a real Prometheus running the rules
slokit generates. The injected error ratio must come back out of the recorded SLI series, and the page
alert must fire. A 1d period scales the page windows to 10s and 2m, so this takes well under a minute."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from slokit.generate.files import generate
from slokit.spec.loader import load
from tests.conftest import ROOT, require
from tests.instrument_helpers import all_rules, free_port, prometheus_scraping, running

FAILURE_RATIO = 0.25  # the gateway fails every 4th /pay call
SPEC = """\
version: slokit/v1
service: checkout
period: 1d
slos:
  - name: availability
    objective: 99
    sli:
      http: {route: /pay}
    alerting:
      name: CheckoutAvailability
  - name: latency
    objective: 99
    sli:
      http: {route: /pay, latency: 300ms}
    alerting:
      name: CheckoutLatency
"""


@pytest.fixture
def service() -> Iterator[str]:
    url = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "examples.service", "--port", url.rsplit(":", 1)[1]]
    with running(command, url + "/orders/1", "example service", cwd=ROOT):
        yield url


@pytest.fixture
def prometheus(service: str, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "spec.yml").write_text(SPEC)
    files, _ = generate(load([str(tmp_path / "spec.yml")]))
    with prometheus_scraping(require("prometheus"), tmp_path, all_rules(files),
                             service.removeprefix("http://")) as url:
        yield url


class Traffic:
    """Steady /pay traffic from a background thread, stopped by the test (and after 90s whatever happens)."""

    def __init__(self, url: str) -> None:
        self.url, self.sent = url, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + 90
        with requests.Session() as session:
            while not self._stop.is_set() and time.monotonic() < deadline:
                session.post(self.url + "/pay", timeout=2)
                self.sent += 1
                self._stop.wait(0.01)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def query(prometheus: str, promql: str) -> dict[str, float]:
    """Instant query: {slo_name: value}."""
    body = requests.get(prometheus + "/api/v1/query", params={"query": promql}, timeout=5).json()
    assert body["status"] == "success", body
    return {r["metric"].get("slo_name", ""): float(r["value"][1]) for r in body["data"]["result"]}


def firing(prometheus: str) -> set[tuple[str, str]]:
    alerts = requests.get(prometheus + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return {(a["labels"]["alertname"], a["labels"]["slo_severity"]) for a in alerts if a["state"] == "firing"}


def test_injected_error_ratio_is_recorded_and_pages(service: str, prometheus: str) -> None:
    requests.post(service + "/admin/gateway", params={"failure_ratio": FAILURE_RATIO}, timeout=5).raise_for_status()
    ratios: dict[str, dict[str, float]] = {}
    alerts: set[tuple[str, str]] = set()
    with Traffic(service) as traffic:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(1)
            ratios = {w: query(prometheus, f"slo:sli_error:ratio_rate{w}") for w in ("10s", "1m", "2m")}
            alerts = firing(prometheus)
            # each SLO is its own rule group, evaluated at its own offset: wait for both to have read traffic
            settled = all(abs(ratios[w].get("availability", -1) - FAILURE_RATIO) < 0.03 and "latency" in ratios[w]
                          for w in ("10s", "1m", "2m"))
            if settled and ("CheckoutAvailability", "page") in alerts and traffic.sent > 500:
                break

    for window in ("10s", "1m", "2m"):
        assert ratios[window]["availability"] == pytest.approx(FAILURE_RATIO, abs=0.03), (window, ratios)
        # every /pay call is fast: the latency SLI reads the 0.3 bucket and finds no slow requests
        assert ratios[window]["latency"] == pytest.approx(0.0, abs=0.01), (window, ratios)
    assert ("CheckoutAvailability", "page") in alerts
    assert ("CheckoutLatency", "page") not in alerts
