"""Shared test helpers: paths, and writing spec files that tests then read like a user would."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
COMPAT = ROOT / "tests" / "data" / "compat"  # copied from ../shared/compat (origin: Sloth and OpenSLO examples)


@pytest.fixture
def write_spec(tmp_path: Path):
    """Write a YAML spec (dedented) into a temporary folder and return its path."""

    def write(text: str, name: str = "spec.yml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


def require(tool: str) -> str:
    """The path of a Debian tool the test suite installs (scripts/test.sh); fail loudly if missing."""
    path = shutil.which(tool)
    assert path, f"{tool} not found: run the suite with `bash scripts/test.sh`, which installs it"
    return path
