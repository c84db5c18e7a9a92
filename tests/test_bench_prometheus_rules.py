"""The Prometheus rule benchmark: Sloth's rule shape is Sloth's, history reaches every rule that reads it,
and the quick run loads and evaluates both rule sets in a real Prometheus over real (backfilled) inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from slokit import names
from tests.conftest import ROOT, require

sys.path.insert(0, str(ROOT / "bench"))

import prometheus_rules  # noqa: E402 (bench/prometheus_rules.py)
from rulebench import plan, rules, sloth, traffic  # noqa: E402

DAY = 86400


def test_sloth_shape_matches_sloths_golden_output() -> None:
    golden = yaml.safe_load((ROOT / "tests" / "data" / "bench" / "sloth-out-base-slo1.yaml").read_text())
    slo = sloth.SLO(
        service="svc01", name="slo1", objective=99.9,
        error_query='sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))',
        total_query='sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))',
        alert_name="myServiceAlert", labels={"global01k1": "global01v1", "global02k1": "global02v1"},
        alert_labels={"alert01k1": "alert01v1"}, page_labels={"alert03k1": "alert03v1"},
        ticket_labels={"alert04k1": "alert04v1"}, alert_annotations={"alert02k1": "alert02k2"})
    assert yaml.safe_load(sloth.rules_text([slo]))["groups"] == golden["groups"]


def _rules(tmp_path: Path, text: str) -> list[rules.Rule]:
    path = tmp_path / "rules.yml"
    path.write_text(text)
    return rules.load(path, "test", 60)


def test_reads_know_ranges_offsets_and_lookback(tmp_path: Path) -> None:
    [rule] = _rules(tmp_path, """
groups:
  - name: g
    rules:
      - record: x:long
        expr: 60 * sum_over_time(x:rate5m{slo="a"}[18h] offset 6h) + x:rate6h{slo="a"}
""")
    long, instant = rule.reads()
    assert (long.name, long.lo, long.hi, long.ranged) == ("x:rate5m", -24 * 3600, -6 * 3600, True)
    assert (instant.name, instant.lo, instant.hi, instant.ranged) == ("x:rate6h", -300, 0, False)
    assert long.promql() == 'x:rate5m{slo="a"}'


def test_plan_backfills_what_is_read_over_ranges_lowest_level_first(tmp_path: Path) -> None:
    found = _rules(tmp_path, """
groups:
  - name: fast
    rules:
      - {record: x:rate5m, expr: 'sum(rate(raw{job="a"}[5m]))', labels: {slo: a}}
      - {record: x:rate5m, expr: 'sum(rate(raw{job="b"}[5m]))', labels: {slo: b}}
      - {record: x:rate6h, expr: 'sum(rate(raw{job="a"}[6h]))', labels: {slo: a}}
      - record: x:rate1d
        expr: (x:rate6h{slo="a"} * 21600 + 60 * sum_over_time(x:rate5m{slo="a"}[18h] offset 6h)) / 86400
        labels: {slo: a}
  - name: slow
    interval: 4m
    rules:
      - {record: x:rate30d, expr: 'sum_over_time(x:rate5m{slo="a"}[30d]) / 43200', labels: {slo: a}}
      - {alert: Burn, expr: 'x:rate1d{slo="a"} > 1'}
