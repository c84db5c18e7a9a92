"""Sloth's generate flags on `slokit generate` (with Sloth's expected outputs to compare), Sloth's AlertWindows
files, and slokit/v1's `windows:` section: one custom window table for rules, tests, runtime and status."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from slokit.cli import main
from slokit.runtime.engine import Engine
from slokit.spec import SpecError, load, tables
from slokit.status.budget import BudgetLedger
from tests.conftest import COMPAT, require
from tests.test_compat import SLOTH_GOLDEN, alert_conditions, sloth_golden

IN_BASE = str(SLOTH_GOLDEN / "in-base.yaml")
WINDOWS = str(SLOTH_GOLDEN / "windows")  # Sloth's 7d AlertWindows (test/integration/prometheus/windows)


def generate(tmp_path: Path, *args: str):
    result = CliRunner().invoke(main, ["generate", *args, "--out", str(tmp_path), "--quiet"])
    rules = tmp_path / "rules" / "svc01.yml"
    return result, (rules.read_text() if rules.exists() else "")


def rule_names(text: str, key: str) -> list[str]:
    return [r[key] for g in yaml.safe_load(text)["groups"] for r in g["rules"] if key in r]


@pytest.mark.parametrize("args,golden", [
    ((), "out-base.yaml.tpl"),
    (("--default-slo-period", "28d"), "out-base-28d.yaml.tpl"),  # Sloth's google-28d: 1h/5m windows, 13.44x
    (("--default-slo-period", "7d", "--slo-period-windows-path", WINDOWS), "out-base-custom-windows-7d.yaml.tpl"),
    (("--disable-recordings",), "out-base-no-recordings.yaml.tpl"),
])
def test_alerts_match_sloths_output_for_the_same_flags(tmp_path, args, golden):
    result, text = generate(tmp_path, IN_BASE, *args)
    assert result.exit_code == 0, result.output
    assert alert_conditions(text) == alert_conditions(sloth_golden(golden))


def test_disable_recordings_writes_alerts_only_and_no_tests(tmp_path):
    result = CliRunner().invoke(main, ["generate", IN_BASE, "--out", str(tmp_path), "--disable-recordings"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "rules" / "svc01.yml").read_text()
    assert rule_names(text, "record") == [] and rule_names(text, "alert")
    assert not (tmp_path / "rules" / "tests").exists()
    assert "--disable-recordings: 1 promtool test file(s) not written" in result.output
    check = subprocess.run([require("promtool"), "check", "rules", str(tmp_path / "rules" / "svc01.yml")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_disable_alerts_writes_recordings_only(tmp_path):
    result, text = generate(tmp_path, IN_BASE, "--disable-alerts")
    assert result.exit_code == 0, result.output
    assert rule_names(text, "alert") == [] and "slo:sli_error:ratio_rate5m" in rule_names(text, "record")
    assert "alert:" not in sloth_golden("out-base-no-alerts.yaml.tpl")  # what Sloth writes, too


def test_extra_labels_go_on_every_rule_as_sloths_do(tmp_path):
    result, text = generate(tmp_path, IN_BASE, "-l", "exk1=exv1", "--extra-labels", "exk2=exv2")
    assert result.exit_code == 0, result.output
    ours = [r["labels"] for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "record" in r]
    assert ours and all(labels["exk1"] == "exv1" and labels["exk2"] == "exv2" for labels in ours)
    theirs = [r["labels"] for g in yaml.safe_load(sloth_golden("out-base-extra-labels.yaml.tpl"))["groups"]
              for r in g["rules"] if "record" in r]
    assert all(labels["exk1"] == "exv1" and labels["exk2"] == "exv2" for labels in theirs)


@pytest.mark.parametrize("args,message", [
    (("-l", "team"), "'team': expected KEY=VALUE"),
    (("-l", "slo_name=x"), "'slo_name' is set by slokit itself"),
    (("-l", "bad-name=x"), "'bad-name' is not a Prometheus label name"),
    (("--default-slo-period", "30s"), "a period is whole seconds, at least 1m"),
    (("--default-slo-period", "month"), "Invalid value for '--default-slo-period'"),
])
def test_bad_flag_values_are_usage_errors(tmp_path, args, message):
    result, _ = generate(tmp_path, IN_BASE, *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "rules").exists()


def test_a_catalog_without_the_specs_period_is_refused_at_the_slo(tmp_path):
    result, _ = generate(tmp_path, IN_BASE, "--slo-period-windows-path", WINDOWS)
    assert result.exit_code == 2
    assert (f"{IN_BASE}:6: SLO 'svc01-slo1': no alert windows for its period 30d in {WINDOWS} (it has 7d)"
            in result.output)


def test_sloths_alert_windows_files_read_as_tables():
    catalog = tables.catalog(str(COMPAT / "sloth" / "windows"))
    assert sorted(catalog) == [7 * 86400, 30 * 86400]
    custom = catalog[30 * 86400]  # examples/windows/custom-30d.yaml: page 1% in 30m (and 2m)
    assert [(c.severity, c.short.name, c.long.name, c.factor) for c in custom.conditions] == [
        ("page", "2m", "30m", 14.4), ("page", "15m", "3h", 4.8), ("ticket", "1h", "12h", 3),
        ("ticket", "3h", "1d12h", 1)]


def test_bad_alert_windows_files_name_the_place(tmp_path):
    (tmp_path / "w.yaml").write_text(
        "apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 7d\n  page:\n"
        "    quick: {errorBudgetPercent: 8, shortWindow: 1h, longWindow: 5m}\n"
        "    slow: {errorBudgetPercent: 120, shortWindow: 30m, longWindow: 6h, extra: 1}\n"
        "  ticket:\n    quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 8d}\n")
    with pytest.raises(SpecError) as exc:
        tables.catalog(str(tmp_path))
    assert [str(p).removeprefix(f"{tmp_path}/w.yaml:") for p in exc.value.problems] == [
        "6: spec.page.quick: the short window (1h) must not be longer than the long one (5m)",
        "7: warning: spec.page.slow.extra: unknown field (allowed: errorBudgetPercent, shortWindow, longWindow); "
        "ignored",
        "7: spec.page.slow: spends 120% of the error budget: must be more than 0 and at most 100",
        "8: spec.ticket.slow: is required",
        "9: spec.ticket.quick: the long window 8d is longer than the period 7d",
    ]


# --- slokit/v1 `windows:`: the same table everywhere ---

CUSTOM = """
    version: slokit/v1
    service: shop
    period: 1h
    windows:                   # for every SLO below: page when a fifth of the hour's budget goes in 2m
      page: [{long: 2m, short: 10s, budget_percent: 20}]
      ticket: [{long: 6m, short: 1m, factor: 1.5}]
    slos:
      - name: availability
        objective: 99
        sli: {http: {}}
