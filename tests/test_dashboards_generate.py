"""Dashboards generated from specs: valid Grafana JSON, stable, drawn from the window table, extensible.

Structure is checked with a JSON Schema written after Grafana's dashboard JSON model docs
(tests/data/grafana-dashboard.schema.json). grafana-foundation-sdk is on PyPI, but its models'
`from_json` accepts anything (a string schemaVersion, a numeric title), so it cannot serve as a validator.
"""

from __future__ import annotations

import json
import re
import textwrap

import jsonschema
import promql_parser
import pytest
from click.testing import CliRunner

from slokit import names, windows
from slokit.cli import main
from slokit.generate import dashboards
from slokit.spec import load
from tests.conftest import EXAMPLES, ROOT

SCHEMA = json.loads((ROOT / "tests/data/grafana-dashboard.schema.json").read_text())


def example_specs() -> list[str]:
    """What the goldens are generated from: `slokit generate examples/ --out .`."""
    return [str(EXAMPLES)]


@pytest.fixture(scope="module")
def generated() -> dict[str, dict]:
    """uid -> dashboard for the examples."""
    return {d["uid"]: d for d in dashboards.evaluate(dashboards.model(load(example_specs()).slos))}


def test_examples_give_an_overview_and_one_dashboard_per_service(generated):
    assert sorted(generated) == ["slokit-overview", "slokit-svc-checkout", "slokit-svc-myservice", "slokit-svc-search"]
    assert generated["slokit-svc-checkout"]["title"] == "SLOs / checkout"


@pytest.mark.parametrize("uid", ["slokit-overview", "slokit-svc-checkout", "slokit-svc-myservice", "slokit-svc-search"])
def test_dashboard_matches_the_grafana_json_schema(generated, uid):
    jsonschema.validate(generated[uid], SCHEMA)


def test_schema_rejects_what_grafana_would_not_load(generated):
    broken = json.loads(json.dumps(generated["slokit-svc-checkout"]))
    del broken["panels"][3]["targets"][0]["refId"]
    with pytest.raises(jsonschema.ValidationError, match="refId"):
        jsonschema.validate(broken, SCHEMA)


def test_panel_ids_unique_ref_ids_unique_and_panels_never_overlap(generated):
    for uid, dashboard in generated.items():
        panels = list(dashboards.panels(dashboard))
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids)), uid
        cells: set[tuple[int, int]] = set()
        for p in panels:
            refs = [t["refId"] for t in p.get("targets", [])]
            assert len(refs) == len(set(refs)), (uid, p["title"])
            g = p["gridPos"]
            assert g["x"] + g["w"] <= 24, (uid, p["title"])
            mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not cells & mine, f"{uid}: {p['title']} overlaps another panel"
            cells |= mine


def test_every_expression_is_valid_promql(generated):
    count = 0
    for dashboard in generated.values():
        for expr in dashboards.expressions(dashboard):
            promql_parser.parse(re.sub(r"\$(\w+)", "x", expr.replace("$__rate_interval", "1m")))
            count += 1
    assert count > 100


def test_output_is_byte_identical_between_runs():
    slos = load(example_specs()).slos
    assert dashboards.files(slos) == dashboards.files(tuple(reversed(slos)))


def test_committed_golden_dashboards_have_not_drifted():
    files = dashboards.files(load(example_specs()).slos)
    for name, text in files.items():
        assert (ROOT / name).read_text() == text, f"{name} drifted: run slokit generate examples/ --out ."
    committed = {f"dashboards/{p.name}" for p in (ROOT / "dashboards").glob("*.json")}
    assert committed == set(files), "stale or missing golden dashboards"


def test_burn_thresholds_come_from_the_window_table_for_the_slo_period(write_spec):
    spec = write_spec("""
        version: slokit/v1
        service: api
        slos:
          - name: availability
            objective: 99.5
            period: 7d
            sli: {http: {route: /}}
    """)
    slo = load([str(spec)]).slos[0]
    [_, service] = dashboards.evaluate(dashboards.model([slo]))
    by_title = {p["title"]: p for p in dashboards.panels(service)}
    table = windows.table(7 * 86400)
    for severity in names.SEVERITIES:
        panel = by_title[f"Burn rate: {severity} windows"]
        drawn = [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]
        assert drawn == sorted({c.factor for c in table.by_severity(severity)})
        legends = [t["legendFormat"] for t in panel["targets"]]
        expected = {w.name for c in table.by_severity(severity) for w in (c.short, c.long)}
        assert set(legends) == expected
        assert all(t["expr"].endswith(" / 0.005") for t in panel["targets"])


