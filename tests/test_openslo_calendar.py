"""Calendar-aligned periods (OpenSLO `isRolling: false`, slokit/v1 `calendar:`): the budget starts over at the
month or week boundary in the generated rules, proven in promtool; the period's number is the same in PromQL
and in Python; what does not map is refused with file:line:field."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from slokit import names, promql
from slokit.cli import main
from slokit.generate.files import generate
from slokit.spec import SpecError, load
from slokit.windows import Calendar
from tests.conftest import require


def openslo(window: str) -> str:
    return f"""
apiVersion: openslo/v1
kind: SLO
metadata: {{name: checkout-availability}}
spec:
  service: checkout
  indicator:
    metadata: {{name: errors}}
    spec:
      ratioMetric:
        counter: true
        bad: {{metricSource: {{type: Prometheus, spec: {{query: 'sum(http_requests_total{{code=~"5.."}})'}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: sum(http_requests_total)}}}}}}
  timeWindow:
    - {window}
  budgetingMethod: Occurrences
  objectives: [{{target: 0.999}}]
"""


CALENDAR = "duration: {}\n      isRolling: false\n      calendar: {{startTime: {}, timeZone: America/New_York}}"
MONTH_NY = CALENDAR.format("1M", '"2022-01-01 00:00:00"')
WEEK_NY = CALENDAR.format("1w", "2022-01-01 12:00:00")  # unquoted: YAML reads a timestamp


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def test_a_month_in_new_york_reads_as_a_calendar(write_spec):
    spec = load([str(write_spec(openslo(MONTH_NY)))])
    (slo,) = spec.slos
    assert slo.period == 30 * 86400  # the window table scales to a nominal month
    assert slo.calendar == Calendar(months=1, seconds=0, start=utc(2022, 1, 1, 5), offset=-5 * 3600)
    # Boundaries at local midnight of the 1st, in New York's standard time (UTC-05:00) all year.
    assert [datetime.fromtimestamp(slo.calendar.boundary_after(utc(2023, m, 10)), tz=UTC) for m in (1, 6)] == [
        datetime(2023, 2, 1, 5, tzinfo=UTC), datetime(2023, 7, 1, 5, tzinfo=UTC)]
    assert len(spec.warnings) == 1 and "observes daylight saving time" in spec.warnings[0]


# Calendars whose boundaries PromQL must find where Python does: UTC and New York months, a quarter starting on
# the 15th at 06:00 in Berlin (UTC+01:00 at the start), New York weeks from a Saturday noon, and days.
CALENDARS = {
    "utc month": Calendar(1, 0, utc(2022, 1, 1), 0),
    "new york month": Calendar(1, 0, utc(2022, 1, 1, 5), -18000),
    "berlin quarter": Calendar(3, 0, utc(2022, 1, 15, 5), 3600),
    "new york week": Calendar(0, 7 * 86400, utc(2022, 1, 1, 17), -18000),
    "utc days": Calendar(0, 3 * 86400, utc(2022, 1, 1), 0),
}


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_the_period_number_in_promql_is_pythons_at_every_boundary(name, tmp_path):
    """The rules' period number (calendar.index_promql), evaluated by promtool a second before and after each
    boundary of the first 100 days, and at two in 1971 (one in summer), is Calendar.index."""
    calendar = CALENDARS[name]
    times, t = [], 0
    while (t := calendar.boundary_after(t)) < 100 * 86400:
        times += [t - 1, t]
    times += [calendar.boundary_after(utc(1971, 1, 20)), calendar.boundary_after(utc(1971, 7, 20)) - 1]
    (tmp_path / "none.yml").write_text("groups: []\n")
    checks = [{"expr": calendar.index_promql(), "eval_time": f"{s}s",
               "exp_samples": [{"labels": "{}", "value": calendar.index(s)}]} for s in times if s > 0]
    assert len(checks) >= 4
    (tmp_path / "test.yml").write_text(yaml.safe_dump({"rule_files": ["none.yml"], "evaluation_interval": "1d",
                                                        "tests": [{"interval": "1d", "input_series": [],
                                                                   "promql_expr_test": checks}]}))
    result = promtool("test", "rules", "test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# A New York week's first boundary after promtool's epoch is days in: 21,600 steps of 14s, 95 s of promtool for
# the same rules as the month's; its period number is checked above, at every boundary.
@pytest.mark.parametrize("window", [MONTH_NY], ids=["month"])
def test_the_budget_starts_over_at_the_boundary_in_promtool(window, write_spec, tmp_path):
    """The generated test: 10x-budget errors late in one period leave its budget at -9; the next period's night
    and day traffic leaves 0.782, within 0.01, as if the errors had never been (they would put it below -3)."""
    spec = load([str(write_spec(openslo(window)))])
    files, notes = generate(spec)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    test = files["rules/tests/checkout.test.yml"]
    assert "calendar period: errors before the boundary (budget remaining -9.000) are not counted after it (0.782 " \
           "within 0.01)" in test
    assert not any("calendar" in n for n in notes)
    # The reset scenario alone (the file's other scenarios are the rolling ones, run for every SLO elsewhere;
    # at a week's 14s step the whole file takes promtool two minutes).
    doc = yaml.safe_load(test)
    doc["tests"] = [t for t in doc["tests"] if "calendar period" in t["name"]]
    assert len(doc["tests"]) == 1
    (tmp_path / "rules/tests/reset.test.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    result = promtool("test", "rules", "rules/tests/reset.test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # The consumers' series: the period ratio under its usual name, budget remaining over it (the scope's).
    records = [r["record"] for name, text in files.items() if name.startswith("rules/") and "/tests/" not in name
               for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "record" in r]
    assert {names.CALENDAR_BAD, names.CALENDAR_TOTAL, names.CALENDAR_INDEX, names.sli_record("30d" if "1M" in window
                                                                                               else "7d"),
            names.BUDGET_REMAINING} <= set(records)


def test_a_week_gets_the_same_reset_scenario(write_spec):
    files, _ = generate(load([str(write_spec(openslo(WEEK_NY)))]))
    assert "calendar period: errors before the boundary (budget remaining -9.000) are not counted after it" \
        in files["rules/tests/checkout.test.yml"]


def test_dashboards_title_the_calendar_and_read_the_same_budget(write_spec):
    files, _ = generate(load([str(write_spec(openslo(MONTH_NY)))]))
    dashboard = files["dashboards/slokit-svc-checkout.json"]
    assert "Error budget remaining over the calendar month (UTC-05:00)" in dashboard
    assert names.BUDGET_REMAINING in dashboard and names.sli_record("30d") in dashboard


def test_a_boundary_promtool_cannot_reach_is_said_not_faked(write_spec):
    """A UTC month's first boundary after 1970-01-01 is 1970-02-01: 44640 steps, minutes of promtool."""
    window = 'duration: 1M\n      isRolling: false\n      calendar: {startTime: "2022-01-01 00:00:00", timeZone: UTC}'
    files, notes = generate(load([str(write_spec(openslo(window)))]))
    assert "calendar period" not in files["rules/tests/checkout.test.yml"]
    assert any("first boundary after 1970-01-01" in n and "31d" in n for n in notes), notes


