"""The import-layer contract of docs/architecture.md: a lower layer never imports a higher one.

Read from the source with `ast` (every import, at module level or inside a function; imports under
`if TYPE_CHECKING:` are for annotations only and do not count), so a wrong-way import fails here before it
becomes a cycle or a slow start-up.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "slokit"

BASE = {"names", "errors", "promql", "windows", "http", "promapi"}
# What each part of slokit may import, besides itself and the standard/third-party libraries.
ALLOWED: dict[str, set[str]] = {
    "names": set(),
    "errors": set(),
    "promql": {"names"},
    "windows": {"names", "promql"},
    "http": {"errors"},
    "promapi": {"errors", "http"},
    "spec": BASE,
    "queries": BASE | {"spec"},
    "generate": BASE | {"spec", "queries"},
    "instrument": {"names", "errors", "http"},
    "runtime": BASE | {"spec", "queries", "instrument"},
    "gate": BASE | {"spec", "queries"},
    "health": BASE | {"instrument", "runtime"},
    "status": BASE | {"spec", "queries", "instrument", "runtime", "health"},
    "retry": BASE | {"spec", "instrument", "runtime"},
    "rollout": BASE | {"spec", "queries", "runtime", "gate"},
    "apply": BASE | {"spec", "queries", "generate", "runtime"},
    # the console over Prometheus: the status page's rows and charts, the generated alert expressions
    "serve": BASE | {"spec", "queries", "generate", "instrument", "runtime", "health", "status"},
}
TOP = {"cli", "demo", "__init__", "__main__"}  # the edges: may import anything


def part(module: str) -> str:
    """`slokit.spec.load` -> "spec"; `slokit` -> "__init__"."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(path: Path, package: Path) -> list[tuple[int, str]]:
    """(line, imported slokit module) for every runtime import in a file of the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = ".".join(("slokit", *path.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
    skip = _type_checking_lines(tree)
    found = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("slokit")]
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:  # relative: resolve against this module's package
                here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                name = ".".join(here[: len(here) - node.level + 1] + ([name] if name else []))
            if name == "slokit":  # `from slokit import names, promql`: each name is a module
                found += [(node.lineno, f"slokit.{a.name}") for a in node.names]
            elif name.startswith("slokit."):
                found.append((node.lineno, name))
    return found


def violations(package: Path) -> list[str]:
    wrong = []
    for path in sorted(package.rglob("*.py")):
        own = part(".".join(("slokit", *path.relative_to(package).with_suffix("").parts)))
        if own in TOP:
            continue
        if own not in ALLOWED:
            wrong.append(f"{path}: part {own!r} has no place in the layer contract")
            continue
        for line, target in imports(path, package):
            other = part(target)
            if other != own and other not in ALLOWED[own]:
                wrong.append(f"{path.relative_to(package.parent)}:{line}: {own} imports {target}")
    return wrong


def test_no_part_imports_a_higher_layer() -> None:
    assert violations(PACKAGE) == []


def test_the_contract_catches_a_wrong_way_import(tmp_path: Path) -> None:
    (tmp_path / "slokit" / "spec").mkdir(parents=True)
    (tmp_path / "slokit" / "spec" / "x.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from slokit.runtime import Runtime\n"
        "def f():\n    from slokit.generate import rules\n")
    assert violations(tmp_path / "slokit") == ["slokit/spec/x.py:5: spec imports slokit.generate"]


@pytest.mark.parametrize("module, absent", [
    ("slokit.runtime", ["promql_parser", "slokit.spec.openslo", "slokit.generate.rules", "slokit.apply",
                        "requests_toolbelt"]),
    ("slokit", ["slokit.spec", "slokit.runtime", "slokit.generate", "prometheus_client", "requests"]),
    ("slokit.instrument", ["slokit.spec", "slokit.runtime", "promql_parser"]),
    ("slokit.health", ["slokit.generate", "slokit.spec.openslo", "starlette", "flask", "httpx"]),
])
def test_a_fresh_import_loads_only_what_it_needs(module: str, absent: list[str]) -> None:
    code = f"import sys, {module}; print(' '.join(m for m in {absent!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
