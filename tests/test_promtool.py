"""The generated rules and their generated tests, run by the real promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from slokit.generate.files import generate
from slokit.spec import load
from tests.conftest import EXAMPLES, ROOT, require


def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([require("promtool"), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def write(files: dict[str, str], root: Path) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_committed_rules_pass_promtool_check_and_their_tests():
    rule_files = sorted(str(p) for p in (ROOT / "rules").glob("*.yml"))
    checked = promtool("check", "rules", *rule_files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # One promtool per file, side by side: the machine has two cores and this is the suite's longest test.
    files = sorted(str(p) for p in (ROOT / "rules" / "tests").glob("*.test.yml"))
    runs = [subprocess.Popen([require("promtool"), "test", "rules", f], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, cwd=ROOT) for f in files]
    told = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * len(files), "\n".join(told)
    assert sum(t.count("SUCCESS") for t in told) == 3


@pytest.mark.parametrize("threshold, broken, scenario, failure", [
    # A 50x page instead of 14.4x sees a full outage too late: the detection-time scenario fails.
    ("(14.4 * 0.001)", "(50 * 0.001)", "availability: 100% errors after a calm",
     'exp: {slo_severity="page"} 1E+00\n        got: nil'),
    # A 4x page row instead of 6x pages on a 4.5x burn: the ticket-only scenario fails.
    ("(6 * 0.001)", "(4 * 0.001)", "availability: steady 4.5x burn",
     'got: {slo_severity="page"} 1E+00, {slo_severity="ticket"} 1E+00'),
])
def test_generated_tests_catch_a_wrong_threshold(tmp_path, threshold, broken, scenario, failure):
    files = generate(load([str(EXAMPLES / "checkout.yml")]))[0]
    tests = yaml.safe_load(files["rules/tests/checkout.test.yml"])
    tests["tests"] = [t for t in tests["tests"] if scenario in t["name"]]  # the one that must catch it
    assert len(tests["tests"]) == 1
    files["rules/tests/checkout.test.yml"] = yaml.safe_dump(tests, sort_keys=False)
    write(files, tmp_path)
    assert promtool("test", "rules", "rules/tests/checkout.test.yml", cwd=tmp_path).returncode == 0
    rules_file = tmp_path / "rules" / "checkout.yml"
    rules_file.write_text(rules_file.read_text().replace(threshold, broken))
    result = promtool("test", "rules", "rules/tests/checkout.test.yml", cwd=tmp_path)
    assert result.returncode == 1
    assert failure in result.stderr


def test_a_grouped_slo_gives_each_group_its_own_budget_and_page(tmp_path, write_spec):
    """`group_by: [route]`: /search failing does not spend /home's budget, and only /search pages."""
    write_spec("""
        version: slokit/v1
        service: web
        slos:
          - name: availability
            objective: 99
            group_by: [route]
            sli: {http: {}}
            alerting: {name: WebAvailability}
    """)
    files = generate(load([str(tmp_path / "spec.yml")]))[0]
    write(files, tmp_path)
    series = "slokit_http_server_request_duration_seconds_count"

    def counter(route: str, outcome: str, per_minute: int) -> dict[str, str]:
        code = "200" if outcome == "good" else "500"
        return {"series": f'{series}{{service="web",route="{route}",method="GET",code="{code}",outcome="{outcome}"}}',
                "values": f"0+{per_minute}x120"}

    budget = 'slo:period_error_budget_remaining:ratio{slo_service="web"}'
    generated = yaml.safe_load(files["rules/tests/web.test.yml"])  # its rule files, in its evaluation order
    test = {
        "rule_files": generated["rule_files"], "group_eval_order": generated["group_eval_order"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [counter("/home", "good", 100), counter("/search", "good", 50),
                             counter("/search", "bad", 50)],
            "promql_expr_test": [
                {"expr": f"{budget} > bool 0.5", "eval_time": "2h", "exp_samples": [
                    {"labels": '{route="/home",slo_name="availability",slo_service="web",slo_window="30d"}',
                     "value": 1},
                    {"labels": '{route="/search",slo_name="availability",slo_service="web",slo_window="30d"}',
                     "value": 0}]},
                {"expr": 'count by (route) (ALERTS{alertname="WebAvailability",alertstate="firing",'
                         'slo_severity="page"})', "eval_time": "2h",
                 "exp_samples": [{"labels": '{route="/search"}', "value": 1}]},
            ],
        }],
    }
    (tmp_path / "rules" / "tests" / "grouped.test.yml").write_text(yaml.safe_dump(test))
    result = promtool("test", "rules", "rules/tests/grouped.test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_tests_hold_for_a_custom_window_table(tmp_path, write_spec):
    """A table whose shortest window is large beside its page window, and whose page factor (1.5x) is
    close to the ticket's (1x): the scenarios adapt (the between-tiers burn, longer day/night halves)."""
    write_spec("""
        version: slokit/v1
        service: tiny
        period: 1h
        windows:
          page: [{long: 2m, short: 30s, budget_percent: 5}]
          ticket: [{long: 6m, short: 1m, budget_percent: 10}]
        slos:
          - {name: a, objective: 99, sli: {http: {}}}
    """)
    write(generate(load([str(tmp_path / "spec.yml")]))[0], tmp_path)
    result = promtool("test", "rules", "rules/tests/tiny.test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "steady 1.25x burn: ticket fires" in (tmp_path / "rules/tests/tiny.test.yml").read_text()


def test_generated_tests_pass_for_events_queries_that_answer_without_series(tmp_path):
    """Sloth's home-wifi SLIs end in `OR on() vector(0)`: the rules write the event rates themselves, so the
    tests must not feed them too (promtool: duplicate sample for timestamp). Every burn-rate row reads the 1h
    rates (its 1h, or a window past it built on them): each is noted as not asserted, and the no-alert
    scenario still runs."""
    spec = load([str(ROOT / "tests" / "data" / "compat" / "sloth" / "k8s-home-wifi.yml")])
    files, notes = generate(spec)
    write(files, tmp_path)
    result = promtool("test", "rules", *sorted(str(p) for p in (tmp_path / "rules" / "tests").glob("*.yml")),
                      cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert any("answer without any series" in n for n in notes)
    for tier, short, long in (("page", "5m", "1h"), ("page", "30m", "6h"), ("ticket", "2h", "1d"),
                              ("ticket", "6h", "3d")):
        assert any(f"the {tier} over {short} and {long} reads the event rates the rules record themselves" in n
                   for n in notes)
    text = (tmp_path / "rules/tests/home-wifi.test.yml").read_text()
    assert "steady error ratio at half the budget: no alert" in text and "fires" not in text
