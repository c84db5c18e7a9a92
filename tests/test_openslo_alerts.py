"""OpenSLO v1 AlertPolicy / AlertCondition (burnrate) turned into slokit alerts, inline or referenced."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from slokit.generate.files import rule_files
from slokit.spec import SpecError, load
from tests.conftest import require
from tests.instrument_helpers import all_rules, ratio_series

SLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-availability}
spec:
  service: checkout
  indicator:
    metadata: {name: errors}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'sum(http_requests_total{code=~"5.."})'}}}
        total: {metricSource: {type: Prometheus, spec: {query: sum(http_requests_total)}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
  alertPolicies:
"""

INLINE = SLO + """
    - kind: AlertPolicy
      metadata: {name: fast-burn}
      spec:
        alertWhenBreaching: true
        alertWhenNoData: false
        conditions:
          - kind: AlertCondition
            metadata: {name: burn-2x}
            spec:
              severity: page
              condition: {kind: burnrate, op: gt, threshold: 2, lookbackWindow: 1h, alertAfter: 5m}
        notificationTargets: [{targetRef: on-call}]
"""

REFERENCED = SLO + """
    - alertPolicyRef: slow-burn
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: slow-burn}
spec:
  alertWhenBreaching: true
  conditions: [{conditionRef: burn-1x}]
  notificationTargets: [{targetRef: tickets}]
"""

CONDITION = """
apiVersion: openslo/v1
kind: AlertCondition
metadata: {name: burn-1x}
spec:
  severity: ticket
  condition: {kind: burnrate, op: gte, threshold: 1, lookbackWindow: 6h, alertAfter: 30m}
"""


def problems(*paths) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load([str(p) for p in paths])
    return [str(p) for p in exc.value.problems]


def test_an_inline_policy_becomes_the_page_tier(write_spec):
    (slo,) = load([str(write_spec(INLINE))]).slos
    page, ticket = slo.table.by_severity("page"), slo.table.by_severity("ticket")
    assert [(c.short.name, c.long.name, c.factor) for c in page] == [("1h", "1h", 2)]
    assert [(c.short.name, c.long.name) for c in ticket] == [("1h52m", "22h24m"), ("5h36m", "2d19h12m")]
    alerting = slo.alerting
    assert alerting and alerting.page.enabled and alerting.page.for_ == "5m"
    assert alerting.page.labels == {"severity": "page"}
    assert not alerting.ticket.enabled  # no condition names it: slokit's rows stay for the runtime, no alert
    assert not alerting.no_data.enabled  # alertWhenNoData: false


def test_policies_and_conditions_can_live_in_other_files(write_spec):
    slo_file = write_spec(REFERENCED, "slo.yaml")
    condition = write_spec(CONDITION, "condition.yaml")
    (slo,) = load([str(slo_file), str(condition)]).slos
    assert [(c.short.name, c.long.name, c.factor) for c in slo.table.by_severity("ticket")] == [("6h", "6h", 1)]
    assert slo.alerting and slo.alerting.ticket.for_ == "30m" and not slo.alerting.page.enabled
    assert problems(slo_file) == [f"{slo_file}:25: spec.conditions[0].conditionRef: no AlertCondition named "
                                  "'burn-1x' in the files read"]


def test_conditions_slokit_cannot_alert_on_are_refused(write_spec):
    path = write_spec(INLINE.replace("op: gt,", "op: lte,").replace("alertWhenNoData: false",
                                                                    "alertWhenResolved: true"))
    assert problems(path) == [
        f"{path}:22: warning: spec.alertPolicies[0].spec.alertWhenResolved: resolved notifications are the "
        "Alertmanager receiver's send_resolved; ignored here",
        f"{path}:28: spec.alertPolicies[0].spec.conditions[0].spec.condition.op: 'lte' alerts while the budget "
        "burns slower than the threshold; slokit alerts when it burns faster (gt or gte)",
    ]
    two = write_spec(REFERENCED.replace("conditions: [{conditionRef: burn-1x}]",
                                        "conditions: [{conditionRef: burn-1x}, {conditionRef: burn-1x}]"))
    assert f"{two}:25: spec.conditions: needs exactly one condition (OpenSLO allows one per policy)" in problems(
        two, write_spec(CONDITION, "condition.yaml"))


def test_the_condition_fires_after_alert_after_above_the_threshold_in_promtool(write_spec, tmp_path):
    """2x over 1h for 5m: a 2.1x burn fires at 5m (pending before), a 1.9x burn never does."""
    spec = load([str(write_spec(INLINE))])
    files, _ = rule_files(spec)
    (tmp_path / "rules.yml").write_text(all_rules(files))

    def firing(at: str, expected: bool) -> dict[str, object]:
        query = 'count(ALERTS{alertname="CheckoutCheckoutAvailability",alertstate="firing",slo_severity="page"})'
        return {"expr": query, "eval_time": at, "exp_samples": [{"labels": "{}", "value": 1}] if expected else []}

    tests = [
        {"interval": "1m", "input_series": ratio_series(spec.slos[0], ["1h"], "0.021x20"),
         "promql_expr_test": [firing("4m", False), firing("6m", True)]},
        {"interval": "1m", "input_series": ratio_series(spec.slos[0], ["1h"], "0.019x20"),
         "promql_expr_test": [firing("15m", False)]},
    ]
    (tmp_path / "test.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                                                        "tests": tests}))
    result = subprocess.run([require("promtool"), "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_converted_to_slokit_v1_the_policy_stays(write_spec, tmp_path):
    from click.testing import CliRunner

    from slokit.cli import main

    path = write_spec(INLINE, "slo.yaml")
    result = CliRunner().invoke(main, ["convert", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    before, after = load([str(path)]).slos[0], load([str(tmp_path / "out" / "slo.yaml")]).slos[0]
    assert (after.table, after.alerting) == (before.table, before.alerting)
