"""`slokit serve` against a real Prometheus evaluating the generated rules over the instrumented example
service (25% of /pay failing), seen through its JSON API and in real headless Chromium; then Prometheus
answering garbage, answering slowly, and stopped.

One stack for the module (service, Prometheus, the console), because Prometheus needs a few rule
evaluations before it has figures: the tests run in file order and the last one stops Prometheus. The
console reads Prometheus through a forwarding FaultServer, so a test can make its answers bad.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from slokit.generate.files import generate
from slokit.serve import Auth, Console, ConsoleApp, Prometheus, serve_in_thread
from slokit.spec.loader import load
from tests import fault_server as faults
from tests.conftest import ROOT, require
from tests.instrument_helpers import all_rules, free_port, stop, wait_until
from tests.test_demo_browser import Rows, chromium

ARTIFACTS = ROOT / "test-artifacts"
FAILURE_RATIO = 0.25
SPEC = """\
version: slokit/v1
service: checkout
period: 1d
labels: {team: payments}
slos:
  - name: availability
    objective: 99
    description: "Payments succeed. <script>document.title='owned'</script>"
    sli: {http: {route: /pay}}
    alerting: {name: CheckoutAvailability}
  - name: latency
    objective: 99
    sli: {http: {route: /pay, latency: 300ms}}
    alerting: {name: CheckoutLatency}
  - name: routes
    objective: 95
    group_by: [route]
    sli: {http: {}}
    alerting: {name: CheckoutRoutes}
