"""OpenSLO Timeslices and RatioTimeslices: the SLI is the share of good slices (or their average ratio),
proven in promtool on a good/bad slice sequence."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from slokit.generate.files import rule_files
from slokit.spec import SpecError, load
from slokit.spec.model import RawSLI
from tests.conftest import require
from tests.instrument_helpers import all_rules

SLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-minutes}
spec:
  service: api
  indicator:
    metadata: {name: errors}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: sum(api_errors_total)}}}
        total: {metricSource: {type: Prometheus, spec: {query: sum(api_requests_total)}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives: [{target: 0.99, timeSliceTarget: 0.95, timeSliceWindow: 1m}]
"""

# One minute per slice, 100 requests a minute; errors per minute 0, 10, 0, 20, 2, 0, 0, 0: slices 2 and 4 are
# below 95% good, slice 5 (98%) is not.
ERRORS = "0 0 10 10 30 32 32 32 32 32"
REQUESTS = "0+100x9"


def test_timeslices_read_as_the_share_of_bad_slices(write_spec):
    (slo,) = load([str(write_spec(SLO))]).slos
    ratio = ("1 - (sum(rate(api_errors_total[1m]))) / ((sum(rate(api_requests_total[1m]))) > 0)")
    assert slo.sli == RawSLI(f"1 - avg_over_time((({ratio}) >= bool 0.95)[{{{{.window}}}}:1m] offset -1s)")
    assert slo.objective == 99.0  # 99% of the slices good


@pytest.mark.parametrize("method,expected", [
    ("Timeslices", [("5m", 0.4), ("6m", 0.4), ("8m", 0.2)]),  # bad slices among the last five
    ("RatioTimeslices", [("5m", 0.064), ("8m", 0.044)]),  # 1 - the average of the slices' good ratios
])
def test_a_good_bad_slice_sequence_in_promtool(write_spec, tmp_path, method, expected):
    spec = load([str(write_spec(SLO.replace("budgetingMethod: Timeslices", f"budgetingMethod: {method}")
                                .replace("timeSliceTarget: 0.95, " if method == "RatioTimeslices" else "@", "")))])
    files, _ = rule_files(spec)
    (tmp_path / "rules.yml").write_text(all_rules(files))
    checks = [{"expr": f'abs(slo:sli_error:ratio_rate5m{{slo_name="api-minutes"}} - {value}) < bool 0.000001',
               "eval_time": at, "exp_samples": [{"labels": '{slo_name="api-minutes",slo_service="api",'
                                                           'slo_window="5m"}', "value": 1}]}
              for at, value in expected]
    test = {"interval": "1m", "input_series": [{"series": "api_errors_total", "values": ERRORS},
                                               {"series": "api_requests_total", "values": REQUESTS}],
            "promql_expr_test": checks}
    (tmp_path / "test.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                                                        "tests": [test]}))
    result = subprocess.run([require("promtool"), "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_slices_that_do_not_fit_are_refused(write_spec):
    path = write_spec(SLO.replace("timeSliceWindow: 1m", "timeSliceWindow: 10m").replace(
        "timeSliceTarget: 0.95", "timeSliceTarget: 95"))
    with pytest.raises(SpecError) as exc:
        load([str(path)])
    assert [str(p) for p in exc.value.problems] == [
        f"{path}:15: spec.objectives[0].timeSliceWindow: is longer than the shortest alert window (5m), which "
        "would hold no slice"]
    path = write_spec(SLO.replace("timeSliceWindow: 1m", "timeSliceWindow: 1m, x: 1").replace(
        "timeSliceTarget: 0.95", "timeSliceTarget: 95"))
    with pytest.raises(SpecError) as exc:
        load([str(path)])
    assert f"{path}:15: spec.objectives[0].timeSliceTarget: must be a ratio above 0 and at most 1, got 95" in [
        str(p) for p in exc.value.problems]


def test_oslos_timeslices_example_with_a_rolling_window_generates_promtool_clean_rules(tmp_path):
    """oslo's valid v1 example (tests/data/compat/openslo/oslo-v1.yaml) is refused only for its calendar window:
    made rolling, its Timeslices objective reads and its rules load in promtool."""
    from tests.conftest import COMPAT

    text = (COMPAT / "openslo" / "oslo-v1.yaml").read_text()
    rolling = text.replace("        isRolling: false\n        calendar:\n          startTime: 2022-01-01 12:00:00\n"
                           "          timeZone: America/New_York\n", "        isRolling: true\n")
    assert rolling != text
    (tmp_path / "oslo.yaml").write_text(rolling)
    (slo,) = load([str(tmp_path / "oslo.yaml")]).slos
    assert isinstance(slo.sli, RawSLI) and ">= bool 0.95)[{{.window}}:1m] offset -1s" in slo.sli.error_ratio_query
    files, _ = rule_files(load([str(tmp_path / "oslo.yaml")]))
    (tmp_path / "rules.yml").write_text(all_rules(files))
    result = subprocess.run([require("promtool"), "check", "rules", str(tmp_path / "rules.yml")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
