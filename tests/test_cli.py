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
    assert "5 SLO(s) valid in 3 file(s)" in result.output


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


def test_help_shows_the_exit_code_table_the_readme_documents():
    from slokit.cli.errors import EXIT_CODES

    text = " ".join(run("--help").output.split())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, meaning in EXIT_CODES:
        assert f"{code} {meaning}" in text
        assert f"| {code} |" in readme


def test_each_kind_of_error_has_its_exit_code_and_no_traceback(monkeypatch):
    """Invalid input and settings 2 (so is a server refusing us), a server that cannot answer 3."""
    from slokit.errors import ConfigError, InputError, Problem, RemoteError
    from slokit.status import terminal

    for error, code in [(InputError([Problem("events.csv", 3, "", "bad row")]), 2), (ConfigError("no URL"), 2),
                        (RemoteError("answered 401", 401), 2), (RemoteError("cannot reach", 0, transient=True), 3),
                        (RemoteError("answered 503", 503, transient=True), 3), (RemoteError("not JSON", 200), 3)]:
        def fail(*args: object, error: Exception = error) -> None:
            raise error

        monkeypatch.setattr(terminal, "from_service", fail)
        result = run("status", "--url", "http://127.0.0.1:9/")
        assert result.exit_code == code, (error, result.output)
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
        said = "events.csv:3: bad row\n1 error(s)\n" if isinstance(error, InputError) else f"error: {error}\n"
        assert result.output.endswith(said), result.output


def test_an_unexpected_exception_is_a_bug_and_keeps_its_traceback(monkeypatch):
    from slokit.errors import SlokitError
    from slokit.status import terminal

    for error in (RuntimeError("bug"), SlokitError("not one the CLI expects")):
        def fail(*args: object, error: Exception = error) -> None:
            raise error

        monkeypatch.setattr(terminal, "from_service", fail)
        result = run("status", "--url", "http://127.0.0.1:9/")
        assert result.exception is error  # CliRunner caught it; `slokit` would print its traceback


def test_warnings_logged_during_a_command_reach_stderr_and_the_handler_goes_away(monkeypatch):
    import logging

    from slokit.status import terminal

    def warn(*args: object) -> dict:
        logging.getLogger("slokit.status").warning("half the board is stale")
        return {"slos": [], "breakers": [], "switches": []}

    monkeypatch.setattr(terminal, "from_service", warn)
    before = list(logging.getLogger("slokit").handlers)
    result = CliRunner().invoke(main, ["status", "--url", "http://127.0.0.1:9/", "--json"])
    assert result.exit_code == 0 and "WARNING: slokit.status: half the board is stale" in result.output
    assert logging.getLogger("slokit").handlers == before  # the library's logging is configured while we run only
