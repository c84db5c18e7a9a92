"""Degrade policy files: validation with file:line, hot reload, switches and their overrides."""

from __future__ import annotations

import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests
from click.testing import CliRunner

from slokit.cli import main
from slokit.errors import SlokitError, SpecError
from slokit.runtime import (
    Decisions,
    ManualClock,
    PolicyReloader,
    Runtime,
    Switches,
    UnknownTarget,
    admin_app,
    load_policy,
    parse_policy,
    request_listener,
)
from slokit.spec.loader import load
from slokit.spec.model import SLO, HttpSLI, Source
from slokit.spec.policy import read_section
from slokit.spec.source import read_documents
from tests.conftest import EXAMPLES

SLOS = load([str(EXAMPLES / "checkout.yml")]).slos
GOOD_POLICY = """\
version: slokit/policy/v1
rules:
  - name: protect
    slo: checkout-availability
    when: {severity: page}
    recover: {burn_below: 1, windows: [5m], hold: 10m}
    open_breakers: [payments]
    disable_switches: [recommendations]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_policy("policy.yml", text, SLOS)
    return [str(p) for p in info.value.problems]


def test_runtime_loads_specs_and_policy_files() -> None:
    runtime = Runtime.load([str(EXAMPLES / "checkout.yml")], str(EXAMPLES / "policy.yml"), environ={})
    assert set(runtime.breakers) == {"payments"} and runtime.breaker("payments").config.min_calls == 20
    assert runtime.switches.names == ("gift-wrap-preview", "recommendations")
    assert runtime.evaluate_every == 30.0  # one engine bucket of a 30d SLO


def test_an_unknown_breaker_or_switch_is_an_error_naming_the_known_ones() -> None:
    runtime = Runtime(parse_policy("policy.yml", GOOD_POLICY, SLOS), SLOS, clock=ManualClock(), environ={})
    with pytest.raises(UnknownTarget) as info:
        runtime.breaker("paymnets")
    assert str(info.value) == "no breaker 'paymnets' in the policy (known: payments)"
    assert isinstance(info.value, SlokitError) and isinstance(info.value, KeyError)
    with pytest.raises(UnknownTarget, match=r"^no switch 'recomendations' in the policy \(known: recommendations\)$"):
        runtime.enabled("recomendations")


def test_generate_refuses_a_bad_policy_section_and_writes_nothing(write_spec, tmp_path: Path) -> None:
    path = write_spec("""\
        version: slokit/v1
        service: shop
        slos:
          - {name: availability, objective: 99.9, sli: {http: {}}}
        policy:
          rules: [{name: r, slo: shop-availabilty, when: {severity: page}, open_breakers: [x]}]
        """)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["generate", str(path), "--out", str(out)])
    assert result.exit_code == 2 and f"{path}:6: policy.rules[0].slo: no SLO 'shop-availabilty'" in result.output
    assert not out.exists()


def test_example_policy_is_valid_and_complete() -> None:
    policy = load_policy(str(EXAMPLES / "policy.yml"), SLOS)
    assert [r.name for r in policy.rules] == ["protect-checkout", "shed-extras-when-slow"]
    assert policy.rules[0].hold == 600 and policy.rules[0].recover_windows == (300, 1800)
    assert policy.breakers["payments"].slow_call == 2 and policy.breakers["payments"].min_calls == 20
    assert set(policy.switches) == {"recommendations", "gift-wrap-preview"}


def test_errors_name_file_line_and_field() -> None:
    assert problems("""\
version: slokit/policy/v1
rules:
  - name: protect
    slo: checkout-availabilty
    when: {severity: page}
    open_breakers: [payments]
  - name: slow
    slo: checkout-latency
    when:
      burn_above: 6
      windows: [30m, 7h]
    recover: {burn_below: 8, hold: soon}
    disable_switches: [recommendations]
breakers:
  payments: {failure_rate: 150, window: sliding}