def test_slokit_v1_calendar_and_its_conversion(write_spec, tmp_path):
    """slokit/v1 says the same with `calendar:`; an OpenSLO calendar converts to it (a fixed utc_offset: what
    slokit counts in) and reads back into the same SLO."""
    path = write_spec(openslo(MONTH_NY), "openslo.yaml")
    result = CliRunner().invoke(main, ["convert", str(path)])
    assert result.exit_code == 0, result.output
    converted = yaml.safe_load(result.stdout)
    assert converted["slos"][0]["calendar"] == {"every": "1M", "start": "2022-01-01 00:00:00", "utc_offset": "-05:00"}
    (tmp_path / "v1.yaml").write_text(result.stdout)
    again = load([str(tmp_path / "v1.yaml")])
    assert again.slos == load([str(path)]).slos and again.warnings == ()


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load([str(path)])
    return [str(p).removeprefix(f"{path}:") for p in exc.value.problems]


@pytest.mark.parametrize("window,expected", [
    ('duration: 1M\n      isRolling: false\n      calendar: {startTime: "2022-01-31 00:00:00", timeZone: UTC}',
     "16: spec.timeWindow[0].calendar.startTime: day 31: a monthly calendar starts on day 1 to 28"),
    ('duration: 1M\n      isRolling: false\n      calendar: {startTime: "2022-01-01 00:00:00", timeZone: Mars/Olympus}',
     "16: spec.timeWindow[0].calendar.timeZone: 'Mars/Olympus' is not an IANA time zone"),
    ('duration: 1M\n      isRolling: false\n      calendar: {startTime: "January 1st", timeZone: UTC}',
     "16: spec.timeWindow[0].calendar.startTime: 'January 1st' is not a local date and time"),
    ('duration: 12h\n      isRolling: false\n      calendar: {startTime: "2022-01-01 00:00:00"}',
     "14: spec.timeWindow[0].duration: '12h': a calendar window is months (1M, 1Q, 1y) or weeks or days"),
    ("duration: 1M\n      isRolling: false",
     "15: spec.timeWindow[0].isRolling: a calendar-aligned window (isRolling: false) needs calendar"),
    ('duration: 1M\n      isRolling: true\n      calendar: {startTime: "2022-01-01 00:00:00"}',
     "16: spec.timeWindow[0].calendar: a rolling window (isRolling: true) has no calendar"),
])
def test_what_does_not_map_is_refused_with_file_line_and_field(window, expected, write_spec):
    path = write_spec(openslo(window))
    found = problems(path)
    assert any(p.startswith(expected) for p in found), found
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_slokit_v1_refuses_a_period_beside_a_calendar_and_a_bad_offset(write_spec):
    path = write_spec("""
        version: slokit/v1
        service: checkout
        slos:
          - name: availability
            objective: 99.9
            period: 30d
            calendar: {every: 1M, start: "2022-01-01 00:00:00", utc_offset: "+25:00"}
            sli: {http: {}}
          - name: latency
            objective: 99
            period: 7d
            calendar: {every: 1w, start: "2022-01-03 00:00:00"}
            sli: {http: {latency: 300ms}}
    """)
    assert problems(path) == [
        "7: slos[0].calendar.utc_offset: '+25:00' is not a UTC offset like +02:00 or -05:00",
        "11: slos[1].period: give a period or a calendar, not both (a calendar's period is its length)",
    ]


def test_the_exact_numbers(write_spec):
    """What the docs quote: the reset scenario's figures and the boundary's spread, from the generator."""
    (slo,) = load([str(write_spec(openslo(MONTH_NY)))]).slos
    assert slo.table.shortest.seconds // 2 == 150  # events within 2m30s of the boundary count partly in each period
    assert promql.format_duration(slo.calendar.boundary_after(0)) == "5h"  # New York: promtool reaches it at once
