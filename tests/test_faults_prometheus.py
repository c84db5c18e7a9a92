"""Every Prometheus client (the runtime source, `slokit gate`, `slokit status`) against a faulty server.

Each fault of tests/fault_server.py, one at a time: the runtime source counts it under its reason and
holds; the gate and status exit 3 (cannot decide) with a message, never a traceback, within the
timeout (a drip or a hang is cut at the deadline), and never print or log the password in the URL.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from slokit import names
from slokit.cli import main
from slokit.runtime import Decisions, PrometheusSource, SourceConfig
from slokit.spec.loader import load
from tests import fault_server as faults
from tests.fault_server import Fault, FaultServer
from tests.test_runtime_prometheus import SPEC  # shop-availability, an events SLI

PASSWORD = "s3cret-pw"
TIMEOUT = 0.5


def vector(*series: object) -> Fault:
    return faults.json({"status": "success", "data": {"resultType": "vector", "result": list(series)}})


def ratio(window: str, value: str) -> dict[str, object]:
    return {"metric": {"__name__": names.SLI_RECORD + window, names.SERVICE: "shop", names.NAME: "availability",
                       names.WINDOW: window}, "value": [1, value]}


FAULTS: dict[str, Fault] = {
    **faults.every_fault(),
    "redirect_off_host": faults.close(),  # replaced by a redirect to the other host (its URL: a fixture)
    "matrix": faults.json({"status": "success", "data": {"resultType": "matrix", "result": []}}),
    "no_labels": vector({"value": [1, "0.1"]}),
    "not_a_number": vector({"metric": {}, "value": [1, "lots"]}),
    "query_error": faults.json({"status": "error", "error": "\x1b[2Jbad query"}),
}
REASON = {"http_500": "http_status", "drip": "timeout", "drip_headers": "timeout", "hang": "timeout",
          "close": "connection", "short_body": "connection", "redirect_off_host": "http_status",
          "query_error": "query_error"}  # every other fault: garbage


def fault(name: str, elsewhere: FaultServer) -> Fault:
    return faults.redirect(elsewhere.url + "/api/v1/query") if name == "redirect_off_host" else FAULTS[name]


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[FaultServer]:
    with FaultServer(host="127.0.0.2") as server:
        yield server


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


def with_password(url: str) -> str:
    return url.replace("http://", f"http://admin:{PASSWORD}@")


@pytest.fixture
def spec_file(write_spec):
    return write_spec(SPEC)


@pytest.mark.parametrize("name", FAULTS)
def test_the_runtime_source_counts_each_fault_and_holds(name, server, elsewhere, spec_file, caplog):
    reason = REASON.get(name, "garbage")
    server.default = fault(name, elsewhere)
    decisions = Decisions()
    source = PrometheusSource(SourceConfig(with_password(server.url), timeout=TIMEOUT), load([str(spec_file)]).slos,
                              decisions=decisions)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="slokit"):
        assert not source.poll()
    assert time.monotonic() - started < TIMEOUT + 1.0
    assert decisions.metrics.registry.get_sample_value(names.SOURCE_ERRORS, {"reason": reason}) == 1
    assert caplog.records and PASSWORD not in caplog.text and "\x1b" not in caplog.text
    assert elsewhere.seen == []


@pytest.mark.parametrize("name", FAULTS)
def test_the_gate_cannot_decide_on_any_fault(name, server, elsewhere, spec_file):
    server.default = fault(name, elsewhere)
    started = time.monotonic()
    result = CliRunner().invoke(main, ["gate", str(spec_file), "--prometheus", with_password(server.url),
                                       "--timeout", str(TIMEOUT)])
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)  # an exit, not a traceback
    assert time.monotonic() - started < 3 * (TIMEOUT + 0.5)  # three queries: budget and two burn windows
    assert "gate UNDECIDED" in result.output and "source cannot answer: http://127.0.0.1:" in result.output
    assert PASSWORD not in result.output and "\x1b" not in result.output


@pytest.mark.parametrize("name", FAULTS)
def test_status_cannot_read_on_any_fault(name, server, elsewhere, spec_file):
    server.default = fault(name, elsewhere)
    result = CliRunner().invoke(main, ["status", "--prometheus", with_password(server.url), "-s", str(spec_file),
                                       "--timeout", str(TIMEOUT)])
    assert result.exit_code == (2 if name.startswith("redirect") else 3), result.output  # 2: fix the URL
    assert isinstance(result.exception, SystemExit)
    assert result.output.startswith("error: cannot read http://127.0.0.1:")
    assert PASSWORD not in result.output and "\x1b" not in result.output


def status_json(server: FaultServer, spec_file) -> dict[str, object]:
    result = CliRunner().invoke(main, ["status", "--prometheus", server.url, "-s", str(spec_file), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # strict: no NaN or Infinity in what slokit prints


def test_status_skips_series_without_a_name_and_shows_nan_as_no_data(server, spec_file):
    nameless = ratio("5m", "0.5")
    del nameless["metric"]["__name__"]  # type: ignore[attr-defined]
    server.script = [vector(nameless, ratio("1h", "NaN"), ratio("30m", "0.002")),  # the ratios
                     vector({"metric": {}, "value": [1, "NaN"]}),  # budget remaining: no traffic
                     vector({"metric": {"breaker": "pay\x1b[31m"}, "value": [1, "NaN"]},
                            {"metric": {"breaker": "db"}, "value": [1, "+Inf"]}),
                     vector({"metric": {"switch": "recs"}, "value": [1, "NaN"]})]
    snapshot = status_json(server, spec_file)
    [row] = snapshot["slos"]  # type: ignore[misc]
    burn = {w["window"]: w["burn"] for w in row["windows"]}
    assert burn["30m"] == 2.0 and burn["5m"] == 0.0 and burn["1h"] == 0.0
    assert row["budget_remaining"] is None
    assert {b["name"]: b["state"] for b in snapshot["breakers"]} == {"db": "?", "pay\x1b[31m": "?"}  # type: ignore
    assert snapshot["switches"] == [{"name": "recs", "state": "?", "last": None}]


def test_status_refuses_an_infinite_or_negative_error_ratio(server, spec_file):
    for value in ("+Inf", "-5"):
        server.script = [vector(ratio("5m", value))]
        result = CliRunner().invoke(main, ["status", "--prometheus", server.url, "-s", str(spec_file)])
        assert result.exit_code == 3, result.output
        assert f"shop-availability has an error ratio of {float(value):g} over 5m" in result.output


def test_status_tables_show_a_services_odd_names_and_fields_without_obeying_them(server):
    server.default = faults.json({"slos": [{"id": "x\x1b]0;owned\x07", "objective": "high", "windows": "all",
                                            "budget_remaining": "full"}, "junk"],
                                  "breakers": [{"name": "b\x1b[2J", "state": 3, "last": {"time": "soon"}}],
                                  "switches": ["?"], "started": None})
    result = CliRunner().invoke(main, ["status", "--url", server.url])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "x?]0;owned?" in result.output and "b?[2J" in result.output


@pytest.mark.parametrize("value", ["-5000", "+Inf", "-Inf"])
def test_the_runtime_source_refuses_negative_and_infinite_ratios(value, server, spec_file):
    server.default = vector(ratio("5m", value))
    decisions = Decisions()
    source = PrometheusSource(SourceConfig(server.url, timeout=TIMEOUT), load([str(spec_file)]).slos,
                              decisions=decisions)
    assert not source.poll() and source.burn_rates(("shop", "availability")) is None
    assert decisions.metrics.registry.get_sample_value(names.SOURCE_ERRORS, {"reason": "garbage"}) == 1
    server.default = vector(ratio("5m", "0.002"), ratio("1h", "NaN"))
    assert source.poll() and source.burn_rates(("shop", "availability")) == {300: 2.0}
