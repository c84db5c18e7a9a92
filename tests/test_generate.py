"""Rule generation: deterministic, within Sloth's rule count, with the label contract other tools rely on."""

from __future__ import annotations

import dataclasses
import re

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from slokit import names, promql, queries
from slokit.generate import rules, yamlout
from slokit.generate.files import generate
from slokit.spec import load
from tests.conftest import EXAMPLES, ROOT


def example_files() -> dict[str, str]:
    return generate(load([str(EXAMPLES)]))[0]


def test_generation_is_byte_identical_on_rerun():
    assert example_files() == example_files()


def test_committed_rules_match_the_examples():
    """rules/ is golden output: regenerate with `slokit generate examples/ --out .`."""
    for name, text in example_files().items():
        if name.startswith("rules/"):
            assert (ROOT / name).read_text() == text, f"{name} is out of date"


def groups_of(slo):
    """The groups that record an SLO's series: its own and its scope's (the same rules whatever else the
    scope holds, bar the selector)."""
    return rules.rule_groups(slo) + [g for scope in rules.scopes([slo]) for g in rules.shared_groups(scope)]


def test_no_rule_reads_raw_series_beyond_the_raw_limit():
    """The cost of the rules: raw counters are read over the fastest page condition's windows at most (1h at
    30d, as the alerts need them fresh); every longer window and the period sum recorded event rates."""
    for slo in load([str(EXAMPLES)]).slos:
        limit = slo.table.raw_limit.seconds
        for group in groups_of(slo):
            for rule in group["rules"]:
                for metric, window in re.findall(r"([a-zA-Z_:][\w:]*)\{[^}]*\}\[(\w+)\]", rule["expr"]):
                    if not metric.startswith("slo:"):
                        assert promql.parse_duration(window) <= limit, (slo.id, rule.get("record"), window)


def test_every_window_and_the_period_get_an_error_ratio():
    for slo in load([str(EXAMPLES)]).slos:
        recorded = {r["labels"].get("slo_window") for g in groups_of(slo) for r in g["rules"]
                    if r.get("record", "").startswith(names.SLI_RECORD)}
        assert recorded == {w.name for w in slo.table.windows} | {slo.table.period.name}


def test_label_contract():
    files = example_files()
    doc = yaml.safe_load(files["rules/checkout.yml"])
    recorded = [r for g in doc["groups"] for r in g["rules"] if r.get("record", "").startswith("slo:sli_error")]
    assert {r["labels"]["slo_window"] for r in recorded} == {"5m", "30m"}  # from the SLI's queries
    assert all(r["labels"]["slo_service"] == "checkout" and r["labels"]["team"] == "payments" for r in recorded)
    # the longer windows and the period: once per scope, each SLO's series keeping the labels of what they read
    # (the generated promtool tests assert them, team="payments" included)
    shared = [g for name, text in files.items() if name.startswith("rules/_shared-")
              for g in yaml.safe_load(text)["groups"]]
    ratios = [r for g in shared for r in g["rules"] if r.get("record", "").startswith("slo:sli_error")]
    assert {r["labels"]["slo_window"] for r in ratios} == {"1h", "2h", "6h", "1d", "3d", "30d",  # and 28d's:
                                                           "56m", "1h52m", "5h36m", "22h24m", "2d19h12m", "28d"}
    assert all(set(r.get("labels", {})) <= {"slo_window"} for g in shared for r in g["rules"])
    alerts = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    group_of = {id(r): g["name"].removeprefix("slokit-checkout-") for g in doc["groups"] for r in g["rules"]}
    assert [(group_of[id(a)], a["alert"], a["labels"]["slo_severity"]) for a in alerts] == [
        ("availability-alerts", "CheckoutAvailability", "page"),
        ("availability-alerts", "CheckoutAvailability", "ticket"),
        ("availability-alerts", "CheckoutAvailabilityNoData", "ticket"),
        ("availability-alerts", "CheckoutAvailabilitySLIInvalid", "ticket"),
        ("availability-alerts", "CheckoutAvailabilityBudgetExhaustion", "ticket"),  # opted in by the spec
        ("latency-alerts", "CheckoutLatency", "page"),  # the spec disables the latency ticket
        ("latency-alerts", "CheckoutLatencyNoData", "ticket"),
        ("latency-alerts", "CheckoutLatencySLIInvalid", "ticket"),
    ]
    assert all(a["labels"]["slo_name"] == group_of[id(a)].split("-")[0] for a in alerts)
    assert alerts[0]["labels"]["channel"] == "pager" and alerts[5]["for"] == "2m"
    assert alerts[2]["for"] == "5m"  # no data: the shortest window


