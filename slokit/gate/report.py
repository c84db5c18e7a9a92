"""A gate's statuses, checks and verdict: never a pass on missing data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, UNDECIDED = "pass", "fail", "undecided"
EXIT_CODES = {PASS: 0, FAIL: 1, UNDECIDED: 3}  # slokit's exit codes (slokit/cli/errors.py): 3 cannot decide


@dataclass
class Check:
    slo: str
    check: str  # budget | burn | canary | stop
    status: str
    detail: str
    query: str | list[str]
    value: Any = None
    threshold: Any = None


@dataclass
class Report:
    verdict: str
    checks: list[Check] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def line(self) -> str:
        """The one-line verdict: counts and the checks that decided it."""
        counts = {s: sum(1 for c in self.checks if c.status == s) for s in (PASS, FAIL, UNDECIDED)}
        deciding = [c for c in self.checks if c.status == self.verdict and self.verdict != PASS]
        why = "; ".join(f"{c.slo} {c.check}: {c.detail}" for c in deciding[:3])
        text = (f"gate {self.verdict.upper()}: {counts[PASS]} passed, {counts[FAIL]} failed, "
                f"{counts[UNDECIDED]} undecided")
        return text + (f" ({why})" if why else "")

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "exit_code": self.exit_code, "summary": self.line(),
                "checks": [asdict(c) for c in self.checks]}


def verdict(checks: Sequence[Check]) -> str:
    statuses = {c.status for c in checks}
    if FAIL in statuses:
        return FAIL
    if UNDECIDED in statuses or not checks:
        return UNDECIDED
    return PASS
