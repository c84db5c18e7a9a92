"""Every query in the generated dashboards works against a real Prometheus running the generated rules.

A spec with a 1d period (alert windows 10s..2h24m) covers every SLI kind. A small exporter on loopback
serves the middleware's HTTP histogram (slokit.names) and the runtime's gauges; Prometheus
(Debian's package) scrapes it every second and evaluates the generated rules. Each template variable is
resolved through the label values API as Grafana would, then every panel and annotation expression runs
through /api/v1/query and must return data.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import promql_parser
import pytest
import requests
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from slokit import names
from slokit.generate import dashboards
from slokit.generate import files as generated
from slokit.spec import load
from tests.conftest import require
from tests.instrument_helpers import all_rules, free_port, http_ok, stop, wait_until

SPEC = """
version: slokit/v1
service: shop
period: 1d
slos:
  - name: availability
    objective: 99
    sli: {http: {route: /pay}}
    alerting: {name: ShopAvailability}
  - name: latency
    objective: 99
    sli: {http: {route: /pay, latency: 300ms}}
    alerting: {name: ShopLatency}
  - name: search-latency
    objective: 95
    sli:
      latency:
        histogram: slokit_http_server_request_duration_seconds
        threshold: 250ms
        matchers: {service: shop, route: /search}
  - name: search-errors
    objective: 99.5
    sli:
      events:
        error_query: >-
          sum(rate(slokit_http_server_request_duration_seconds_count{route="/search",outcome="bad"}[{{.window}}]))
        total_query: sum(rate(slokit_http_server_request_duration_seconds_count{route="/search"}[{{.window}}]))
  - name: raw
    objective: 99
    sli:
      raw:
        error_ratio_query: >-
          sum(rate(slokit_http_server_request_duration_seconds_count{outcome="bad"}[{{.window}}]))
          / sum(rate(slokit_http_server_request_duration_seconds_count[{{.window}}]))