def test_scopes_select_exactly_their_slos():
    """SLOs of one kind share rules by service; a service whose SLOs are of several kinds (here checkout's
    latency SLO over 7d, its availability over 30d like myservice's) by SLO name, in groups named after it."""
    spec = load([str(EXAMPLES)])
    slos = [dataclasses.replace(s, period=7 * 86400) if s.id == "checkout-latency" else s for s in spec.slos]
    scopes = rules.scopes(slos)
    assert [(s.selector, s.table.period.name, s.service) for s in scopes] == [
        ('{slo_service=~"myservice"}', "30d", None),
        ('{slo_service="checkout",slo_name=~"availability"}', "30d", "checkout"),  # myservice's kind
        ('{slo_service="checkout",slo_name=~"latency"}', "7d", "checkout"),
        ('{slo_service=~"search"}', "28d", None),
    ]
    assert len({name for s in scopes for name in s.group_names}) == 8  # every group name once
    files = generate(dataclasses.replace(spec, slos=slos))[0]
    assert files.keys() >= {f"rules/{s.file}" for s in scopes}  # a file each: promtool lints per file


def test_http_shorthand_queries_the_middleware_metrics():
    slo = next(s for s in load([str(EXAMPLES)]).slos if s.id == "checkout-latency")
    objective = queries.Objective.of(slo)
    error, total = objective.errors("{{.window}}"), objective.total("{{.window}}")
    assert total == ('sum(rate(slokit_http_server_request_duration_seconds_count{route="/pay",service="checkout",'
                     'outcome=~"good|bad"}[{{.window}}]))')
    assert 'slokit_http_server_request_duration_seconds_bucket{route="/pay",service="checkout",le=~"0\\\\.3",' in error


def test_page_alert_uses_the_window_table():
    slo = next(s for s in load([str(EXAMPLES)]).slos if s.id == "search-query-latency")  # 28d, 99.5%
    expr = rules.alert_expr(slo, rules.windows.table(slo.period).by_severity("page"))
    assert "slo:sli_error:ratio_rate4m40s" in expr and "slo:sli_bad:rate56m" in expr  # 5m and 1h at 30d
    assert "(14.4 * 0.005)" in expr and "(6 * 0.005)" in expr


def test_every_burn_rate_alert_is_one_rule_group_from_the_sli():
    """Prometheus runs each rule group at its own offset, so every group between the SLI and an alert can
    delay it by one evaluation. Every burn-rate alert reads only what the SLO's own `-sli` group records (the
    short windows' ratios, the 1h rates), as Sloth's alerts read its SLI group, and past 1h the scope's count
    of the window's events older than 1h: those are an hour old at least, so a step's lag there moves only
    the window's far end, not its freshest part."""
    older_names = tuple(names.OLDER.values())
    for slo in load([str(EXAMPLES)]).slos:
        if slo.alerting is None:
            continue
        sli_group = rules.rule_groups(slo)[0]
        assert sli_group["name"].endswith("-sli")
        for severity in names.SEVERITIES:
            for conditions in slo.table.alerts(severity):
                read = set(re.findall(r"slo:[a-z_]+:[a-z_]+\w*", rules.alert_expr(slo, conditions)))
                older = {r for r in read if r.startswith(older_names)}
                assert read - older <= {r["record"] for r in sli_group["rules"]}, (slo.id, severity)
                assert read - older, (slo.id, severity)
                if severity == names.TICKET:
                    assert older, slo.id  # the ticket's windows are all past 1h


def test_other_output_formats():
    spec = load([str(EXAMPLES)])
    crd = yaml.safe_load(generate(spec, "prometheus-operator")[0]["rules/checkout.yml"])
    assert crd["kind"] == "PrometheusRule" and crd["metadata"]["name"] == "slokit-checkout"
    assert crd["spec"]["groups"][0]["name"] == "slokit-checkout-availability-sli"
    mimir = yaml.safe_load(generate(spec, "mimir")[0]["rules/search.yml"])
    assert mimir["namespace"] == "slokit-search" and len(mimir["groups"]) == 6  # 2 SLOs x sli, period, alerts
    scope = "rules/_shared-28d-events-d9bce2.yml"  # search's
    shared = yaml.safe_load(generate(spec, "prometheus-operator")[0][scope])
    assert shared["metadata"]["name"] == "slokit--28d-events-d9bce2"  # a double dash: no service's object's
    assert yaml.safe_load(generate(spec, "mimir")[0][scope])["namespace"] == "slokit-_shared-28d-events-d9bce2"


scalars = st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: "e" not in repr(f)))
trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                           max_size=4), max_leaves=20)


@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=10), trees, max_size=5))
def test_generated_yaml_reads_back_as_what_was_written(data):
    assert yaml.safe_load(yamlout.dump(data) or "{}") == (data or None) or data == {}
