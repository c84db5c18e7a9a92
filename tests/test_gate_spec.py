"""The `gate:` section, the statistics behind the canary check, and the generated delivery templates."""

from __future__ import annotations

import math
import sys

import pytest
import requests
import yaml

from slokit import gate
from slokit.generate.files import generate
from slokit.spec import SpecError, load
from slokit.spec.gate import Canary, Stop, effective
from tests.conftest import ROOT
from tests.instrument_helpers import free_port, running

SPEC = """\
version: slokit/v1
service: checkout
period: 30d
gate:
  budget: {min_remaining: 25%}
  canary: {window: 10m, min_requests: 200, tolerance: 0.1%}
  stop: {error_ratio: 0.5%, for: 2m}
slos:
  - name: availability
    objective: 99.9
    sli:
      http: {route: /pay}
  - name: latency
    objective: 99
    sli:
      http: {route: /pay, latency: 300ms}
    gate:
      burn: {max: 2, windows: [5m, 1h]}
"""


def test_a_gate_section_is_read_with_defaults_from_the_window_table(write_spec) -> None:
    slos = {s.name: s for s in load([str(write_spec(SPEC))]).slos}
    top = effective(slos["availability"])
    assert top.min_budget_remaining == 0.25
    assert (top.max_burn, top.burn_windows) == (14.4, (300, 3600))  # the first page tier of a 30d table
    assert top.canary == Canary(window=600, min_requests=200, tolerance=0.001)
    assert top.stop == Stop(0.005, 120)
    own = effective(slos["latency"])  # a per-SLO gate replaces the top-level one
    assert (own.max_burn, own.burn_windows, own.canary, own.min_budget_remaining) == (2.0, (300, 3600), None, 0.0)


def test_gate_mistakes_are_reported_with_file_line_and_field(write_spec) -> None:
    path = write_spec(SPEC.replace("min_requests: 200", "min_request: 200").replace("0.5%", "150%"))
    with pytest.raises(SpecError) as err:
        load([str(path)])
    text = str(err.value)
    assert f"{path}:6: gate.canary.min_request: unknown field (did you mean 'min_requests'?)" in text
    assert f"{path}:7: gate.stop.error_ratio: must be between 0 and 1" in text
    both = write_spec(SPEC.replace("    gate:\n      burn: {max: 2, windows: [5m, 1h]}\n", "").replace("0.5%", "150%"),
                      "both.yml")
    with pytest.raises(SpecError) as err:
        load([str(both)])
    assert str(err.value).count("gate.stop.error_ratio") == 1  # one top-level section, two SLOs: said once


def test_a_canary_needs_an_sli_slokit_can_split_by_version(write_spec) -> None:
    path = write_spec("""\
        version: slokit/v1
        service: search
        slos:
          - name: availability
            objective: 99
            sli:
              events:
                error_query: sum(rate(errors[{{.window}}]))
                total_query: sum(rate(requests[{{.window}}]))
            gate:
              canary: {label: version}
        """)
    with pytest.raises(SpecError, match=r"slos\[0\]\.gate\.canary: .*needs an http or latency SLI"):
        load([str(path)])


def test_fisher_exact_matches_hand_computed_values() -> None:
    # Fisher's tea-tasting table [[3, 1], [1, 3]]: one-sided p = 17/70
    assert gate.fisher_greater(3, 4, 1, 4) == pytest.approx(17 / 70)
    # 3 of 100 canary requests bad, 0 of 1000 baseline: p = C(100,3) / C(1100,3)
    assert gate.fisher_greater(3, 100, 0, 1000) == pytest.approx(100 * 99 * 98 / (1100 * 1099 * 1098))
    assert gate.fisher_greater(0, 100, 5, 1000) == 1.0  # a canary with no errors is never worse
    assert gate.fisher_greater(0, 0, 0, 0) == 1.0


def test_fisher_handles_rare_errors_where_a_z_test_would_not() -> None:
    # 1 bad in 500 canary requests vs 1 in 100,000: the two-proportion z-test's normal approximation calls
    # this a near-certain regression; the exact one-sided p is ~0.01, the weaker and correct signal
    bad_a, n_a, bad_b, n_b = 1, 500, 1, 100_000
    pooled = (bad_a + bad_b) / (n_a + n_b)
    z = (bad_a / n_a - bad_b / n_b) / math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    p_z = 0.5 * math.erfc(z / math.sqrt(2))
    p = gate.fisher_greater(bad_a, n_a, bad_b, n_b)
    assert p == pytest.approx(1 - (1 - 500 / 100_500) ** 2, rel=0.01)  # 1 - P(no bad among the canary's)
    assert p_z < 1e-10
    assert p > 0.005