"""


@dataclass
class Stack:
    service: str
    prometheus: str
    proxy: faults.FaultServer
    console: str
    prom_proc: subprocess.Popen[bytes]


def _traffic(url: str, done: threading.Event) -> None:
    with requests.Session() as session:
        while not done.is_set():
            try:
                session.post(url + "/pay", timeout=2)
                session.get(url + "/orders/7", timeout=2)
            except requests.RequestException:
                pass
            done.wait(0.01)


def api(url: str, path: str = "/api/slos") -> Any:
    answer = requests.get(url + path, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    body = requests.get(prometheus + "/api/v1/query", params={"query": expr}, timeout=5).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("serve")
    spec = tmp / "spec.yml"
    spec.write_text(SPEC)
    files, _ = generate(load([str(spec)]))
    (tmp / "rules.yml").write_text(all_rules(files))
    service = f"http://127.0.0.1:{free_port()}"
    svc = subprocess.Popen([sys.executable, "-m", "examples.service", "--port", service.rsplit(":", 1)[1]],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    prometheus = f"http://127.0.0.1:{free_port()}"
    (tmp / "prometheus.yml").write_text(f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [rules.yml]
scrape_configs:
  - job_name: slokit
    static_configs: [{{targets: ["{service.removeprefix('http://')}"]}}]
""")
    prom = subprocess.Popen([require("prometheus"), f"--config.file={tmp / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp / 'data'}",
                             f"--web.listen-address={prometheus.removeprefix('http://')}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done = threading.Event()
    proxy = faults.FaultServer(upstream=prometheus)
    server = None
    try:
        wait_until(lambda: requests.get(service + "/orders/1", timeout=1).ok, 30, "example service", svc)
        wait_until(lambda: requests.get(prometheus + "/-/ready", timeout=1).ok, 30, "prometheus", prom)
        requests.post(service + "/admin/gateway", params={"failure_ratio": FAILURE_RATIO}, timeout=5)
        threading.Thread(target=_traffic, args=(service, done), daemon=True).start()
        console = Console(load([str(spec)]).slos, Prometheus(proxy.url, timeout=2.0), ttl=1.0)
        server, _ = serve_in_thread(ConsoleApp(console, Auth()))
        url = f"http://127.0.0.1:{server.server_address[1]}"
        # figures in every window of the page tier, and the page alert firing (the alert divides the 2m
        # rates itself; the recorded 2m ratio the console reads is one rule group later); the no-data
        # alerts pend in the first seconds, before two scrapes make a rate: past that too
        budgets = "slo:period_error_budget_remaining:ratio"
        long_window = 'slo:sli_error:ratio_rate2m{slo_name="availability",slo_service="checkout"} > (14.4 * 0.01)'
        wait_until(lambda: (len(query(prometheus, 'ALERTS{alertname="CheckoutAvailability",alertstate="firing"}'))
                            and len(query(prometheus, long_window))
                            and {r["metric"]["slo_name"] for r in query(prometheus, budgets)} == {
                                "availability", "latency", "routes"}
                            and not query(prometheus, 'ALERTS{alertname=~".+NoData"}')), 60,
                   "every SLO's budget and a firing page alert")
        yield Stack(service, prometheus, proxy, url, prom)
    finally:
        done.set()
        if server is not None:
            server.shutdown()
        proxy.close()
        stop(prom)
        stop(svc)


def test_the_list_shows_each_slos_numbers_as_prometheus_has_them(stack: Stack) -> None:
    def read() -> tuple[dict[str, Any], dict[str, float]]:
        budget = {r["metric"]["slo_name"]: float(r["value"][1])
                  for r in query(stack.prometheus, "slo:period_error_budget_remaining:ratio")}
        return api(stack.console), budget

    def agree() -> bool:  # the budget is recorded once per tile: one may land between the two reads
        listing, budget = read()
        rows = {r["id"]: r for r in listing["slos"]}
        # /pay's 5x burn tickets once its longer windows have read the failures (until then the route with
        # no data yet, /admin/gateway, is the worst group)
        pay = [g for g in rows["checkout-routes"]["groups"] if g["labels"] == {"route": "/pay"}]
        return bool(rows["checkout-availability"]["budget_remaining"] == pytest.approx(budget["availability"], rel=0.1)
                    and pay and pay[0]["state"] == "ticket")

    wait_until(agree, 10, "the listed budget as Prometheus has it")
    listing, _ = read()
    assert listing["error"] is None and listing["age"] < 5
    rows = {r["id"]: r for r in listing["slos"]}
    assert [r["id"] for r in listing["slos"]][0] == "checkout-availability"  # worst first: it pages

    availability = rows["checkout-availability"]
    assert availability["budget_remaining"] < 0  # 25% errors on a 1% budget: overspent within seconds
    assert availability["time_to_exhaustion"] == 0
    [ratio] = query(stack.prometheus, 'slo:sli_error:ratio_rate10s{slo_name="availability"}')
    burn = {w["window"]: w["burn"] for w in availability["windows"]}
    assert burn["10s"] == pytest.approx(float(ratio["value"][1]) / 0.01, rel=0.15)
    assert burn["10s"] == pytest.approx(25, abs=5)
    assert availability["state"] == "page" and availability["burning"]
    assert {"name": "CheckoutAvailability", "state": "firing", "severity": "page", "group": "", "labels": {}} in \
        availability["alerts"]
    [period] = query(stack.prometheus, 'slo:sli_error:ratio_rate1d{slo_name="availability"}')
    assert availability["sli_period"] == pytest.approx((1 - float(period["value"][1])) * 100, abs=1)

    latency = rows["checkout-latency"]
    assert latency["state"] == "ok" and latency["budget_remaining"] == pytest.approx(1.0, abs=0.01)
    assert latency["alerts"] == [] and not latency["burning"]

    routes = rows["checkout-routes"]
    groups = {g["labels"]["route"]: g for g in routes["groups"]}
    assert routes["group_count"] == len(groups) and {"/pay", "/orders/{id}"} <= set(groups)
    assert groups["/orders/{id}"]["state"] == "ok"
    assert groups["/pay"]["windows"][0]["burn"] == pytest.approx(5, abs=1.5)  # 25% of a 5% budget
    assert routes["budget_remaining"] == groups["/pay"]["budget_remaining"]  # the row is the worst group

    team = api(stack.console, "/api/slos?team=payments&burning=1")["slos"]
    assert {r["id"] for r in team} == {"checkout-availability", "checkout-routes"}


def test_the_detail_api_has_the_history_and_the_alerts_as_promql(stack: Stack) -> None:
    # the range ends on the last whole second: a budget recorded within it shows on the next read (ttl 1s)
    wait_until(lambda: any(s["budget"] and s["sli"] for s in api(stack.console, "/api/slos/checkout-availability")[
        "history"]["series"]), 10, "the budget and the SLI in the history")
    detail = api(stack.console, "/api/slos/checkout-availability")
    assert detail["slo"]["id"] == "checkout-availability" and detail["history_error"] is None
    history = detail["history"]
    assert history["end"] - history["start"] == 86400 and history["window"] == "12m"
    [line] = history["series"]
    assert line["budget"] and line["budget"][-1][1] < 0 and line["sli"]
    page = next(r for r in detail["alert_rules"] if r["severity"] == "page")
    assert 'slo:sli_error:ratio_rate10s{slo_name="availability",slo_service="checkout"} > (14.4 * 0.01)' \
        in page["promql"]
    assert page["link"].startswith(stack.proxy.url + "/graph?g0.expr=")
    # the PromQL the page shows is what Prometheus runs: it finds the firing condition
    assert query(stack.prometheus, page["promql"])
    assert requests.get(stack.console + "/api/slos/nope", timeout=5).status_code == 404


def test_a_browser_shows_the_list_and_the_detail_charts(stack: Stack) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    rows = Rows()
    rows.feed(chromium(stack.console + "/", "--window-size=1280,900", "--dump-dom"))
    state, text = rows.row("slo", "checkout-availability")
    assert state == "page"
    assert "<script>document.title='owned'</script>" in text  # shown as text, never run
    assert "page 10s" in text and "vs 14.4x" in text and "firing" in text
    assert rows.row("slo", "checkout-latency")[0] == "ok"
    assert "99% 1d" in rows.row("slo", "checkout-latency")[1]
    chromium(stack.console + "/", "--window-size=1280,900", f"--screenshot={ARTIFACTS / 'serve-list.png'}")
    assert (ARTIFACTS / "serve-list.png").stat().st_size > 10_000

    dom = chromium(stack.console + "/slo/checkout-availability", "--window-size=1280,900", "--dump-dom")
    assert '<svg class="chart" data-chart="budget"' in dom and '<svg class="chart" data-chart="sli"' in dom
    assert 'class="axis x"' in dom and "objective 99%" in dom and "UTC" in dom
    # drawn data, not an empty frame: a line, or a dot for the one step a young Prometheus has so far
    assert '<path class="line" d="M' in dom or '<circle class="dot"' in dom
    assert "&lt;script&gt;" in dom and "<script>" not in dom
    chromium(stack.console + "/slo/checkout-routes", "--window-size=1280,1400",
             f"--screenshot={ARTIFACTS / 'serve-detail.png'}")
    assert (ARTIFACTS / "serve-detail.png").stat().st_size > 10_000


@pytest.mark.parametrize("fault", ["garbage", "slow", "http_500"])
def test_a_bad_prometheus_answer_keeps_the_last_good_data_with_a_banner(stack: Stack, fault: str) -> None:
    good = api(stack.console)
    assert good["error"] is None
    stack.proxy.default = {"garbage": faults.GARBAGE, "slow": faults.slow(5), "http_500": faults.status(500)}[fault]
    try:
        time.sleep(1.1)  # the cached answer expires
        started = time.monotonic()
        bad = api(stack.console)
        assert time.monotonic() - started < 3.5  # the 2s deadline, not the 5s the slow answer takes
        assert bad["error"].startswith(f"Prometheus at {stack.proxy.url} could not be read")
        assert [r["id"] for r in bad["slos"]] == [r["id"] for r in good["slos"]]
        assert bad["slos"][0]["budget_remaining"] == good["slos"][0]["budget_remaining"]
        assert bad["age"] >= 1
        page = requests.get(stack.console + "/", timeout=10)
        assert page.status_code == 200 and 'id="banner"' in page.text and "Showing the last good data" in page.text
        assert "Traceback" not in page.text
    finally:
        stack.proxy.default = faults.forward()
    wait_until(lambda: api(stack.console)["error"] is None, 10, "the console reading Prometheus again")


def test_with_prometheus_stopped_the_pages_say_so_and_keep_the_last_data(stack: Stack) -> None:
    good = api(stack.console)
    detail = requests.get(stack.console + "/slo/checkout-availability", timeout=10)
    assert 'id="banner"' not in detail.text
    stop(stack.prom_proc)
    time.sleep(1.1)
    bad = api(stack.console)
    assert "connection" in bad["error"] and bad["slos"][0]["id"] == good["slos"][0]["id"]
    assert math.isclose(bad["slos"][0]["budget_remaining"], good["slos"][0]["budget_remaining"])
    ARTIFACTS.mkdir(exist_ok=True)
    rows = Rows()
    rows.feed(chromium(stack.console + "/", "--window-size=1280,900", "--dump-dom"))
    assert rows.row("slo", "checkout-availability")[0] == "page"  # the last good state, still listed
    dom = chromium(stack.console + "/slo/checkout-availability", "--dump-dom")
    assert "Prometheus is not answering." in dom and "Showing the last good data, read" in dom
    assert 'data-chart="budget"' in dom  # the charts of the last good history stay
    chromium(stack.console + "/", "--window-size=1280,900", f"--screenshot={ARTIFACTS / 'serve-prometheus-down.png'}")


def test_the_runtimes_decisions_are_marks_on_the_slos_charts(tmp_path: Path) -> None:
    """`slokit demo --serve` exports its breaker and switch transitions; a Prometheus scraping it lets the
    console mark them on the charts of the SLO whose policy rule acts on them."""
    demo_spec = ROOT / "slokit" / "demo" / "demo.yml"
    files, _ = generate(load([str(demo_spec)]))
    port = free_port()
    demo = subprocess.Popen([sys.executable, "-m", "slokit", "demo", "--speed", "3", "--port", str(port), "--serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    server = None
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1).ok, 15, "slokit demo", demo)
        from tests.instrument_helpers import prometheus_scraping

        with prometheus_scraping(require("prometheus"), tmp_path, all_rules(files),
                                 f"127.0.0.1:{port}") as prom:
            opened = 'slokit_decision_transitions_total{target="breaker:payments",to_state="open"}'
            wait_until(lambda: bool(query(prom, opened)), 60, "the breaker's opening scraped by Prometheus")
            spec = load([str(demo_spec)])
            console = Console(spec.slos, Prometheus(prom, timeout=3), ttl=1, policy=spec.policy)
            assert console.targets(spec.slos[0]) == ("breaker:payments", "switch:recommendations")
            server, _ = serve_in_thread(ConsoleApp(console))
            url = f"http://127.0.0.1:{server.server_address[1]}"

            def moves() -> set[tuple[str, str, str]]:
                detail = api(url, "/api/slos/checkout-availability")
                return {(m["target"], m["from"], m["to"]) for m in detail["history"]["transitions"]}

            wanted = {("breaker:payments", "closed", "open"), ("switch:recommendations", "on", "off")}
            wait_until(lambda: wanted <= moves(), 20, "the console's history with the transitions")
            page = requests.get(url + "/slo/checkout-availability", timeout=10).text
            assert page.count('<line class="transition"') >= 2 * len(wanted)  # on both charts
            assert "breaker:payments: closed → open" in page and "the runtime's decisions" in page
            ARTIFACTS.mkdir(exist_ok=True)
            chromium(url + "/slo/checkout-availability", "--window-size=1280,900",
                     f"--screenshot={ARTIFACTS / 'serve-decisions.png'}")
            latency = api(url, "/api/slos/checkout-latency")  # no policy rule on it: no marks
            assert latency["history"]["transitions"] == []
    finally:
        if server is not None:
            server.shutdown()
        stop(demo)
