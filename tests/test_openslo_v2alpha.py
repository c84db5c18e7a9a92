"""OpenSLO v2alpha (`openslo.com/v2alpha`, the OpenSLO Go SDK's pkg/openslo/v2alpha): read where it maps onto
v1 (`sli`/`sliRef`, metrics over `dataSourceRef`/`dataSourceSpec`), refused with file:line:field where not.
The real v2alpha examples are in tests/data/compat/openslo/v2alpha (origin in its README)."""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner

from slokit.cli import main
from slokit.generate.files import generate
from slokit.spec import SpecError, load
from tests.conftest import COMPAT, require

V2 = COMPAT / "openslo" / "v2alpha"

# A v2alpha SLO over the real examples' `prometheus` DataSource (data_sources.yaml) and `high-priority` alert
# policy (alert_policies.yaml: burn rate above 2 over 1h for 5m, severity page), with its SLI by reference.
SLO_V2 = """
- apiVersion: openslo.com/v2alpha
  kind: SLI
  metadata: {name: checkout-errors}
  spec:
    ratioMetric:
      counter: true
      bad:
        dataSourceRef: prometheus
        spec: {query: 'sum(http_requests_total{job="checkout",code=~"5.."})'}
      total:
        dataSourceSpec: {type: Prometheus, connectionDetails: [{url: "http://prometheus:9090"}]}
        spec: {query: 'sum(http_requests_total{job="checkout"})'}
- apiVersion: openslo.com/v2alpha
  kind: SLO
  metadata: {name: checkout-availability, labels: {team: payments}}
  spec:
    service: checkout
    sliRef: checkout-errors
    timeWindow: [{duration: 4w, isRolling: true}]
    budgetingMethod: Occurrences
    objectives: [{displayName: available, target: 0.999}]
    alertPolicies: [{alertPolicyRef: high-priority}]
"""

# The same SLO in OpenSLO v1.
SLO_V1 = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-availability, labels: {team: [payments]}}
spec:
  service: checkout
  indicator:
    metadata: {name: checkout-errors}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'sum(http_requests_total{job="checkout",code=~"5.."})'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(http_requests_total{job="checkout"})'}}}
  timeWindow: [{duration: 4w, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: available, target: 0.999}]
  alertPolicies: [{alertPolicyRef: high-priority}]
"""


def problems(*paths: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load(list(paths))
    return [str(p) for p in exc.value.problems]


def test_the_real_v2alpha_objects_read_and_their_slo_is_refused_precisely():
    """OpenSLO's own v2alpha examples: SLIs, DataSources, Services, alert policies, conditions and targets read
    (no SLO among them); its one SLO names a DataSource no file defines (its calendar week reads, warned)."""
    others = [str(p) for p in sorted(V2.glob("*.yaml")) if p.name != "slos.yaml"]
    spec = load(others)
    assert spec.slos == () and spec.warnings == ()
    slos = str(V2 / "slos.yaml")
    assert problems(slos) == [
        f"{slos}:18: [0].spec.sli.spec.ratioMetric.good.dataSourceRef: no DataSource named 'my-prometheus' in the "
        "files read (slokit needs its type: a Prometheus-compatible source)",
        f"{slos}:22: [0].spec.sli.spec.ratioMetric.total.dataSourceRef: no DataSource named 'my-prometheus' in the "
        "files read (slokit needs its type: a Prometheus-compatible source)",
        f"{slos}:30: warning: [0].spec.timeWindow[0].calendar.timeZone: America/New_York observes daylight saving "
        "time, PromQL only UTC: slokit keeps its offset at startTime (UTC-05:00) all year, so a boundary while the "
        "zone is on its other offset falls that much off local time (docs/spec.md, calendar windows)",
    ]


def test_a_v2alpha_slo_reads_as_the_same_v1_slo_and_its_alerts_pass_promtool(write_spec, tmp_path):
    v2, v1 = write_spec(SLO_V2, "v2.yaml"), write_spec(SLO_V1, "v1.yaml")
    policies, sources = str(V2 / "alert_policies.yaml"), str(V2 / "data_sources.yaml")
    spec2 = load([str(v2), policies, sources])
    spec1 = load([str(v1), policies])
    assert spec2.slos == spec1.slos and spec2.warnings == ()
    (slo,) = spec2.slos
    assert slo.source and slo.source.format == "openslo.com/v2alpha"
    assert (slo.key, slo.objective, slo.period, slo.labels) == (("checkout", "checkout-availability"), 99.9,
                                                                28 * 86400, {"team": "payments"})
    assert slo.sli.error_query == 'sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))'
    assert slo.alerting and slo.alerting.page.enabled and slo.alerting.page.for_ == "5m"
    assert not slo.alerting.ticket.enabled
    files, _ = generate(spec2)
    for name, text in files.items():
        (tmp_path / "out" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "out" / name).write_text(text)
    result = subprocess.run([require("promtool"), "test", "rules", "rules/tests/checkout.test.yml"],
                            cwd=tmp_path / "out", capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("change,expected", [
    # Composite SLOs: an objective's own SLI.
    (("objectives: [{displayName: available, target: 0.999}]",
      "objectives: [{target: 0.999, sliRef: checkout-errors}]"),
     "21: [1].spec.objectives[0].sliRef: composite SLOs (an objective's own SLI or weight) are not supported yet"),
    # v2alpha's durations are m, h, d and w.
    (("duration: 4w", "duration: 1M"),
     "19: [1].spec.timeWindow[0].duration: '1M' is not an OpenSLO duration like 28d, 4w (v2alpha's units: m, h, d, "
     "w)"),
    # A source slokit cannot query.
    (("dataSourceSpec: {type: Prometheus,", "dataSourceSpec: {type: Datadog,"),
     "11: [0].spec.ratioMetric.total.dataSourceSpec.type: metric source 'Datadog' is not supported"),
    # Both ways of naming the source.
    (("        dataSourceRef: prometheus\n", "        dataSourceRef: prometheus\n        dataSourceSpec: {type: x}\n"),
     "7: [0].spec.ratioMetric.bad: needs exactly one of dataSourceRef or dataSourceSpec"),
    # v1's spelling in a v2alpha document: unknown (a warning), and then no SLI at all.
    (("sliRef: checkout-errors", "indicatorRef: checkout-errors"), "16: [1].spec.sli: needs sli or sliRef"),
])
def test_what_does_not_map_is_refused_with_file_line_and_field(write_spec, change, expected):
    path = str(write_spec(SLO_V2.replace(*change)))
    found = problems(path, str(V2 / "alert_policies.yaml"), str(V2 / "data_sources.yaml"))
    assert any(p.startswith(f"{path}:{expected}") for p in found), found


def test_the_v1_style_api_version_is_refused_with_the_right_one_named(write_spec):
    path = write_spec(SLO_V2.replace("openslo.com/v2alpha", "openslo/v2alpha"))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (f"{path}:1: [0].apiVersion: unsupported 'openslo/v2alpha': expected openslo/v1, openslo.com/v2alpha (or "
            "openslo/v1alpha) (OpenSLO v2alpha's apiVersion is openslo.com/v2alpha)") in result.output
