"""Reading specs: the three formats, and precise messages for bad input."""

from __future__ import annotations

import pytest

import slokit
from slokit.spec import EventsSLI, HttpSLI, LatencySLI, RawSLI, SpecError, load
from tests.conftest import EXAMPLES


def problems(path) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load([str(path)])
    return [str(p) for p in exc.value.problems if not p.warning]


def test_examples_read_into_one_model():
    spec = load([str(EXAMPLES)])
    by_id = {s.id: s for s in spec.slos}
    assert by_id["checkout-availability"].sli == HttpSLI(service="checkout", route="/pay")
    assert by_id["checkout-latency"].sli == HttpSLI(service="checkout", route="/pay", latency=0.3)
    assert by_id["checkout-latency"].alerting.ticket.enabled is False
    assert by_id["search-query-latency"].period == 28 * 86400
    assert by_id["search-query-latency"].sli == LatencySLI("search_query_duration_seconds", 0.5, {"job": "search"})
    assert by_id["myservice-requests-availability"].source.format == "prometheus/v1"
    assert by_id["checkout-availability"].labels == {"team": "payments"}
    assert by_id["checkout-availability"].silence_group == "payments"


def test_native_defaults(write_spec):
    path = write_spec("""
        version: slokit/v1
        service: api
        slos:
          - name: ok
            objective: 99.5
            sli:
              raw:
                error_ratio_query: rate(errors[{{.window}}]) / rate(total[{{.window}}])
    """)
    (slo,) = load([str(path)]).slos
    assert slo.period == 30 * 86400
    assert slo.error_budget == 0.005
    assert isinstance(slo.sli, RawSLI)
    assert slo.alerting.name == "ApiOk"
    assert slo.alerting.page.enabled and slo.alerting.ticket.enabled


def test_error_names_file_line_and_field(write_spec):
    path = write_spec("""
        version: slokit/v1
        service: api
        slos:
          - name: fine
            objective: 99
            sli: {http: {}}
          - name: broken
            objective: 150
            sli: {http: {}}
    """)
    assert problems(path) == [
        f"{path}:8: slos[1].objective: must be between 0 and 100 (a percentage, e.g. 99.9), got 150"]


def test_unknown_field_suggests_the_right_one(write_spec):
    path = write_spec("""
        version: slokit/v1
        service: api
        slos:
          - name: a
            objectve: 99
            sli: {http: {}}
    """)
    found = problems(path)
    assert f"{path}:5: slos[0].objectve: unknown field (did you mean 'objective'?)" in found
    assert f"{path}:4: slos[0].objective: is required" in found


@pytest.mark.parametrize("sli, message", [
    ("events: {error_query: 'rate(e[5m])', total_query: 'rate(t[{{.window}}])'}",
     "sli.events.error_query: must contain the {{.window}} placeholder"),
    ("events: {error_query: 'sum(rate(e[{{.window}}])', total_query: 'rate(t[{{.window}}])'}",
     "sli.events.error_query: invalid PromQL: unclosed left parenthesis"),
    ("http: {latency: 310ms}", "sli.http.latency: 310ms is not a bucket bound of the middleware's histogram"),
    ("latency: {histogram: h_bucket, threshold: 1}", "sli.latency.histogram: give the histogram's base name"),
    ("{}", "sli: needs exactly one of events, raw, latency, http"),
])
def test_bad_sli_is_explained(write_spec, sli, message):
    path = write_spec(f"""
        version: slokit/v1
        service: api
        slos:
          - name: a
            objective: 99
            sli:
              {sli}
    """)
    assert any(message in p for p in problems(path)), problems(path)


def test_labels_are_checked_before_they_reach_promql(write_spec):
    path = write_spec("""
        version: slokit/v1
        service: api
        labels: {"bad-name": x, slo_name: y}
        slos:
          - name: a
            objective: 99
            sli: {http: {}}
    """)
    found = problems(path)
    assert any("labels.bad-name: is not a valid Prometheus label name" in p for p in found)
    assert any("labels.slo_name: is set by slokit itself" in p for p in found)


