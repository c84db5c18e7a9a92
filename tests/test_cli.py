"""The command line as a user runs it: exit codes, messages, files written (or not)."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from slokit.cli import main
from tests.conftest import EXAMPLES, ROOT


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_validate_examples():
    result = run("validate", str(EXAMPLES))
    assert result.exit_code == 0
    assert "4 SLO(s) valid in 3 file(s)" in result.output


def test_invalid_spec_exits_2_with_the_place_and_writes_nothing(write_spec, tmp_path):
    path = write_spec("version: slokit/v1\nservice: api\nslos:\n  - {name: a, objective: 101, sli: {http: {}}}\n")
    out = tmp_path / "out"
    result = run("generate", str(path), "--out", str(out))
    assert result.exit_code == 2
    assert f"{path}:4: slos[0].objective: must be between 0 and 100" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_generate_then_check_is_clean_and_detects_drift(tmp_path):
    assert run("generate", str(EXAMPLES), "--out", str(tmp_path)).exit_code == 0
    assert (tmp_path / "rules" / "checkout.yml").exists() and (tmp_path / "rules/tests/checkout.test.yml").exists()
    assert run("generate", str(EXAMPLES), "--out", str(tmp_path), "--check").exit_code == 0
    (tmp_path / "rules" / "search.yml").write_text("groups: []\n")
    drift = run("generate", str(EXAMPLES), "--out", str(tmp_path), "--check")
    assert drift.exit_code == 1 and f"differs: {tmp_path}/rules/search.yml" in drift.output


def test_repository_goldens_are_up_to_date():
    result = run("generate", str(EXAMPLES), "--out", str(ROOT), "--check")
    assert result.exit_code == 0, result.output


def test_missing_path_is_a_clear_error():
    result = run("validate", "no/such/dir")
    assert result.exit_code == 2 and "no/such/dir: no such file or folder" in result.output


def test_python_dash_m_and_help():
    result = subprocess.run([sys.executable, "-m", "slokit", "generate", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "slokit generate examples/ --out . --check" in result.stdout


def test_validate_checks_policy_sections_in_specs(write_spec):
    path = write_spec("""
        version: slokit/v1
        service: api
        slos:
          - name: a
            objective: 99
            sli: {http: {}}
            policy:
              rules:
                - nmae: x
    """)
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert f"{path}:9:" in result.output and "nmae" in result.output, result.output


def test_no_slos_at_all_is_an_error(tmp_path):
    (tmp_path / "empty.yml").write_text("")
    result = run("validate", str(tmp_path))
    assert result.exit_code == 2 and "no SLOs found" in result.output