def test_latency_sli_gets_a_threshold_panel_and_raw_sli_no_traffic_panel(write_spec):
    spec = write_spec("""
        version: slokit/v1
        service: api
        slos:
          - name: fast
            objective: 99
            sli: {latency: {histogram: api_seconds, threshold: 250ms, matchers: {job: api}}}
          - name: raw
            objective: 99
            sli: {raw: {error_ratio_query: 'avg_over_time(api_errors[{{.window}}])'}}
    """)
    [_, service] = dashboards.evaluate(dashboards.model(load([str(spec)]).slos))
    titles = [p["title"] for p in dashboards.panels(service)]
    assert titles.count("Requests and bad events") == 1  # the latency SLO's, not the raw one's
    latency = next(p for p in dashboards.panels(service) if p["title"] == "Latency vs threshold (0.25s)")
    assert latency["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.25
    assert latency["targets"][0]["expr"] == (
        'histogram_quantile(0.99, sum by (le) (rate(api_seconds_bucket{job="api"}[$__rate_interval])))')


def test_uids_are_stable_readable_and_within_grafanas_limit():
    assert dashboards.service_uid("checkout") == "slokit-svc-checkout"
    long = dashboards.service_uid("a-very-long-service-name-that-goes-on-and-on")
    assert len(long) <= 40 and long == dashboards.service_uid("a-very-long-service-name-that-goes-on-and-on")
    assert long != dashboards.service_uid("a-very-long-service-name-that-goes-on-and-on-2")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", dashboards.service_uid("payments.eu/v2"))


def test_generate_writes_dashboards_and_check_finds_them_current(tmp_path):
    runner = CliRunner()
    out = str(tmp_path / "out")
    result = runner.invoke(main, ["generate", *example_specs(), "--out", out])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out/dashboards").iterdir()) == [
        "slokit-overview.json", "slokit-svc-checkout.json", "slokit-svc-myservice.json", "slokit-svc-search.json"]
    assert runner.invoke(main, ["generate", *example_specs(), "--out", out, "--check"]).exit_code == 0
    (tmp_path / "out/dashboards/slokit-overview.json").write_text("{}")
    result = runner.invoke(main, ["generate", *example_specs(), "--out", out, "--check"])
    assert result.exit_code == 1 and "slokit-overview.json" in result.output


def test_users_extend_the_library_with_their_own_entry(tmp_path):
    entry = tmp_path / "mine.jsonnet"
    entry.write_text(textwrap.dedent("""
        local slokit = import 'slokit.libsonnet';
        function(model) (slokit + {
          config+:: { refresh: '30s' },
          sloPanels(model, slo):: super.sloPanels(model, slo) + [
            self.panel.timeseries('Pods up', [self.target('sum(up{job="%s"})' % slo.service)]),
          ],
        }).dashboards(model)
    """))
    result = CliRunner().invoke(main, ["generate", *example_specs(), "--out", str(tmp_path / "out"),
                                       "--dashboards-jsonnet", str(entry)])
    assert result.exit_code == 0, result.output
    checkout = json.loads((tmp_path / "out/dashboards/slokit-svc-checkout.json").read_text())
    assert checkout["refresh"] == "30s"
    pods = [p for p in dashboards.panels(checkout) if p["title"] == "Pods up"]
    assert [p["targets"][0]["expr"] for p in pods] == ['sum(up{job="checkout"})'] * 2
    jsonschema.validate(checkout, SCHEMA)


def test_a_broken_entry_is_an_error_message_not_a_traceback(tmp_path):
    entry = tmp_path / "broken.jsonnet"
    entry.write_text("function(model) { uid: 'x' } +")
    result = CliRunner().invoke(
        main, ["generate", *example_specs(), "--out", str(tmp_path), "--dashboards-jsonnet", str(entry)])
    assert result.exit_code == 2
    assert "broken.jsonnet" in result.output and "Traceback" not in result.output


def test_a_grouped_slo_gets_a_group_variable_its_panels_follow(write_spec):
    spec = write_spec("""
        version: slokit/v1
        service: web
        slos:
          - {name: availability, objective: 99, group_by: [route], sli: {http: {}}}
          - {name: latency, objective: 99, sli: {http: {latency: 300ms}}}
    """)
    [_, service] = dashboards.evaluate(dashboards.model(load([str(spec)]).slos))
    variables = {v["name"]: v for v in service["templating"]["list"]}
    assert variables["group_route"]["definition"] == (
        'label_values({__name__=~"slo:sli_error:ratio_rate.+",slo_service="$service"}, route)')
    exprs = dashboards.expressions(service)
    assert any('slo_name="availability",slo_service="web",route=~"$group_route"' in e for e in exprs)
    assert not any('slo_name="latency"' in e and "$group_route" in e for e in exprs)  # ungrouped SLOs ignore it
