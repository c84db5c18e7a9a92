"""Generated Alertmanager config: routes, inhibit rules, time intervals; merged into a user's config.

Every config written here is checked by Debian's `amtool check-config`.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from slokit.cli import main
from slokit.spec.alertmanager import Matcher, parse_matcher

EXAMPLE = str(Path(__file__).parent.parent / "examples" / "checkout.yml")
BASE = textwrap.dedent("""\
    global:
      resolve_timeout: 5m
    route:
      receiver: ops
      group_by: [alertname]
      routes:
        - matchers: ['team="payments"']
          receiver: payments-email
    receivers:
      - name: ops
      - name: payments-email
      - name: payments-pager
        webhook_configs: [{url: 'http://127.0.0.1:1/pager'}]
    inhibit_rules:
      - source_matchers: ['severity="critical"']
        target_matchers: ['severity="warning"']
        equal: [alertname]
    time_intervals:
      - name: weekends
        time_intervals: [{weekdays: [saturday, sunday]}]
""")


def amtool_check(path: Path) -> str:
    amtool = shutil.which("amtool")
    assert amtool, "amtool not installed (bash scripts/test.sh installs prometheus-alertmanager)"
    result = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def generate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["generate", *args])
    return result.exit_code, result.output


def test_example_config_passes_amtool(tmp_path):
    code, output = generate(EXAMPLE, "--out", str(tmp_path))
    assert code == 0, output
    out = amtool_check(tmp_path / "alertmanager" / "alertmanager.yml")
    assert "3 receivers" in out and "2 inhibit rules" in out
    config = yaml.safe_load((tmp_path / "alertmanager" / "alertmanager.yml").read_text())
    [group_route] = config["route"]["routes"]
    assert group_route["matchers"] == ['slokit_managed=""', 'slo_service="checkout"',
                                       'slo_name=~"availability|latency"']
    assert group_route["group_by"] == ["alertname", "slo_service", "slo_name"]
    page, ticket = group_route["routes"]
    assert (page["receiver"], page["repeat_interval"]) == ("payments-pager", "1h")
    assert (ticket["receiver"], ticket["repeat_interval"]) == ("payments-tickets", "1d")
    assert page["mute_time_intervals"] == ["slokit-payments-weekly-db-upgrade"]
    page_inhibits_ticket, page_inhibits_symptoms = config["inhibit_rules"]
    assert page_inhibits_ticket["target_matchers"][0] == 'slo_severity="ticket"'
    assert page_inhibits_ticket["equal"] == ["slo_service", "slo_name"]
    assert page_inhibits_symptoms["equal"] == ["team"]


def test_merge_keeps_the_users_config_and_rerun_replaces_instead_of_duplicating(tmp_path):
    spec = tmp_path / "checkout.yml"
    spec.write_text(Path(EXAMPLE).read_text().replace("receiver: payments-tickets", "receiver: payments-email"))
    base = tmp_path / "alertmanager.yml"
    base.write_text(BASE)
    code, output = generate(str(spec), "--out", str(tmp_path / "a"), "--alertmanager-base", str(base))
    assert code == 0, output
    merged_path = tmp_path / "a" / "alertmanager" / "alertmanager.yml"
    amtool_check(merged_path)
    merged = yaml.safe_load(merged_path.read_text())
    assert merged["global"] == {"resolve_timeout": "5m"}
    assert merged["route"]["receiver"] == "ops"
    # The group's route comes first, so the user's broad team="payments" route does not catch SLO alerts.
    assert [r["matchers"][0] for r in merged["route"]["routes"]] == ['slokit_managed=""', 'team="payments"']
    assert [r["name"] for r in merged["receivers"]] == ["ops", "payments-email", "payments-pager",
                                                        "payments-tickets"]
    # The spec declares payments-pager too: the spec's definition replaces the base's.
    assert merged["receivers"][2]["webhook_configs"][0]["url"] == "http://pager.example.com/hooks/payments"
    assert merged["inhibit_rules"][0]["source_matchers"] == ['severity="critical"']
    assert len(merged["inhibit_rules"]) == 3
    assert [t["name"] for t in merged["time_intervals"]] == ["weekends", "slokit-payments-weekly-db-upgrade"]

    # Merging into the merged file again changes nothing: slokit's marked parts are replaced in place.
    code, output = generate(str(spec), "--out", str(tmp_path / "b"), "--alertmanager-base", str(merged_path))
    assert code == 0, output
    assert (tmp_path / "b" / "alertmanager" / "alertmanager.yml").read_text() == merged_path.read_text()


def test_rerun_after_the_group_is_removed_leaves_only_the_users_parts(tmp_path):
    base = tmp_path / "alertmanager.yml"
    base.write_text(BASE)
    code, output = generate(EXAMPLE, "--out", str(tmp_path / "a"), "--alertmanager-base", str(base))
    assert code == 0, output
    no_group = tmp_path / "search.yml"
    no_group.write_text((Path(EXAMPLE).parent / "search-28d.yml").read_text())
    code, output = generate(str(no_group), "--out", str(tmp_path / "b"), "--alertmanager-base",
                            str(tmp_path / "a" / "alertmanager" / "alertmanager.yml"))
    assert code == 0, output
    again = yaml.safe_load((tmp_path / "b" / "alertmanager" / "alertmanager.yml").read_text())
    original = yaml.safe_load(BASE)
    assert again["route"] == original["route"]
    assert again["inhibit_rules"] == original["inhibit_rules"]
    assert again["time_intervals"] == original["time_intervals"]


def test_unknown_receiver_is_reported_with_file_and_line_and_nothing_is_written(tmp_path):
    spec = tmp_path / "checkout.yml"
    spec.write_text(Path(EXAMPLE).read_text().replace("receiver: payments-tickets", "receiver: payments-jira"))
    code, output = generate(str(spec), "--out", str(tmp_path / "out"))
    assert code == 2
    line = spec.read_text().splitlines().index("    receiver: payments-jira") + 1
    assert f"{spec}:{line}: alertmanager.ticket.receiver: unknown receiver 'payments-jira'" in output
    assert not (tmp_path / "out").exists()


def test_receiver_known_only_to_the_base_config_is_accepted(tmp_path):
    spec = tmp_path / "checkout.yml"
    spec.write_text(textwrap.dedent("""\
        version: slokit/v1
        service: checkout
        silence_group: payments
        alertmanager:
          page: {receiver: payments-pager}
          ticket: {receiver: payments-email}
        slos:
          - {name: availability, objective: 99.9, sli: {http: {route: /pay}}}
    """))
    base = tmp_path / "alertmanager.yml"
    base.write_text(BASE)
    code, output = generate(str(spec), "--out", str(tmp_path / "with-base"), "--alertmanager-base", str(base))
    assert code == 0, output
    amtool_check(tmp_path / "with-base" / "alertmanager" / "alertmanager.yml")
    code, output = generate(str(spec), "--out", str(tmp_path / "no-base"))
    assert code == 2 and "unknown receiver 'payments-pager'" in output


def test_base_config_without_a_root_receiver_is_refused(tmp_path):
    base = tmp_path / "alertmanager.yml"
    base.write_text("route:\n  group_by: [alertname]\nreceivers: []\n")
    code, output = generate(EXAMPLE, "--out", str(tmp_path / "out"), "--alertmanager-base", str(base))
    assert code == 2
    assert f"{base}:1: route: needs a root route with a receiver" in output
    base.write_text("route:\n  receiver: ops\nreceivers: [\n")
    code, output = generate(EXAMPLE, "--out", str(tmp_path / "out"), "--alertmanager-base", str(base))
    assert code == 2 and f"{base}:4: invalid YAML" in output
    assert not (tmp_path / "out").exists()


def routes_test(config: Path, *labels: str) -> str:
    """The receiver amtool's router picks for an alert with these labels."""
    result = subprocess.run(["amtool", "config", "routes", "test", "--config.file", str(config), *labels],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_amtool_routes_pages_and_tickets_to_the_groups_receivers(tmp_path):
    code, output = generate(EXAMPLE, "--out", str(tmp_path))
    assert code == 0, output
    config = tmp_path / "alertmanager" / "alertmanager.yml"
    slo = ("alertname=CheckoutLatency", "slo_service=checkout", "slo_name=latency")
    assert routes_test(config, *slo, "slo_severity=page") == "payments-pager"
    assert routes_test(config, *slo, "slo_severity=ticket") == "payments-tickets"
    assert routes_test(config, "alertname=CheckoutLatency", "slo_service=search", "slo_name=latency",
                       "slo_severity=page") == "default"


def example_with(tmp_path: Path, key: str, value: object) -> dict:
    """The config generated from the example spec with alertmanager.<key> replaced; amtool-checked."""
    data = yaml.safe_load(Path(EXAMPLE).read_text())
    data["alertmanager"][key] = value
    spec = tmp_path / "checkout.yml"
    spec.write_text(yaml.safe_dump(data))
    code, output = generate(str(spec), "--out", str(tmp_path))
    assert code == 0, output
    path = tmp_path / "alertmanager" / "alertmanager.yml"
    amtool_check(path)
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("value", ['say "hi"', "back\\slash", "a,b}", "line\nbreak", "ünï"])
def test_odd_label_values_are_escaped_so_amtool_accepts_them(tmp_path, value):
    symptoms = [{"matchers": ['alertname="Odd"', Matcher("service", "=", value).text()]}]
    written = example_with(tmp_path, "symptoms", symptoms)["inhibit_rules"][1]["target_matchers"][1]
    assert parse_matcher(written) == Matcher("service", "=", value)


def test_every_maintenance_field_reaches_alertmanager_as_it_reads_it(tmp_path):
    config = example_with(tmp_path, "maintenance", [
        {"name": "month-end", "days_of_month": ["-3:-1", "1"], "months": ["january:march", "12"],
         "years": ["2026:2027"], "times": [{"start_time": "22:00", "end_time": "24:00"}], "location": "Europe/Berlin"},
        {"name": "weekends", "weekdays": ["saturday", "sunday"]},
    ])
    assert [t["name"] for t in config["time_intervals"]] == ["slokit-payments-month-end", "slokit-payments-weekends"]
    assert config["time_intervals"][0]["time_intervals"][0]["days_of_month"] == ["-3:-1", "1"]
    assert config["route"]["routes"][0]["routes"][1]["mute_time_intervals"] == [
        "slokit-payments-month-end", "slokit-payments-weekends"]