def test_duplicate_slo_across_files_is_an_error(write_spec):
    text = """
        version: slokit/v1
        service: api
        slos:
          - {name: a, objective: 99, sli: {http: {}}}
    """
    first, second = write_spec(text, "a.yml"), write_spec(text, "b.yml")
    with pytest.raises(SpecError) as exc:
        load([str(first.parent)])
    (problem,) = exc.value.problems
    assert str(problem) == (f"{second}:4: name: duplicate SLO 'a' of service 'api': first defined at {first}:4")


def test_slos_are_told_apart_by_service_and_name_not_by_a_joined_id(write_spec):
    write_spec("""
        version: slokit/v1
        service: a-b
        slos:
          - {name: c, objective: 99, sli: {http: {}}}
    """, "a-b.yml")
    write_spec("""
        version: slokit/v1
        service: a
        slos:
          - {name: b-c, objective: 99, sli: {http: {}}}
    """, "a.yml")
    spec = load([str(write_spec("", "empty.txt").parent)])
    assert sorted(s.key for s in spec.slos) == [("a", "b-c"), ("a-b", "c")]
    assert {s.id for s in spec.slos} == {"a-b-c"}  # the display id is shared; nothing keys on it
    files = slokit.generate(spec)
    assert {"rules/a.yml", "rules/a-b.yml"} <= set(files)


def test_yaml_syntax_error_has_a_line(write_spec):
    path = write_spec("version: slokit/v1\nservice: [api\n")
    (message,) = problems(path)
    assert message.startswith(f"{path}:3: invalid YAML")


def test_unknown_format_is_named(write_spec):
    path = write_spec("version: sloth/v9\nservice: x\n")
    assert problems(path) == [f"{path}:1: version: unsupported 'sloth/v9': expected one of slokit/v1, "
                              "prometheus/v1, sloth.slok.dev/v1, pyrra.dev/v1alpha1, openslo/v1, openslo/v1alpha, "
                              "openslo.com/v2alpha"]


def test_openslo_counter_queries_become_window_rates(write_spec):
    path = write_spec("""
        apiVersion: openslo/v1
        kind: SLO
        metadata: {name: web-availability}
        spec:
          service: web
          indicatorRef: web-errors
          timeWindow: [{duration: 28d, isRolling: true}]
          budgetingMethod: Occurrences
          objectives: [{target: 0.995}]
        ---
        apiVersion: openslo/v1
        kind: SLI
        metadata: {name: web-errors}
        spec:
          ratioMetric:
            counter: true
            bad: {metricSource: {type: Prometheus, spec: {query: 'sum(http_requests_total{code=~"5.."})'}}}
            total: {metricSource: {type: Prometheus, spec: {query: sum by (job) (http_requests_total)}}}
    """)
    (slo,) = load([str(path)]).slos
    assert slo.objective == 99.5 and slo.period == 28 * 86400
    assert slo.sli == EventsSLI('sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
                                "sum by (job) (rate(http_requests_total[{{.window}}]))")


def test_warnings_do_not_fail_a_spec():
    spec = load([str(EXAMPLES / "sloth-myservice.yml")])
    assert len(spec.slos) == 1
    assert any("slo_plugins: Sloth SLO plugins are not supported" in w for w in spec.warnings)


def test_the_documented_example_is_valid(tmp_path):
    """docs/spec.md's complete example must stay true."""
    import re

    from tests.conftest import ROOT

    block = re.search(r"```yaml\n(.*?)```", (ROOT / "docs" / "spec.md").read_text(), re.S).group(1)
    (tmp_path / "spec.yml").write_text(block)
    spec = load([str(tmp_path)])
    assert [s.name for s in spec.slos] == ["availability", "latency", "search-latency", "requests", "satisfaction"]
    assert spec.slos[4].alerting is None


def test_grouping_by_an_unbounded_label_warns_with_its_line(write_spec):
    path = write_spec("""
        version: slokit/v1
        service: web
        slos:
          - name: a
            objective: 99
            group_by: [route, pod]
            sli: {http: {}}
    """)
    spec = load([str(path)])
    assert spec.slos[0].group_by == ("route", "pod")
    assert [w for w in spec.warnings if "group_by[1]" in w] == [
        f"{path}:6: warning: slos[0].group_by[1]: 'pod' usually has a value per pod, user or request: every group "
        "costs about twenty recorded series (docs/spec.md, Grouped SLOs)"]