"""


def test_a_custom_table_is_used_by_rules_tests_runtime_and_status(write_spec, tmp_path):
    path = write_spec(CUSTOM)
    (slo,) = load([str(path)]).slos
    assert [(c.severity, c.short.seconds, c.long.seconds, c.factor) for c in slo.table.conditions] == [
        ("page", 10, 120, 6), ("ticket", 60, 360, 1.5)]
    assert Engine.for_slos([slo]).trackers[slo.key].window_seconds == (10, 60, 120, 360)
    assert BudgetLedger().add_slo(slo.key, slo.error_budget, slo.period, slo.table).width == 10
    result = CliRunner().invoke(main, ["generate", str(path), "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    rules = (tmp_path / "rules" / "shop.yml").read_text()
    assert {k[2]: v for k, v in alert_conditions(rules).items()} == {"page": [(10, 120, 6)],
                                                                     "ticket": [(60, 360, 1.5)]}
    tests = subprocess.run([require("promtool"), "test", "rules", "rules/tests/shop.test.yml"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_the_section_per_slo_wins_and_is_checked(write_spec):
    path = write_spec(CUSTOM.replace("        sli: {http: {}}", """        sli: {http: {}}
        windows:
          page: [{long: 2h, short: 5m, budget_percent: 10, factor: 2}, {long: 5m, short: 10m, budget_percent: 0}]
          ticket: []
"""))
    with pytest.raises(SpecError) as exc:
        load([str(path)])
    assert [str(p).removeprefix(f"{path}:") for p in exc.value.problems] == [
        "12: slos[0].windows.page[0]: needs exactly one of budget_percent (of the period's budget spent within the "
        "long window) or factor (times the error budget)",
        "12: slos[0].windows.page[1]: the short window (10m) must not be longer than the long one (5m)",
        "12: slos[0].windows.page[1]: spends 0% of the error budget: must be more than 0 and at most 100",
        "13: slos[0].windows.ticket: needs at least one window row",
    ]


def test_a_slokit_table_is_not_replaced_by_a_catalog(write_spec):
    from slokit.spec.options import Options

    (slo,) = load([str(write_spec(CUSTOM))], Options(windows=tables.catalog(WINDOWS), windows_source=WINDOWS)).slos
    assert slo.table.conditions[0].long.seconds == 120


def test_alert_windows_among_the_specs_are_named_not_read_as_slos():
    """An AlertWindows file among the specs (Sloth's examples/windows/) is named, not read as an SLO."""
    spec = load([str(COMPAT / "sloth" / "windows" / "7d.yaml"), IN_BASE])
    assert len(spec.slos) == 2
    assert any("AlertWindows" in w and "--slo-period-windows-path" in w for w in spec.warnings)
