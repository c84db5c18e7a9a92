"""Pyrra's CRD (pyrra.dev/v1alpha1 ServiceLevelObjective): fields, queries and alert windows as Pyrra's."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from slokit.generate.files import rule_files
from slokit.spec import SpecError, load, pyrra
from slokit.spec.model import EventsSLI
from tests.conftest import require

DAY = 86400


def slo_file(write_spec, spec: str, metadata: str = "name: api-errors\n  namespace: monitoring") -> str:
    return str(write_spec(f"apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n  {metadata}\n"
                          f"spec:\n{spec}"))


def problems(path: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load([path])
    return [str(p) for p in exc.value.problems]


# Pyrra's own expectations: slo/rules_test.go (Test_windows for 28d; the 14d and 7d objectives' alerts).
@pytest.mark.parametrize("period,expected", [
    (28 * DAY, [("page", "5m", "1h", 14), ("page", "30m", "6h", 7), ("ticket", "2h", "1d", 2),
                ("ticket", "6h", "4d", 1)]),
    (14 * DAY, [("page", "3m", "30m", 14), ("page", "15m", "3h", 7), ("ticket", "1h", "12h", 2),
                ("ticket", "3h", "2d", 1)]),
    (7 * DAY, [("page", "1m", "15m", 14), ("page", "8m", "1h30m", 7), ("ticket", "30m", "6h", 2),
               ("ticket", "1h30m", "1d", 1)]),
])
def test_the_window_table_is_pyrras(period, expected):
    table = pyrra.window_table(period)
    assert [(c.severity, c.short.name, c.long.name, c.factor) for c in table.conditions] == expected


def test_a_ratio_slo_reads_into_the_model(write_spec):
    path = slo_file(write_spec, """
  target: "99.5"
  window: 4w
  description: API requests succeed.
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{job="api",code=~"5.."}'}
      total: {metric: 'http_requests_total{job="api"}'}
      grouping: [route, method]
""", 'name: api-errors\n  namespace: monitoring\n  labels: {prometheus: k8s, "pyrra.dev/team": payments}\n'
     '  annotations: {"pyrra.dev/runbook": "https://runbooks/api"}')
    spec = load([path])
    assert spec.warnings == ()
    (slo,) = spec.slos
    assert slo.key == ("monitoring", "api-errors") and slo.objective == 99.5 and slo.period == 28 * DAY
    assert slo.sli == EventsSLI('sum by (method, route) (rate(http_requests_total{job="api",code=~"5.."}'
                                '[{{.window}}]))',
                                'sum by (method, route) (rate(http_requests_total{job="api"}[{{.window}}]))')
    assert slo.group_by == ("route", "method") and slo.labels == {"team": "payments"}
    assert slo.description == "API requests succeed."
    alerting = slo.alerting
    assert alerting and alerting.name == "ErrorBudgetBurn" and alerting.annotations == {"runbook": "https://runbooks/api"}
    assert (alerting.page.labels, alerting.page.for_) == ({"severity": "critical"}, "2m")
    assert (alerting.ticket.labels, alerting.ticket.for_) == ({"severity": "warning"}, "1h")
    assert slo.table == pyrra.window_table(28 * DAY)


def test_latency_native_and_bool_gauge_queries(write_spec):
    latency = slo_file(write_spec, """
  target: "95"
  window: 1w
  indicator:
    latency:
      success: {metric: 'http_request_duration_seconds_bucket{job="api",le="0.5"}'}
      total: {metric: 'http_request_duration_seconds_count{job="api"}'}
""")
    (slo,) = load([latency]).slos
    total = 'sum(rate(http_request_duration_seconds_count{job="api"}[{{.window}}]))'
    assert slo.sli == EventsSLI(f'{total}\n-\nsum(rate(http_request_duration_seconds_bucket{{job="api",le="0.5"}}'
                                '[{{.window}}]))', total)
    native = slo_file(write_spec, """
  target: "99"
  window: 2w
  indicator:
    latencyNative:
      latency: 200ms
      total: {metric: 'connect_server_requests_duration_seconds{job="pyrra"}'}
""", "name: connect-latency")
    (slo,) = load([native]).slos
    histogram = 'sum(rate(connect_server_requests_duration_seconds{job="pyrra"}[{{.window}}]))'
    assert slo.key == ("default", "connect-latency")  # no namespace: Kubernetes' default
    assert slo.sli == EventsSLI(f"histogram_count({histogram})\n*\n(1 - histogram_fraction(0, 0.2, {histogram}))",
                                f"histogram_count({histogram})")
    gauge = slo_file(write_spec, """
  target: "99"
  window: 7d
  indicator:
    bool_gauge: {metric: probe_success, grouping: [target]}
""", "name: probes")
    (slo,) = load([gauge]).slos
    count = "sum by (target) (count_over_time(probe_success[{{.window}}]))"
    assert slo.sli == EventsSLI(count + "\n-\nsum by (target) (sum_over_time(probe_success[{{.window}}]))", count)


def test_alerting_switches_and_severities(write_spec):
    base = """
  target: "99"
  window: 7d
  indicator:
    ratio: {errors: {metric: 'x_total{code="500"}'}, total: {metric: x_total}}
