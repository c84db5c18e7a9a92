"""Sloth's Kubernetes CRD (sloth.slok.dev/v1 PrometheusServiceLevel) and unknown fields in foreign formats."""

from __future__ import annotations

import pytest

from slokit.spec import SpecError, load
from slokit.spec.model import EventsSLI, ObjectMeta, RawSLI

CRD = """
    apiVersion: sloth.slok.dev/v1
    kind: PrometheusServiceLevel
    metadata:
      name: sloth-slo-checkout
      namespace: monitoring
      labels: {prometheus: k8s, role: alert-rules}
      uid: 5a1e1c6e-0000-0000-0000-000000000000   # kubectl get -o yaml output reads without warnings
      resourceVersion: "1234"
    spec:
      service: checkout
      labels: {owner: payments}
      slos:
        - name: requests-availability
          objective: 99.9
          labels: {tier: "1"}
          sli:
            events:
              errorQuery: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
              totalQuery: sum(rate(http_requests_total[{{.window}}]))
          alerting:
            name: CheckoutHighErrorRate
            labels: {category: availability}
            pageAlert: {labels: {severity: pageteam}}
            ticketAlert: {disable: true}
        - name: latency
          objective: 99
          sli:
            raw:
              errorRatioQuery: 1 - avg_over_time(checkout_fast_ratio[{{.window}}])
          alerting: {}
    status:
      processedSLOs: 2
"""


def problems(path) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load([str(path)])
    return [str(p) for p in exc.value.problems]


def test_the_crd_reads_into_the_model(write_spec):
    path = write_spec(CRD)
    spec = load([str(path)])
    assert spec.warnings == ()
    availability, latency = spec.slos
    assert availability.key == ("checkout", "requests-availability") and availability.objective == 99.9
    assert availability.sli == EventsSLI('sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
                                         "sum(rate(http_requests_total[{{.window}}]))")
    assert availability.labels == {"owner": "payments", "tier": "1"}
    assert availability.period == 30 * 86400  # the CRD has no period: Sloth's default
    alerting = availability.alerting
    assert alerting and alerting.name == "CheckoutHighErrorRate" and alerting.labels == {"category": "availability"}
    assert alerting.page.enabled and alerting.page.labels == {"severity": "pageteam"} and not alerting.ticket.enabled
    assert availability.k8s == ObjectMeta("sloth-slo-checkout", "monitoring", {"prometheus": "k8s",
                                                                               "role": "alert-rules"})
    assert latency.sli == RawSLI("1 - avg_over_time(checkout_fast_ratio[{{.window}}])")
    assert latency.source and latency.source.format == "sloth.slok.dev/v1" and latency.source.line == 25


def test_several_crds_in_one_file(write_spec):
    second = CRD.replace("name: sloth-slo-checkout", "name: sloth-slo-cart").replace("service: checkout",
                                                                                     "service: cart")
    spec = load([str(write_spec(CRD + "\n    ---\n" + second))])
    assert [s.key for s in spec.slos] == [("checkout", "requests-availability"), ("checkout", "latency"),
                                          ("cart", "requests-availability"), ("cart", "latency")]


def test_unknown_fields_in_sloth_formats_warn_with_a_suggestion(write_spec):
    path = write_spec(CRD.replace("pageAlert:", "page_alert:").replace("objective: 99\n", "objetive: 99\n"
                                                                        "          objective: 99\n"))
    spec = load([str(path)])
    assert spec.warnings == (
        f"{path}:23: warning: spec.slos[0].alerting.page_alert: unknown field (did you mean 'pageAlert'?); ignored",
        f"{path}:26: warning: spec.slos[1].objetive: unknown field (did you mean 'objective'?); ignored",
    )
    assert spec.slos[0].alerting and spec.slos[0].alerting.page.labels == {}  # ignored, as Sloth does


def test_prometheus_v1_unknown_fields_warn_too(write_spec):
    path = write_spec("""
        version: prometheus/v1
        service: checkout
        owner: payments
        slos:
          - name: availability
            objective: 99.9
            sli: {events: {errorQuery: 'sum(rate(x_errors[{{.window}}]))', total_query: 'sum(rate(x[{{.window}}]))'}}
    """)
    assert problems(path) == [
        f"{path}:3: warning: owner: unknown field (allowed: version, service, labels, slo_plugins, slos); ignored",
        f"{path}:7: warning: slos[0].sli.events.errorQuery: unknown field (did you mean 'error_query'?); ignored",
        f"{path}:7: slos[0].sli.events.error_query: is required",
    ]


def test_slokit_v1_stays_strict(write_spec):
    path = write_spec("""
        version: slokit/v1
        service: checkout
        slos:
          - name: availability
            objetive: 99.9
            objective: 99.9
            sli: {http: {}}
    """)
    assert problems(path) == [f"{path}:5: slos[0].objetive: unknown field (did you mean 'objective'?)"]


def test_sloth_validation_is_kept(write_spec):
    path = write_spec("""
        apiVersion: sloth.slok.dev/v1
        kind: PrometheusServiceLevel
        metadata: {name: x}
        spec:
          service: checkout
          slos:
            - name: same
              objective: 100.5
              sli: {events: {errorQuery: 'sum(rate(x[{{.window}}]))', totalQuery: 'sum(rate(x[{{.window}}]))'}}
              alerting: {name: ""}
            - name: none
              objective: 99
              sli: {}
    """)
    assert problems(path) == [
        f"{path}:8: spec.slos[0].objective: must be between 0 and 100 (a percentage, e.g. 99.9), got 100.5",
        f"{path}:9: spec.slos[0].sli.events.errorQuery: is the same query as the total: every event would be "
        "an error",
        f"{path}:10: spec.slos[0].alerting.name: must not be empty (leave it out for the default name)",
        f"{path}:13: spec.slos[1].sli: needs exactly one of events or raw",
    ]


def test_other_kinds_of_the_sloth_api_are_named(write_spec):
    path = write_spec("apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevels\nmetadata: {name: x}\nspec: {}\n")
    assert problems(path) == [f"{path}:2: kind: unsupported 'PrometheusServiceLevels' for sloth.slok.dev/v1: "
                              "expected PrometheusServiceLevel, AlertWindows"]


def test_a_crd_needs_its_envelope(write_spec):
    path = write_spec("apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nspec:\n  service: x\n"
                      "  slos: []\n")
    assert problems(path) == [f"{path}:1: metadata: is required", f"{path}:5: spec.slos: needs at least one SLO"]