""") == [
        "policy.yml:4: rules[0].slo: no SLO 'checkout-availabilty' in the specs "
        "(did you mean 'checkout-availability'?)",
        "policy.yml:11: rules[1].when.windows[1]: 7h is not a window of this SLO's table; use one of "
        "5m, 30m, 1h, 2h, 6h, 1d, 3d",
        "policy.yml:12: rules[1].recover.burn_below: 8 is above the trip threshold 6: the rule would flap; "
        "recover below a lower burn (hysteresis)",
        "policy.yml:12: rules[1].recover.hold: 'soon' is not a duration like 30s, 5m, 1h30m, 28d",
        "policy.yml:15: breakers.payments.failure_rate: must be a percentage in (0, 100]",
        "policy.yml:15: breakers.payments.window: must be one of count, time",
    ]


def test_a_rule_needs_a_condition_and_a_target() -> None:
    assert problems("version: slokit/policy/v1\nrules:\n  - name: x\n    slo: checkout-latency\n    when: {}\n") == [
        "policy.yml:5: rules[0].when: needs either severity (page|ticket) or burn_above with windows",
        "policy.yml:3: rules[0]: needs open_breakers or disable_switches (a rule that does nothing is a mistake)",
    ]


def test_policy_inside_a_spec_keeps_file_and_line(write_spec) -> None:
    path = write_spec("""\
        version: slokit/v1
        service: shop
        slos:
          - name: availability
            objective: 99.9
            sli: {http: {route: /buy}}
            policy:
              rules:
                - name: protect
                  when: {severity: page}
                  open_breakers: [stock]
                - name: typo
                  when: {severity: pager}
                  open_breakers: [stock]
        """)
    with pytest.raises(SpecError) as info:  # read with the specs: a bad section refuses the whole load
        load([str(path)])
    assert [str(p) for p in info.value.problems] == [
        f"{path}:13: slos[0].policy.rules[1].when.severity: must be one of page, ticket"]
    path.write_text(path.read_text().replace("pager", "ticket"))
    policy = load([str(path)]).policy
    assert [(r.name, r.slo, r.slo_id, r.severity) for r in policy.rules] == [
        ("protect", ("shop", "availability"), "shop-availability", "page"),
        ("typo", ("shop", "availability"), "shop-availability", "ticket")]


def test_a_service_level_section_may_name_an_slo_of_another_file(write_spec) -> None:
    other = write_spec("""\
        version: slokit/v1
        service: stock
        slos:
          - {name: availability, objective: 99.9, sli: {http: {}}}
        """, name="stock.yml")
    shop = write_spec("""\
        version: slokit/v1
        service: shop
        slos:
          - {name: availability, objective: 99.9, sli: {http: {}}}
        policy:
          rules:
            - {name: stock-down, slo: stock-availability, when: {severity: page}, disable_switches: [stock-badge]}
        """, name="shop.yml")
    policy = load([str(other), str(shop)]).policy
    assert [(r.name, r.slo) for r in policy.rules] == [("stock-down", ("stock", "availability"))]
    assert policy.switches == {"stock-badge": True}


def _slo(service: str, name: str, line: int) -> SLO:
    return SLO(service, name, 99.9, 30 * 86400, HttpSLI(service), None, source=Source("slos.yml", line, "slokit/v1"))


def test_a_reference_two_slos_share_is_an_error_naming_both() -> None:
    """Service `a-b` SLO `c` and service `a` SLO `b-c` are two SLOs, both written `a-b-c` in a policy."""
    slos = [_slo("a-b", "c", 4), _slo("a", "b-c", 9)]
    [doc] = read_documents("policy.yml", "rules:\n  - name: r\n    slo: a-b-c\n    when: {severity: page}\n"
                                         "    open_breakers: [x]\n")
    read_section(doc, (), doc.data, slos)
    assert [str(p) for p in doc.problems] == [
        "policy.yml:3: rules[0].slo: 'a-b-c' names SLO 'c' of service 'a-b' (slos.yml:4) and SLO 'b-c' of "
        "service 'a' (slos.yml:9); rename one, or put the rule in that SLO's own policy section"]
    [doc] = read_documents("policy.yml", "rules:\n  - {name: r, when: {severity: page}, open_breakers: [x]}\n")
    policy = read_section(doc, (), doc.data, slos, default_slo=("a", "b-c"))  # an SLO's own section
    assert not doc.problems and policy.rules[0].slo == ("a", "b-c")


def test_colliding_ids_load_as_two_slos_and_policy_sections_keep_them_apart(write_spec) -> None:
    path = write_spec("""\
        version: slokit/v1
        service: a-b
        slos:
          - name: c
            objective: 99.9
            sli: {http: {route: /c}}
            policy:
              rules: [{name: own, when: {severity: page}, open_breakers: [c]}]
        ---
        version: slokit/v1
        service: a
        slos:
          - {name: b-c, objective: 99.9, sli: {http: {route: /bc}}}
        policy:
          rules: [{name: shared, slo: a-b-c, when: {severity: page}, open_breakers: [bc]}]
        """)
    with pytest.raises(SpecError) as info:
        load([str(path)])
    assert [p.line for p in info.value.problems] == [15] and "names SLO 'c' of service 'a-b'" in str(info.value)
    path.write_text(path.read_text().replace("slo: a-b-c, ", ""))  # a service-level rule without slo:
    with pytest.raises(SpecError, match="rules\\[0\\].slo: is required"):
        load([str(path)])
    path.write_text(path.read_text().replace("{name: shared, ", "{name: shared, slo: a-b-cc, "))
    with pytest.raises(SpecError, match="no SLO 'a-b-cc' in the specs \\(did you mean 'a-b-c'\\?\\)"):
        load([str(path)])
    path.write_text(path.read_text().replace("  rules: [{name: shared, slo: a-b-cc, when: {severity: page}, "
                                             "open_breakers: [bc]}]\n", "  breakers: {bc: {}}\n  rules: []\n"))
    spec = load([str(path)])
    assert [s.key for s in spec.slos] == [("a-b", "c"), ("a", "b-c")]
    assert [(r.name, r.slo) for r in spec.policy.rules] == [("own", ("a-b", "c"))]
    runtime = Runtime(spec.policy, spec.slos, clock=ManualClock(), environ={})
    assert set(runtime.slos) == {("a-b", "c"), ("a", "b-c")} and set(runtime.engine.trackers) == set(runtime.slos)


def test_hot_reload_applies_good_files_and_keeps_the_old_policy_on_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(GOOD_POLICY)
    runtime = Runtime(load_policy(str(path), SLOS), SLOS, clock=ManualClock(), environ={})
    reloader = PolicyReloader(str(path), SLOS, runtime)
    assert not reloader.check()  # unchanged
    path.write_text(GOOD_POLICY.replace("hold: 10m", "hold: 20m"))
    assert reloader.check() and runtime.policy.rules[0].hold == 1200
    path.write_text(GOOD_POLICY.replace("severity: page", "severity: pager"))
    assert not reloader.check()
    assert runtime.policy.rules[0].severity == "page" and runtime.policy.rules[0].hold == 1200
    assert reloader.errors == [f"{path}:5: rules[0].when.severity: must be one of page, ticket"]
    breaker = runtime.breaker("payments")
    path.write_text(GOOD_POLICY.replace("[payments]", "[payments, search]"))
    assert reloader.check() and runtime.breaker("payments") is breaker and "search" in runtime.breakers
    assert reloader.errors == []


def test_switch_overrides_from_env_and_file(tmp_path: Path) -> None:
    overrides = tmp_path / "switches.yml"
    overrides.write_text("recommendations: off\n")
    path = tmp_path / "policy.yml"
    path.write_text(GOOD_POLICY + f"switches:\n  gift-wrap: {{default: on}}\noverrides_file: {overrides}\n")
    runtime = Runtime(load_policy(str(path), SLOS), SLOS, clock=ManualClock(),
                      environ={"SLOKIT_SWITCH_GIFT_WRAP": "off"})
    reloader = PolicyReloader(str(path), SLOS, runtime)
    assert not runtime.enabled("recommendations") and not runtime.enabled("gift-wrap")
    with pytest.raises(UnknownTarget, match=r"no switch 'no-such-switch' in the policy \(known: gift-wrap, "
                                            r"recommendations\)"):
        runtime.enabled("no-such-switch")  # a typo fails loudly instead of silently leaving a feature on
    overrides.write_text("recommendations: auto\n")
    reloader.check()
    assert runtime.enabled("recommendations")
    reasons = [(t.target, t.to_state, t.reason) for t in runtime.decisions.recent]
    assert ("switch:recommendations", "on", "override:file") in reasons


def test_admin_endpoint_needs_the_token() -> None:
    switches = Switches({"recommendations": True}, ManualClock(), Decisions())
    with pytest.raises(ValueError):
        admin_app(switches, "")

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = make_server("127.0.0.1", 0, admin_app(switches, "s3cret"), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/switches"
    try:
        assert requests.put(url + "/recommendations", data="off", timeout=5).status_code == 401
        assert requests.put(url + "/recommendations", data="off", timeout=5,
                            headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert switches.enabled("recommendations")
        auth = {"Authorization": "Bearer s3cret"}
        answer = requests.put(url + "/recommendations", data="off", headers=auth, timeout=5)
        assert answer.status_code == 200 and answer.json()["enabled"] is False
        assert not switches.enabled("recommendations")
        assert requests.get(url, headers=auth, timeout=5).json()["recommendations"]["override_from"] == "http"
        assert requests.put(url + "/nope", data="off", headers=auth, timeout=5).status_code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_requests_through_the_middleware_listener_open_the_breaker() -> None:
    """The whole loop in-process: middleware calls -> engine -> page-level burn -> breaker open, switch off."""
    clock = ManualClock()
    runtime = Runtime(parse_policy("policy.yml", GOOD_POLICY, SLOS), SLOS, clock=clock, environ={})
    listener = request_listener(runtime.engine, SLOS, service="checkout")
    for second in range(7 * 3600):
        for _ in range(10):
            listener("/pay", "bad" if second >= 6 * 3600 else "good", 0.05)
        clock.advance(1)
        if second % 30 == 0:
            runtime.evaluate()
        if not runtime.breaker("payments").allow():
            break
    assert not runtime.enabled("recommendations")
    # all-bad traffic: 1h reaches 14.4x after 0.0144 * 3600 = 52s (one bucket of slack)
    assert 6 * 3600 + 52 <= clock.now <= 6 * 3600 + 52 + 31


def test_validate_warns_about_policies_that_can_lock_a_service_out(tmp_path: Path) -> None:
    (tmp_path / "checkout.yml").write_text((EXAMPLES / "checkout.yml").read_text())
    policy = tmp_path / "policy.yml"
    policy.write_text("""\
