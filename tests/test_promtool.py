"""The generated rules and their generated tests, run by the real promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

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
    tested = promtool("test", "rules", *sorted(str(p) for p in (ROOT / "rules" / "tests").glob("*.test.yml")))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == 3


@pytest.mark.parametrize("threshold, broken, failure", [
    # A 50x page instead of 14.4x sees a full outage too late: the detection-time scenario fails.
    ("(14.4 * 0.001)", "(50 * 0.001)", 'exp: {slo_severity="page"} 1E+00\n        got: nil'),
    # A 4x page row instead of 6x pages on a 4.5x burn: the ticket-only scenario fails.
    ("(6 * 0.001)", "(4 * 0.001)", 'got: {slo_severity="page"} 1E+00, {slo_severity="ticket"} 1E+00'),
])
def test_generated_tests_catch_a_wrong_threshold(tmp_path, threshold, broken, failure):
    write(generate(load([str(EXAMPLES / "checkout.yml")]))[0], tmp_path)
    rules_file = tmp_path / "rules" / "checkout.yml"
    rules_file.write_text(rules_file.read_text().replace(threshold, broken))
    result = promtool("test", "rules", "rules/tests/checkout.test.yml", cwd=tmp_path)
    assert result.returncode == 1
    assert failure in result.stderr
