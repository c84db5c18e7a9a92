"""The `alertmanager:` section and silence groups: parsed into the model, bad input named by file:line."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slokit.spec import SpecError, load
from slokit.spec.alertmanager import Matcher, groups, parse_matcher

SLO = """
  - name: {name}
    objective: 99.9
    sli:
      http: {{route: /pay}}
"""


def spec(tmp_path, service: str, head: str, names=("availability",), file: str | None = None) -> str:
    """A slokit/v1 spec file with `head` (YAML) before its SLOs."""
    path = tmp_path / (file or f"{service}.yml")
    path.write_text(f"version: slokit/v1\nservice: {service}\n{textwrap.dedent(head)}slos:\n"
                    + "".join(SLO.format(name=n) for n in names))
    return str(path)


def problems(*paths: str) -> list[str]:
    with pytest.raises(SpecError) as err:
        load(paths)
    return [str(p) for p in err.value.problems if not p.warning]


def test_section_is_read_into_the_model(tmp_path):
    path = spec(tmp_path, "checkout", """
        silence_group: payments
        alertmanager:
          page: {receiver: pager, repeat_interval: 30m}
          symptoms:
            - matchers: ['alertname="High5xx"', 'service="checkout"']
              equal: [team]
        labels: {team: payments}
    """)
    slo = load([path]).slos[0]
    assert slo.silence_group == "payments"
    assert slo.alertmanager.page.receiver == "pager"
    assert slo.alertmanager.page.repeat_interval == "30m"
    assert slo.alertmanager.ticket.repeat_interval == "1d"  # default
    assert slo.alertmanager.symptoms[0].matchers == (Matcher("alertname", "=", "High5xx"),
                                                     Matcher("service", "=", "checkout"))


def test_group_selects_exactly_its_slos_per_service(tmp_path):
    a = spec(tmp_path, "checkout", "silence_group: payments\n", names=("availability", "latency"))
    b = spec(tmp_path, "billing", "silence_group: payments\n")
    c = spec(tmp_path, "search", "silence_group: discovery\n")
    found, found_problems = groups(load([a, b, c]).slos)
    assert not found_problems
    assert [[m.text() for m in s] for s in found["payments"].selectors()] == [
        ['slo_service="billing"', 'slo_name="availability"'],
        ['slo_service="checkout"', 'slo_name=~"availability|latency"'],
    ]
    assert list(found) == ["discovery", "payments"]


@pytest.mark.parametrize("head, expected", [
    ("silence_group: p\nalertmanager:\n  page: {reciever: x}\n", "x.yml:5: alertmanager.page.reciever: unknown field "
                                                                  "(did you mean 'receiver'?)"),
    ("silence_group: p\nalertmanager:\n  symptoms:\n    - matchers: ['service=\"x']\n",
     "x.yml:6: alertmanager.symptoms[0].matchers[0]: 'service=\"x': the value's closing quote is missing"),
    ("silence_group: p\nalertmanager:\n  symptoms:\n    - matchers: ['service=~\"\"', 'env!=\"prod\"']\n",
     "x.yml:6: alertmanager.symptoms[0].matchers: would match every alert"),
    ("silence_group: p\nalertmanager:\n  symptoms:\n    - matchers: ['service=\"a\"', 'service=\"b\"']\n",
     "x.yml:6: alertmanager.symptoms[0].matchers: would match nothing: service=\"a\" and service=\"b\" cannot"),
    ("silence_group: p\nalertmanager:\n  symptoms:\n    - matchers: ['alertname=\"\"', 'service=\"b\"']\n",
     "x.yml:6: alertmanager.symptoms[0].matchers: would match nothing: every alert has an alertname"),
    ("silence_group: p\nalertmanager:\n  maintenance:\n"
     "    - {name: w, times: [{start_time: '7:00', end_time: '06:00'}]}\n",
     "x.yml:6: alertmanager.maintenance[0].times[0].start_time: '7:00' is not a time of day HH:MM"),
    ("silence_group: p\nalertmanager:\n  maintenance:\n    - {name: w, location: Mars/Olympus}\n",
     "x.yml:6: alertmanager.maintenance[0]: would mute the group all the time"),
    ("silence_group: p\nalertmanager:\n  maintenance:\n    - {name: w, weekdays: [friday:monday]}\n",
     "x.yml:6: alertmanager.maintenance[0].weekdays[0]: 'friday:monday' is not a weekday or an ascending range"),
    ("silence_group: p\nalertmanager:\n  maintenance:\n    - {name: w, weekdays: [saturday:sunday]}\n",
     "x.yml:6: alertmanager.maintenance[0].weekdays[0]: 'saturday:sunday' is not a weekday"),
    ("silence_group: p\nalertmanager:\n  maintenance:\n    - {name: w, months: [may]}\n"
     "    - {name: w, years: ['2027']}\n",
     "x.yml:7: alertmanager.maintenance[1].name: maintenance window 'w' is declared twice"),
    ("alertmanager:\n  page: {receiver: x}\n", "x.yml:3: alertmanager: needs a silence_group"),
    ("silence_group: 'pay ments'\n", "x.yml:6: silence_group: 'pay ments' must be letters, digits"),
])
def test_bad_section_is_named_by_file_and_line(tmp_path, head, expected):
    found = problems(spec(tmp_path, "x", head))
    assert any(expected in p for p in found), found


def test_symptoms_that_match_the_groups_own_slo_alerts_are_refused(tmp_path):
    # team="payments" is on the SLO alerts too: one SLO's page would inhibit the other SLO's page.
    path = spec(tmp_path, "checkout", """
        labels: {team: payments}
        silence_group: payments
        alertmanager:
          symptoms:
            - matchers: ['team="payments"']
    """)
    [found] = problems(path)
    assert found.startswith(f"{path}:8: alertmanager.symptoms[0]: matchers also match the group's own SLO alert")


def test_equal_on_a_label_the_pages_lack_is_refused(tmp_path):
    # Alertmanager compares an absent label as "": every page would inhibit every such symptom.
    path = spec(tmp_path, "checkout", """
        silence_group: payments
        alertmanager:
          symptoms:
            - matchers: ['alertname="High5xx"']
              equal: [namespace]
    """)
    [found] = problems(path)
    assert f"{path}:7: alertmanager.symptoms[0]: equal: label 'namespace' is not on the page alert" in found


def test_conflicting_settings_for_one_group_point_at_both_files(tmp_path):
    a = spec(tmp_path, "checkout", "silence_group: payments\nalertmanager:\n  page: {receiver: pager-a}\n")
    b = spec(tmp_path, "billing", "silence_group: payments\nalertmanager:\n  page: {receiver: pager-b}\n")
    [found] = problems(a, b)
    assert found.startswith(f"{b}:4: alertmanager: conflicts with the settings of silence group 'payments' at {a}:4")


def test_equal_settings_in_several_files_are_no_conflict(tmp_path):
    head = "silence_group: payments\nalertmanager:\n  page: {receiver: pager}\n"
    assert len(load([spec(tmp_path, "checkout", head), spec(tmp_path, "billing", head)]).slos) == 2


def test_one_symptom_claimed_by_two_groups_conflicts(tmp_path):
    head = "silence_group: {g}\nalertmanager:\n  symptoms:\n    - matchers: ['alertname=\"NodeDown\"']\n"
    a = spec(tmp_path, "checkout", head.format(g="payments"))
    b = spec(tmp_path, "search", head.format(g="discovery"))
    [found] = problems(a, b)
    assert "conflicting silence groups: these alerts are already covered by group 'discovery'" in found


def test_group_without_alerts_would_silence_nothing(tmp_path):
    path = tmp_path / "quiet.yml"
    path.write_text("version: slokit/v1\nservice: quiet\nsilence_group: q\nslos:\n"
                    "  - name: a\n    objective: 99\n    alerting: false\n    sli: {http: {route: /}}\n")
    [found] = problems(str(path))
    assert found.startswith(f"{path}:5: silence_group: silence group 'q' has no alerts")


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=20), st.sampled_from(["=", "!="]))
def test_matcher_text_round_trips_any_value(value, op):
    matcher = Matcher("service", op, value)
    assert parse_matcher(matcher.text()) == matcher


def test_matcher_text_escapes_like_alertmanager():
    assert Matcher("path", "=", 'say "hi"\\now\n').text() == 'path="say \\"hi\\"\\\\now\\n"'
    assert parse_matcher('service = checkout') == Matcher("service", "=", "checkout")  # unquoted, as amtool allows
    with pytest.raises(ValueError, match="invalid regular expression"):
        parse_matcher('alertname=~"(unclosed"')