"""
DEADLINE = 75.0  # seconds for every query to return data
RATE_INTERVAL = "10s"  # what Grafana's $__rate_interval is for a 1s scrape and a short time range


class App:
    """Traffic like an instrumented checkout: half of /pay fails and a third is slow; runtime gauges set."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http = Histogram(names.HTTP_SERVER_DURATION, "requests", names.HTTP_SERVER_LABELS,
                              buckets=names.BUCKETS, registry=self.registry)
        Gauge("slokit_breaker_state", "breaker", ["breaker"], registry=self.registry).labels("payments").set(1)
        Gauge("slokit_switch_enabled", "switch", ["switch"], registry=self.registry).labels("recommendations").set(0)
        self.transitions = Counter("slokit_decision_transitions", "transitions", ["target", "from_state", "to_state"],
                                   registry=self.registry)
        burn = Gauge("slokit_runtime_burn_rate", "burn", ["slo_service", "slo_name", "slo_window"],
                     registry=self.registry)
        burn.labels("shop", "availability", "10s").set(50)
        self.stop = threading.Event()

    def traffic(self) -> None:
        tick = 0
        while not self.stop.wait(0.2):
            tick += 1
            for i in range(6):
                bad = i % 2 == 0
                outcome, code = (names.BAD, "500") if bad else (names.GOOD, "200")
                self.http.labels("shop", "/pay", "POST", code, outcome).observe(0.5 if i % 3 == 0 else 0.05)
                self.http.labels("shop", "/search", "GET", "200", names.GOOD).observe(0.3 if i == 0 else 0.02)
            self.http.labels("shop", "/search", "GET", "503", names.BAD).observe(0.01)
            if tick % 5 == 0:
                self.transitions.labels("breaker:payments", "closed", "open").inc()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Prometheus on loopback with the generated rules, scraping the app; yields its URL and the dashboards' folder."""
    binary = require("prometheus")
    tmp = tmp_path_factory.mktemp("prom")
    spec_file = tmp / "shop.yml"
    spec_file.write_text(SPEC)
    files, _ = generated.generate(load([str(spec_file)]))
    (tmp / "rules.yml").write_text(all_rules(files))
    for name, text in files.items():
        if name.startswith("dashboards/"):
            (tmp / Path(name).name).write_text(text)

    app = App()
    app_port = free_port()
    server, _ = start_http_server(app_port, addr="127.0.0.1", registry=app.registry)
    feeder = threading.Thread(target=app.traffic, daemon=True)
    feeder.start()
    port = free_port()
    (tmp / "prometheus.yml").write_text(textwrap.dedent(f"""
        global: {{scrape_interval: 1s, evaluation_interval: 1s}}
        rule_files: [{tmp / 'rules.yml'}]
        scrape_configs:
          - job_name: app
            static_configs: [{{targets: ['127.0.0.1:{app_port}']}}]
    """))
    log = open(tmp / "prometheus.log", "w")
    proc = subprocess.Popen([binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(http_ok(f"{url}/-/ready"), 20, "prometheus", proc)
        yield url, tmp
    finally:
        stop(proc)
        log.close()
        app.stop.set()
        server.shutdown()
        log.close()


def label_values(url: str, definition: str) -> list[str]:
    """Grafana's `label_values(selector, label)` through Prometheus's label values API."""
    match = re.fullmatch(r"label_values\((.*), (\w+)\)", definition)
    assert match, definition
    selector, label = match.groups()
    answer = requests.get(f"{url}/api/v1/label/{label}/values", params={"match[]": selector}, timeout=5).json()
    return answer["data"]


def substitute(expr: str, values: dict[str, str]) -> str:
    expr = expr.replace("$__rate_interval", RATE_INTERVAL)
    return re.sub(r"\$(\w+)", lambda m: values[m.group(1)], expr)


def resolve_variables(url: str, dashboard: dict) -> dict[str, str]:
    """Each variable's value: a custom one's current value; a query's values as Grafana's All regex."""
    values: dict[str, str] = {}
    for var in dashboard["templating"]["list"]:
        if var["type"] == "custom":
            values[var["name"]] = var["current"]["value"]
        elif var["type"] == "query":
            found = label_values(url, substitute(var["definition"], values))
            if not found:
                return {}
            values[var["name"]] = "(" + "|".join(found) + ")"  # our names hold no regex metacharacters
    return values


def returns_data(url: str, expr: str) -> bool:
    answer = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", f"{expr}: {answer}"
    return bool(answer["data"]["result"])


def test_every_dashboard_query_returns_data_from_prometheus(prometheus):
    url, tmp = prometheus
    boards = [json.loads(p.read_text()) for p in sorted(tmp.glob("slokit-*.json"))]
    assert [b["uid"] for b in boards] == ["slokit-overview", "slokit-svc-shop"]
    deadline = time.monotonic() + DEADLINE
    while True:
        pending, checked = [], 0
        for board in boards:
            values = resolve_variables(url, board)
            if not values:
                pending.append(f"{board['uid']}: template variables still empty")
                continue
            for expr in dashboards.expressions(board):
                query = substitute(expr, values)
                promql_parser.parse(query)  # a parse error fails at once, with the parser's message
                checked += 1
                if not returns_data(url, query):
                    pending.append(f"{board['uid']}: {query}")
        if not pending:
            break
        assert time.monotonic() < deadline, f"no data after {DEADLINE}s for:\n" + "\n".join(pending)
        time.sleep(2)
    assert checked > 60  # every panel of both dashboards, not a handful


def test_page_alert_fires_and_is_counted_in_the_overview(prometheus):
    """The half-failing /pay traffic burns at 50x, above the page factor: the dashboards' alert panels see it."""
    url, _ = prometheus
    deadline = time.monotonic() + DEADLINE
    query = 'count by (slo_name) (ALERTS{alertstate="firing",slo_service="shop",slo_severity="page"})'
    while True:
        answer = requests.get(f"{url}/api/v1/query", params={"query": query}, timeout=5).json()
        firing = {r["metric"]["slo_name"] for r in answer["data"]["result"]}
        if "availability" in firing:
            break
        assert time.monotonic() < deadline, f"page alert never fired: {answer}"
        time.sleep(1)