"""
    assert load([slo_file(write_spec, base + "  alerting: {burnrates: false}\n")]).slos[0].alerting is None
    assert load([slo_file(write_spec, base + "  alerting: {disabled: true}\n")]).slos[0].alerting is None
    path = slo_file(write_spec, base + "  alerting:\n    name: APIBudgetBurn\n    absent: true\n"
                    "    severities: {fastBurn: page, mediumBurn: high, slowBurn: ticket}\n")
    spec = load([path])
    alerting = spec.slos[0].alerting
    assert alerting and alerting.name == "APIBudgetBurn"
    assert alerting.page.labels == {"severity": "page"} and alerting.ticket.labels == {"severity": "ticket"}
    assert spec.warnings == (
        f"{path}:14: warning: spec.alerting.absent: Pyrra's metric-absent alerts have no slokit equivalent here; "
        "ignored",
        f"{path}:15: warning: spec.alerting.severities.mediumBurn: slokit's alert tiers carry one severity: "
        "fastBurn's",
    )


def test_what_pyrra_refuses_is_refused(write_spec):
    path = slo_file(write_spec, """
  target: "high"
  window: 4w
  indicatr: {}
  indicator:
    ratio:
      errors: {metric: 'sum(rate(x_total{code="500"}[5m]))'}
      total: {metric: x_total}
    latency:
      success: {metric: 'x_bucket{job="a"}'}
      total: {metric: x_count}
""")
    assert problems(path) == [
        f"{path}:8: spec.target: 'high' is not a number (a percentage such as '99.9')",
        f"{path}:10: warning: spec.indicatr: unknown field (did you mean 'indicator'?); ignored",
        f"{path}:11: spec.indicator: needs exactly one of ratio, latency, latencyNative, bool_gauge, got ratio, "
        "latency",
        f"{path}:13: spec.indicator.ratio.errors.metric: must be a plain selector such as "
        'http_requests_total{job="api",code=~"5.."} (Pyrra adds rate() and the window)',
    ]
    path = slo_file(write_spec, """
  target: "0.99"
  window: 4w
  indicator:
    latency:
      success: {metric: 'x_bucket{job="a"}'}
      total: {metric: x_count}
""")
    assert problems(path) == [
        f"{path}:8: warning: spec.target: target is from 0-100 (99), not 0-1 (0.99)",
        f"{path}:12: spec.indicator.latency.success.metric: must match one bucket with an le label, e.g. "
        '..._bucket{le="0.5"}',
    ]


def test_the_prometheus_rule_keeps_the_objects_namespace_and_labels(write_spec):
    path = slo_file(write_spec, """
  target: "99"
  window: 7d
  indicator:
    ratio: {errors: {metric: 'x_total{code="500"}'}, total: {metric: x_total}}
""", "name: api\n  namespace: monitoring\n  labels: {prometheus: k8s, role: alert-rules}")
    files, _ = rule_files(load([path]), "prometheus-operator")
    meta = yaml.safe_load(files["rules/monitoring.yml"])["metadata"]
    assert meta == {"name": "slokit-monitoring", "namespace": "monitoring",
                    "labels": {"prometheus": "k8s", "role": "alert-rules", "app.kubernetes.io/managed-by": "slokit",
                               "slokit.dev/service": "monitoring"}}


def test_alerts_fire_at_pyrras_thresholds_in_promtool(write_spec, tmp_path):
    """A 99% / 28d Pyrra SLO pages when the 5m and 1h error ratios pass 14 x 1% (after Pyrra's `for: 2m`), not at
    13.5x; it tickets when 2h and 1d pass 2 x 1% (after `for: 1h`). The recorded ratios are fed directly."""
    path = slo_file(write_spec, """
  target: "99"
  window: 4w
  indicator:
    ratio: {errors: {metric: 'http_requests_total{code="500"}'}, total: {metric: http_requests_total}}
""", "name: api\n  namespace: monitoring")
    files, _ = rule_files(load([path]))
    (tmp_path / "rules.yml").write_text(files["rules/monitoring.yml"])

    def ratios(value: float, *windows: str) -> list[dict[str, str]]:
        return [{"series": f'slo:sli_error:ratio_rate{w}{{slo_service="monitoring",slo_name="api",slo_window="{w}"}}',
                 "values": f"{value}x70"} for w in windows]

    def firing(severity: str, at: str, expected: bool) -> dict[str, object]:
        query = f'count(ALERTS{{alertname="ErrorBudgetBurn",alertstate="firing",slo_severity="{severity}"}})'
        return {"expr": query, "eval_time": at, "exp_samples": [{"labels": "{}", "value": 1}] if expected else []}

    tests = [
        {"interval": "1m", "input_series": ratios(0.145, "5m", "1h"),
         "promql_expr_test": [firing("page", "1m", False), firing("page", "3m", True)]},
        {"interval": "1m", "input_series": ratios(0.135, "5m", "1h"),
         "promql_expr_test": [firing("page", "10m", False)]},
        {"interval": "1m", "input_series": ratios(0.021, "2h", "1d"),
         "promql_expr_test": [firing("ticket", "59m", False), firing("ticket", "61m", True),
                              firing("page", "61m", False)]},
    ]
    (tmp_path / "test.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                                                        "tests": tests}))
    result = subprocess.run([require("promtool"), "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