""")
    end = 100 * DAY
    by_name = {(r.name, r.label_map.get("slo")): r for r in found}
    result = plan.make(found, end, [by_name[("Burn", None)]], (end - 10 * DAY, end - 9 * DAY))
    jobs = {(r.name, r.label_map["slo"]): job for job in result.jobs for r in job.rules}
    # x:rate5m{slo=a} is read over 30 days live and over 18h (offset 6h) by x:rate1d around the alert window;
    # x:rate5m{slo=b} is read by nobody; x:rate30d is only read at an instant.
    assert set(jobs) == {("x:rate5m", "a"), ("x:rate6h", "a"), ("x:rate1d", "a")}
    assert jobs[("x:rate5m", "a")].start <= end - 30 * DAY and jobs[("x:rate5m", "a")].end == end
    assert jobs[("x:rate1d", "a")].level == 1 and jobs[("x:rate5m", "a")].level == 0
    # the alert reads x:rate1d at an instant: from 5 minutes (the lookback) before the window
    assert (jobs[("x:rate1d", "a")].start, jobs[("x:rate1d", "a")].end) == (end - 10 * DAY - 300, end - 9 * DAY)
    assert result.raw_start == end - 30 * DAY - 300  # the 5m rate under the 30d read


def test_quick_run_evaluates_both_rule_sets_over_backfilled_inputs(tmp_path: Path) -> None:
    require("prometheus")
    require("promtool")
    out = tmp_path / "result.json"
    doc = tmp_path / "benchmarks.md"
    before = "the previous run's figures"
    doc.write_text(f"# Benchmarks\n\n## Prometheus rule evaluation\n\n{before}\n\n## Runtime\n\nkept\n")
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "prometheus_rules.py"), "--quick", "--json", str(out),
                          "--write", str(doc)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    [result] = json.loads(out.read_text())["results"]
    slos = result["slos"]
    assert result["history"]["days"] >= 33 and result["history"]["step"] == 30
    assert any(job["end"] - job["start"] >= 30 * DAY for job in result["history"]["jobs"])
    for name in ("slokit", "sloth"):
        measured = result["sets"][name]
        assert measured["groups"] >= 3 * slos and measured["cycle_seconds"] > 0, measured
        assert measured["failures"] == 0 and measured["output_samples"] > 0, measured
        outputs = result["checks"]["outputs"][name]
        assert outputs["found"][f"{names.SLI_RECORD}30d"] == slos and not outputs["missing"], outputs
        coverage = result["checks"]["coverage"][name]
        assert coverage["reads"] > 0 and coverage["min_share"] >= 0.9, coverage  # no empty long-range input
        assert coverage["max_share"] <= 1.1, coverage  # nor one denser than its rule writes (a tile per tile)
        assert result["checks"]["budget"][name]["slos"] == slos
        [fired] = result["checks"]["alerts"]["first"][name].values()
        fault = result["history"]["fault"]
        assert fault < fired["page"] < fault + 3600 and fault < fired["ticket"] < fault + 6 * 3600, fired
    first = result["checks"]["alerts"]["first"]
    [slokit], [sloth_shape] = first["slokit"].values(), first["sloth"].values()
    for severity in ("page", "ticket"):  # the same decisions, within a minute
        assert abs(slokit[severity] - sloth_shape[severity]) <= 60, first
    assert not result["checks"]["alerts"]["firing_before_fault"]
    text = doc.read_text()
    assert before not in text and "## Runtime\n\nkept" in text and "**slokit / Sloth**" in text


def test_the_generated_rules_write_what_reads_recorded_series_once(tmp_path: Path) -> None:
    """Per SLO only what reads the SLI's queries, the constants and the alerts; everything else once for all
    the benchmark's SLOs (one scope: rules/_shared-*.yml), selecting exactly them, the coarse tiles still one
    per tile."""
    files = prometheus_rules.write_rules(traffic.services(3, 0), tmp_path)["slokit"]
    loaded = [r for path in files for r in rules.load(path, "slokit", 60)]
    shared = [r for r in loaded if r.file.startswith("_shared-")]
    per_slo = [r for r in loaded if not r.file.startswith("_shared-")]
    assert {r.name for r in shared} & {r.name for r in per_slo if not r.alert} == set()
    assert sorted(r.name for r in shared if r.name.startswith(names.SLI_RECORD)) == sorted(
        names.sli_record(w) for w in ("1h", "2h", "6h", "1d", "3d", "30d"))
    services = "|".join(s.name for s in traffic.services(3, 0))
    assert all((names.SERVICE, "=~", services) in read.matchers for r in shared for read in r.reads())
    coarse = {r.name: r.spacing for r in shared if r.name.startswith(names.TILE[names.SLI_BAD])}
    assert coarse == {names.TILE[names.SLI_BAD] + "1h": 3600}  # `unless` series by series: once per tile
    assert len([r for r in per_slo if not r.alert]) == 3 * 9  # 4 in -sli, 5 in -period
    result = subprocess.run([require("promtool"), "check", "rules", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