version: slokit/policy/v1
rules:
  - name: protect
    slo: checkout-availability
    when: {severity: page}
    recover: {burn_below: 1, windows: [5m, 1h], hold: 10m}
    open_breakers: [payments, search]
  - name: quick
    slo: checkout-latency
    when: {burn_above: 6, windows: [30m, 6h]}
    recover: {hold: 10s}
    open_breakers: [payments]
breakers:
  search: {fallback: true}
source:
  prometheus: {url: "http://prometheus:9090"}
""")
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "2 SLO(s) valid in 1 file(s); 1 policy file(s) valid" in result.stdout
    warnings = result.stderr.splitlines()
    assert [w.split(": warning: ")[0] for w in warnings] == [f"{policy}:6", f"{policy}:7", f"{policy}:11"]
    assert warnings[0].endswith("rules[0].recover.windows: recovery window 1h is longer than the hold (10m) and no "
                                "trip condition needs it (their short windows are 5m, 30m): the errors that tripped "
                                "the rule stay in it for up to 1h, so the rule can stay active that long after the "
                                "fault ends, not 10m; recover on the short windows")
    # payments fails requests when it refuses (no fallback); search does not; a latency SLO is not hurt by refusals
    assert "rules[0].open_breakers[0]: while this rule holds breaker 'payments' open, its refused calls fail " \
           "requests of checkout-availability, and the Prometheus source counts them as errors" in warnings[1]
    assert "rules[1].recover.hold: the hold (10s) is shorter than breaker 'payments''s open_for (30s)" in warnings[2]
    policy.write_text(policy.read_text().replace("fallback: true", "fallback: maybe"))
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 2 and f"{policy}:14: breakers.search.fallback: must be true or false" in result.stderr


def test_the_example_policy_and_a_default_rule_raise_no_warning() -> None:
    assert load_policy(str(EXAMPLES / "policy.yml"), SLOS).warnings == ()
    policy = parse_policy("policy.yml", "version: slokit/policy/v1\nrules:\n  - {name: r, slo: checkout-availability, "
                                        "when: {severity: page}, open_breakers: [payments]}\n", SLOS)
    # recovery by default reads the short window of each page condition, held for the shortest window
    assert policy.rules[0].recover_windows == (300, 1800) and policy.rules[0].hold == 300
    assert policy.warnings == ()
