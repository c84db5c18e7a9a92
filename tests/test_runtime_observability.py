"""Every decision explains itself: a structured log line, Prometheus metrics, an OTel span event."""

from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest

from slokit import names
from slokit.runtime import Breaker, Decisions, ManualClock, Metrics, Runtime, parse_policy
from slokit.spec.model import SLO, HttpSLI

MONTH = 30 * 86400
SLOS = [SLO("checkout", "availability", 99.9, MONTH, HttpSLI("checkout", route="/pay"), None)]
POLICY = """\
version: slokit/policy/v1
rules:
  - name: protect
    slo: checkout-availability
    when: {burn_above: 10, windows: [5m, 1h]}
    recover: {burn_below: 1, windows: [5m], hold: 1m}
    open_breakers: [payments]
    disable_switches: [recommendations]
"""


def tripped_runtime() -> Runtime:
    clock = ManualClock()
    runtime = Runtime(parse_policy("policy.yml", POLICY, SLOS), SLOS, clock=clock, environ={})
    runtime.engine.record(("checkout", "availability"), good=90, bad=10)
    clock.advance(30)
    runtime.evaluate()
    return runtime


def test_metrics_follow_the_dashboard_contract() -> None:
    runtime = tripped_runtime()
    registry = runtime.decisions.metrics.registry
    value = registry.get_sample_value
    assert value(names.BREAKER_STATE, {"breaker": "payments"}) == 1
    assert value(names.SWITCH_ENABLED, {"switch": "recommendations"}) == 0
    assert value(names.DECISION_TRANSITIONS, {"target": "breaker:payments", "from_state": "closed",
                                              "to_state": "open"}) == 1
    assert value(names.RUNTIME_BURN_RATE, {"slo_service": "checkout", "slo_name": "availability",
                                           "slo_window": "1h"}) == 100.0
    assert names.DECISION_TRANSITIONS.encode() in generate_latest(registry)


def test_each_transition_is_one_structured_log_line(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="slokit.runtime"):
        tripped_runtime()
    decisions = [r for r in caplog.records if hasattr(r, "slokit")]
    assert [r.slokit["target"] for r in decisions] == ["breaker:payments", "switch:recommendations"]
    record = decisions[0].slokit
    assert record == json.loads(decisions[0].getMessage().removeprefix("slokit decision "))
    assert (record["slo"], record["reason"], record["threshold"]) == ("checkout-availability", "policy", 10)
    assert record["burn"] == {"5m": 100.0, "1h": 100.0}


def test_transition_inside_a_span_adds_a_span_event() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    breaker = Breaker("payments", clock=ManualClock(), decisions=Decisions(Metrics()))
    with provider.get_tracer("test").start_as_current_span("checkout"):
        breaker.policy_open("checkout-availability", {"5m": 20.0}, 14.4)
    breaker.policy_release("checkout-availability", {"5m": 0.1}, 1.0)  # no span active: nothing to add to
    (span,) = exporter.get_finished_spans()
    (event,) = span.events
    assert event.name == "slokit.decision"
    assert dict(event.attributes) == {"slokit.target": "breaker:payments", "slokit.from": "closed",
                                      "slokit.to": "open", "slokit.reason": "policy",
                                      "slokit.slo": "checkout-availability", "slokit.burn.5m": 20.0}


def test_transitions_become_grafana_annotations(httpserver) -> None:
    """Through the runtime's annotator, to a local server speaking Grafana's annotations API."""
    from slokit.runtime.annotations import attach_grafana, grafana_annotator

    httpserver.expect_request("/api/annotations", method="POST").respond_with_json({"id": 1, "message": "ok"})
    decisions = Decisions()
    annotations = attach_grafana(decisions, grafana_annotator(httpserver.url_for("/"), "token", timeout=2))
    breaker = Breaker("payments", clock=ManualClock(1_700_000_000), decisions=decisions)
    breaker.policy_open("checkout-availability", {"5m": 20.0, "1h": 15.0}, 14.4)
    annotations.close()
    (request, _), = httpserver.log
    body = json.loads(request.data)
    assert body["time"] == 1_700_000_000_000 and {"breaker", "payments", "open"} <= set(body["tags"])
    assert "checkout-availability" in body["text"] and annotations.posted == 1
