"""`slokit serve` without a real Prometheus: what the console asks, how it escapes, who it lets in.

The Prometheus here is a local server answering one fixed vector (tests/fault_server.py) and recording
what it was asked, so a test can say exactly which query a page load sends; the numbers against a real
Prometheus are tests/test_serve_prometheus.py's.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from click.testing import CliRunner

from slokit import names
from slokit.cli import main
from slokit.serve import Auth, Console, ConsoleApp, Prometheus, serve_in_thread
from slokit.spec.loader import load
from tests import fault_server as faults

SPEC = """\
version: slokit/v1
service: "shop"
period: 1d
labels: {team: "core & <i>ops</i>"}
slos:
  - name: checkout
    objective: 99
    description: "<script>alert('x')</script> \\"quoted\\""
    sli: {http: {route: "/pay\\"}) or vector(1"}}
    alerting: {name: ShopCheckout}
  - name: search
    objective: 99.9
    sli: {http: {route: /search}}
"""


def vector(*series: tuple[dict[str, str], str]) -> faults.Fault:
    return faults.json({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": m, "value": [1.0, v]} for m, v in series]}})


def ratio(slo: str, window: str, value: str) -> tuple[dict[str, str], str]:
    return ({"__name__": names.sli_record(window), names.SERVICE: "shop", names.NAME: slo}, value)


ANSWER = vector(ratio("checkout", "10s", "0.2"), ratio("checkout", "2m", "0.2"),
                ({"__name__": names.BUDGET_REMAINING, names.SERVICE: "shop", names.NAME: "checkout"}, "-0.5"),
                ({"__name__": names.ALERTS, names.SERVICE: "shop", names.NAME: "checkout",
                  names.ALERT_NAME: "ShopCheckout", names.ALERT_STATE: "firing", names.SEVERITY: "page"}, "1"),
                ratio("search", "10s", "NaN"),
                ({"__name__": names.BUDGET_REMAINING, names.SERVICE: "shop", names.NAME: "other"}, "0.1"))


@pytest.fixture
def spec(write_spec: Any) -> Path:
    path: Path = write_spec(SPEC)
    return path


@pytest.fixture
def prometheus() -> Iterator[faults.FaultServer]:
    with faults.FaultServer(default=ANSWER) as server:
        yield server


def serving(spec: Path, prometheus: faults.FaultServer, auth: Auth | None = None, ttl: float = 60) -> str:
    console = Console(load([str(spec)]).slos, Prometheus(prometheus.url, timeout=2), ttl=ttl)
    server, _ = serve_in_thread(ConsoleApp(console, auth))
    serving.servers.append(server)  # type: ignore[attr-defined]
    return f"http://127.0.0.1:{server.server_address[1]}"


serving.servers = []  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    while serving.servers:  # type: ignore[attr-defined]
        serving.servers.pop().shutdown()  # type: ignore[attr-defined]


def queries_sent(prometheus: faults.FaultServer) -> list[str]:
    return [parse_qs(urlsplit(s.path).query)["query"][0] for s in prometheus.requests("GET")]


def test_a_page_load_is_one_query_for_every_slo_and_answers_are_cached(spec: Path,
                                                                        prometheus: faults.FaultServer) -> None:
    url = serving(spec, prometheus)
    for _ in range(3):
        assert requests.get(url + "/", timeout=5).status_code == 200
        assert requests.get(url + "/api/slos", timeout=5).status_code == 200
    [sent] = queries_sent(prometheus)  # one batched query, reused within the ttl
    assert sent == ('{__name__=~"slo:sli_error:ratio_rate.+|ALERTS|slo:period_error_budget_remaining:ratio", '
                    'slo_service=~"shop"}')
    rows = requests.get(url + "/api/slos", timeout=5).json()["slos"]
    assert [r["name"] for r in rows] == ["checkout", "search"]  # the other SLO of the service is not listed
    checkout, search = rows
    assert checkout["state"] == "page" and checkout["budget_remaining"] == -0.5
    burn = {w["window"]: w["burn"] for w in checkout["windows"]}
    assert burn["10s"] == burn["2m"] == 20.0 and burn["1m"] == 0.0  # a window without a figure is not burning
    assert checkout["alerts"] == [{"name": "ShopCheckout", "state": "firing", "severity": "page", "group": "",
                                                      "labels": {}}]
    assert search["state"] == "unknown" and search["budget_remaining"] is None  # NaN: no traffic, no figure


def test_every_spec_string_is_escaped_and_no_page_can_run_a_script(spec: Path,
                                                                   prometheus: faults.FaultServer) -> None:
    url = serving(spec, prometheus)
    for path in ("/", "/slo/shop-checkout", "/?team=core+%26+%3Ci%3Eops%3C%2Fi%3E"):
        page = requests.get(url + path, timeout=5)
        assert page.status_code == 200, path
        assert "<script>" not in page.text and "<i>ops" not in page.text
        assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none': no script runs
    detail = requests.get(url + "/slo/shop-checkout", timeout=5).text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &quot;quoted&quot;" in detail
    assert "shop / checkout" in detail
    listing = requests.get(url + "/?team=core+%26+%3Ci%3Eops%3C%2Fi%3E", timeout=5).text
    assert 'data-slo="shop-checkout"' in listing and "2 of 2 SLOs" in listing


def test_ids_and_filters_are_looked_up_never_sent_to_prometheus(spec: Path, prometheus: faults.FaultServer) -> None:
    url = serving(spec, prometheus)
    evil = '"}) or vector(1) or up{x="'
    assert requests.get(url + "/api/slos/" + evil, timeout=5).status_code == 404
    assert requests.get(url + "/slo/" + evil, timeout=5).status_code == 404
    assert requests.get(url + "/api/slos", params={"service": evil, "sort": evil}, timeout=5).json()["slos"] == []
    assert requests.get(url + "/api/slos/shop-checkout", timeout=5).status_code == 200
    assert all(evil not in q for q in queries_sent(prometheus))
    # the spec's own strings reach PromQL escaped: the route with a quote stays inside its string
    detail = requests.get(url + "/api/slos/shop-checkout", timeout=5).json()
    [history] = [q for q in queries_sent(prometheus) if "slo_name" in q]
    assert history == ('{__name__=~"slo:period_error_budget_remaining:ratio|slo:sli_error:ratio_rate12m",'
                       'slo_name="checkout",slo_service="shop"}')
    assert 'slo_service="shop"' in detail["alert_rules"][0]["promql"]


def test_only_get_and_head_and_unknown_paths_are_json_errors(spec: Path, prometheus: faults.FaultServer) -> None:
    url = serving(spec, prometheus)
    assert requests.post(url + "/api/slos", timeout=5).status_code == 405
    assert requests.head(url + "/", timeout=5).status_code == 200
    missing = requests.get(url + "/nothing", timeout=5)
    assert missing.status_code == 404 and "error" in missing.json()


def test_a_token_or_a_password_is_required_when_set_and_never_shown(spec: Path, prometheus: faults.FaultServer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url = serving(spec, prometheus, Auth.from_env({"SLOKIT_SERVE_TOKEN": "s3cret-token"}))
    denied = requests.get(url + "/api/slos", timeout=5)
    assert denied.status_code == 401 and denied.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(url + "/", headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    ok = requests.get(url + "/", headers={"Authorization": "Bearer s3cret-token"}, timeout=5)
    assert ok.status_code == 200 and "s3cret" not in ok.text
    assert requests.get(url + "/-/healthy", timeout=5).status_code == 200  # probes need no secret

    basic = Auth.from_env({"SLOKIT_SERVE_USER": "ops", "SLOKIT_SERVE_PASSWORD": "pa:ss"})
    assert "pa:ss" not in repr(basic) and "s3cret" not in repr(Auth(token="s3cret"))
    url = serving(spec, prometheus, basic)
    assert requests.get(url + "/", auth=("ops", "pa:ss"), timeout=5).status_code == 200
    assert requests.get(url + "/", auth=("ops", "nope"), timeout=5).status_code == 401
    garbled = {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe").decode()}
    assert requests.get(url + "/", headers=garbled, timeout=5).status_code == 401

    monkeypatch.setenv("SLOKIT_SERVE_USER", "ops")  # a user without a password is a mistake, said at start
    result = CliRunner().invoke(main, ["serve", str(spec), "--prometheus", prometheus.url])
    assert result.exit_code == 2 and "SLOKIT_SERVE_PASSWORD" in result.output


def test_prometheus_never_read_still_lists_every_slo_with_a_banner(spec: Path) -> None:
    with faults.FaultServer(default=faults.hang(10)) as hanging:
        url = serving(spec, hanging)
        page = requests.get(url + "/", timeout=10)
    assert page.status_code == 200
    assert "No data has been read from it yet." in page.text and "timeout" in page.text
    assert len(re.findall(r'<tr class="slo"', page.text)) == 2


def test_the_command_reads_a_policy_file_for_the_charts_marks(tmp_path: Path,
                                                                prometheus: faults.FaultServer) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.instrument_helpers import free_port, stop, wait_until

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "slokit", "serve", "examples/checkout.yml", "--prometheus",
                             prometheus.url, "--port", str(port), "--policy", "examples/policy.yml"], cwd=ROOT,
                            env=os.environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(url + "/-/healthy", timeout=1).ok, 15, "slokit serve", proc)
        prometheus.script = [ANSWER, faults.json({"status": "success", "data": {"resultType": "matrix", "result": []}})]
        page = requests.get(url + "/slo/checkout-availability", timeout=5)  # the list's query, then the history's
        assert page.status_code == 200 and 'id="banner"' not in page.text
    finally:
        stop(proc)
    [history] = [q for q in queries_sent(prometheus) if "slokit_decision_transitions_total" in q]
    assert history.endswith('slokit_decision_transitions_total{target=~"breaker:payments|switch:recommendations"}')


def test_the_command_needs_specs_and_a_prometheus_url(spec: Path) -> None:
    assert CliRunner().invoke(main, ["serve", str(spec)]).exit_code == 2
    bad = CliRunner().invoke(main, ["serve", str(spec), "--prometheus", "ftp://x"])
    assert bad.exit_code == 2 and "http://" in bad.output


def test_a_transition_counter_becomes_a_mark_at_each_step_it_went_up() -> None:
    from slokit.promapi import Series
    from slokit.serve.console import transitions

    labels = {"__name__": names.DECISION_TRANSITIONS, "target": "breaker:payments", "from_state": "closed",
              "to_state": "open"}
    # created at its first transition (t=200: counts from 0), twice more at t=400, a restart (reset) at t=600
    series = Series(labels, ((200.0, 1.0), (300.0, 1.0), (400.0, 3.0), (500.0, 3.0), (600.0, 1.0)))
    assert [(m["time"], m["count"]) for m in transitions(series, since=150.0)] == [(200, 1), (400, 2), (600, 1)]
    assert transitions(series, since=100.0 + 200)[0]["time"] == 400  # there before the range: not a new transition
    assert transitions(series, since=150.0)[0] == {"time": 200.0, "target": "breaker:payments", "from": "closed",
                                                   "to": "open", "count": 1}


def test_a_ratio_no_rule_writes_makes_its_slo_unknown_not_a_figure(spec: Path) -> None:
    from slokit.promapi import Sample

    console = Console(load([str(spec)]).slos, Prometheus("http://127.0.0.1:1"), ttl=60)
    answer = [Sample(labels, float(value)) for labels, value in (ratio("checkout", "10s", "-0.5"),
                                                                 ratio("checkout", "2m", "0.2"))]
    checkout = next(r for r in console.rows(answer) if r["name"] == "checkout")
    assert checkout["state"] == "unknown" and checkout["invalid"] == ["10s: -0.5"]
    assert all(w["burn"] is None for w in checkout["windows"])


def test_the_command_serves_the_console_and_sends_prometheus_its_credentials(spec: Path, tmp_path: Path,
                                                                             prometheus: faults.FaultServer) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.instrument_helpers import free_port, output, stop, wait_until

    port = free_port()
    env = {**os.environ, "PROM_AUTH": "Bearer prom-s3cret", "SLOKIT_SERVE_TOKEN": "page-s3cret"}
    proc = subprocess.Popen([sys.executable, "-m", "slokit", "serve", str(spec), "--prometheus", prometheus.url,
                             "--port", str(port), "--prometheus-auth-env", "PROM_AUTH"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(url + "/-/healthy", timeout=1).ok, 15, "slokit serve", proc)
        answer = requests.get(url + "/api/slos", headers={"Authorization": "Bearer page-s3cret"}, timeout=5)
        assert answer.status_code == 200 and [r["name"] for r in answer.json()["slos"]] == ["checkout", "search"]
        assert {s.headers.get("Authorization") for s in prometheus.requests("GET")} == {"Bearer prom-s3cret"}
    finally:
        stop(proc)
    told = output(proc)
    assert "2 SLOs from " + prometheus.url in told and "auth required" in told
    assert "s3cret" not in told


def test_firing_alerts_say_whether_alertmanager_silenced_them(spec: Path, prometheus: faults.FaultServer,
                                                               tmp_path: Path) -> None:
    import shutil
    import subprocess
    from datetime import UTC, datetime, timedelta

    from slokit.serve import Alertmanager
    from tests.instrument_helpers import free_port, http_ok, stop, wait_until

    binary = shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
    assert binary, "Alertmanager not installed (bash scripts/test.sh installs prometheus-alertmanager)"
    (tmp_path / "am.yml").write_text("route: {receiver: blackhole}\nreceivers: [{name: blackhole}]\n")
    am = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen([binary, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am'}",
                             f"--web.listen-address={am.removeprefix('http://')}", "--cluster.listen-address="],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(http_ok(am + "/-/ready"), 20, "Alertmanager ready", proc)
        now = datetime.now(UTC)
        labels = {"alertname": "ShopCheckout", "slo_service": "shop", "slo_name": "checkout", "slo_severity": "page"}
        requests.post(am + "/api/v2/alerts", json=[{"labels": labels, "startsAt": now.isoformat(),
                                                    "endsAt": (now + timedelta(hours=1)).isoformat()}],
                      timeout=5).raise_for_status()
        requests.post(am + "/api/v2/silences", json={
            "matchers": [{"name": "alertname", "value": "ShopCheckout", "isRegex": False, "isEqual": True}],
            "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat(),
            "createdBy": "test", "comment": "failover"}, timeout=5).raise_for_status()
        console = Console(load([str(spec)]).slos, Prometheus(prometheus.url, timeout=2), ttl=0.2,
                          alertmanager=Alertmanager(am, timeout=2))
        server, _ = serve_in_thread(ConsoleApp(console))
        serving.servers.append(server)  # type: ignore[attr-defined]
        url = f"http://127.0.0.1:{server.server_address[1]}"

        def checkout_alert() -> dict[str, Any]:
            listing = requests.get(url + "/api/slos", timeout=5).json()
            [alert] = next(r for r in listing["slos"] if r["name"] == "checkout")["alerts"]
            return alert

        wait_until(lambda: checkout_alert()["alertmanager"] == "silenced", 10, "the alert seen as silenced")
        page = requests.get(url + "/", timeout=5).text
        assert 'data-alertmanager="silenced"' in page and "page firing · silenced" in page
        detail = requests.get(url + "/slo/shop-checkout", timeout=5).text
        assert f'href="{am}/#/alerts?filter=' in detail
    finally:
        stop(proc)
    wait_until(lambda: checkout_alert()["alertmanager"] == "silenced" and bool(
        requests.get(url + "/api/slos", timeout=5).json()["notes"]), 10, "Alertmanager gone: a note, the last state")
    assert "Alertmanager" in requests.get(url + "/api/slos", timeout=5).json()["notes"][0]