def test_a_verdict_is_never_pass_when_a_check_cannot_tell() -> None:
    ok = gate.Check("a", "burn", gate.PASS, "", "q")
    unsure = gate.Check("a", "canary", gate.UNDECIDED, "", "q")
    bad = gate.Check("a", "stop", gate.FAIL, "", "q")
    assert gate.verdict([ok]) == gate.PASS
    assert gate.verdict([ok, unsure]) == gate.UNDECIDED
    assert gate.verdict([ok, unsure, bad]) == gate.FAIL
    assert gate.verdict([]) == gate.UNDECIDED  # no check at all is no evidence
    assert gate.Report(gate.verdict([ok, unsure]), [ok, unsure]).exit_code == 3  # never 0 unless it passed


def test_generate_writes_argo_and_flagger_templates_from_the_spec(write_spec) -> None:
    files, _ = generate(load([str(write_spec(SPEC))]))
    argo = yaml.safe_load(files["delivery/checkout.analysistemplate.yml"])
    assert argo["kind"] == "AnalysisTemplate"
    metrics = {m["name"]: m for m in argo["spec"]["metrics"]}
    availability = metrics["availability-error-ratio"]
    assert 'version="{{args.canary-version}}"' in availability["provider"]["prometheus"]["query"]
    assert "[10m]" in availability["provider"]["prometheus"]["query"]  # the gate's canary window
    assert availability["successCondition"] == "result[0] <= 0.005"  # the gate's stop ratio
    assert metrics["slokit-gate"]["provider"]["web"]["jsonPath"] == "{$.verdict}"
    flagger = list(yaml.safe_load_all(files["delivery/checkout.metrictemplates.yml"]))
    assert [t["metadata"]["name"] for t in flagger] == ["slokit-checkout-availability", "slokit-checkout-latency"]
    assert all("[{{ interval }}]" in t["spec"]["query"] and "{{ variables.version }}" in t["spec"]["query"]
               for t in flagger)


def test_gate_serve_command_answers_on_loopback_and_never_passes_without_prometheus(write_spec) -> None:
    """The real command, as a deployment runs it; Prometheus is down, so both protocols say 'not a pass'."""
    port, down = free_port(), f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-c", "from slokit.cli import main; main()", "gate", str(write_spec(SPEC)),
               "--prometheus", down, "--serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with running(command, base + "/healthz", "slokit gate --serve", cwd=ROOT):
        flagger = requests.post(base + "/flagger", json={"name": "checkout", "metadata": {"canary": "v2"}}, timeout=10)
        argo = requests.get(base + "/argo", params={"canary": "v2", "baseline": "v1"}, timeout=10)
        missing = requests.get(base + "/nothing", timeout=10)
    assert flagger.status_code == 503 and flagger.json()["verdict"] == "undecided"
    assert argo.status_code == 200 and argo.json()["verdict"] == "undecided"
    assert {c["check"] for c in argo.json()["checks"]} >= {"budget", "burn", "canary"}
    assert missing.status_code == 404


def test_a_grouped_slo_is_gated_by_its_worst_group(write_spec) -> None:
    slo = load([str(write_spec("""
        version: slokit/v1
        service: web
        slos:
          - {name: availability, objective: 99, group_by: [route], sli: {http: {}}}
    """))]).slos[0]
    asked: list[str] = []

    def query(text: str) -> list[tuple[dict[str, str], float]]:
        asked.append(text)
        return [({}, 0.1 if text.startswith("min(") else 20.0)]  # one number each: min / max over the groups

    report = gate.evaluate([slo], query)
    assert [c.check for c in report.checks] == ["budget", "burn"]
    assert asked[0].startswith("min(slo:period_error_budget_remaining:ratio")
    assert all("max(" in q and "sum by (route)" in q for q in asked[1:])
    assert report.verdict == gate.FAIL  # the worst group burns at 20x over both windows
