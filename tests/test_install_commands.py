"""The README's two commands, .ci/run and scripts/install.sh stay in step.

The commands themselves run for real in CI: scripts/check-install.sh runs the README's first command from a
fresh clone with Debian's python3 (minutes and the package index, so not here).
"""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("```sh") + 1
    return lines[start:lines.index("```", start)]


def test_the_readme_opens_with_the_main_job_and_the_test_command():
    main, test = readme_commands()
    assert main.startswith("bash scripts/install.sh && .venv/bin/slokit generate examples/")
    assert test == "bash scripts/test.sh"


def test_ci_runs_the_readme_test_command_and_the_fresh_clone_install():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_commands()[1] in ci
    assert any(line.endswith("bash scripts/check-install.sh") for line in ci)
    assert "/.venv/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_install_refuses_an_old_python_with_a_clear_message(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "install.sh").write_bytes((ROOT / "scripts" / "install.sh").read_bytes())
    old = tmp_path / "python3.9"
    old.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.9.2" && exit 0\nexit 1\n')
    old.chmod(0o755)

    env = {"PATH": "/usr/bin:/bin", "PYTHON": str(old)}
    result = subprocess.run(["bash", "scripts/install.sh"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=30)

    assert result.returncode == 1
    assert "slokit needs Python >= 3.11" in result.stderr and "found: Python 3.9.2" in result.stderr
    assert not (tmp_path / ".venv").exists()
