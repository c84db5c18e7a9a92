"""Real specs from Sloth and OpenSLO: each generates rules promtool accepts, or is refused precisely."""

from __future__ import annotations

import re
import subprocess

import pytest

from slokit.generate.files import generate
from slokit.spec import SpecError, load
from tests.conftest import COMPAT, require

ACCEPTED = ["sloth/getting-started.yml", "sloth/home-wifi.yml", "sloth/kubernetes-apiserver.yml",
            "sloth/openslo-getting-started.yml", "sloth/raw-home-wifi.yml"]

# What slokit says about each input it refuses, and where (file line: field path).
REFUSED = {
    "openslo/oslo-invalid-apiversion.yaml": ["1: apiVersion: unsupported 'foo'"],
    "openslo/oslo-unknown-field.yaml": [
        "4: warning: metadata.name: 'my-rad service' is not a DNS label",  # oslo's valid examples do it too
        "6: spec.markdown: unknown field (allowed: description)",
    ],
    "openslo/oslo-v1.yaml": [
        "33: [0].spec.timeWindow[0].isRolling: calendar (non-rolling) time windows are not supported yet",
        "37: [0].spec.budgetingMethod: 'Timeslices' is not supported yet",
        "42: [0].spec.objectives[0].timeSliceTarget: not supported yet",
    ],
    "openslo/occurences-slo.yaml": ["15: spec.indicator.spec.thresholdMetric: threshold metrics are not supported yet"],
    "openslo/ratio-timeslices.yaml": [
        "18: spec.indicator.spec.ratioMetric.good.metricSource.type: metric source 'Any' is not supported",
        "29: spec.budgetingMethod: 'RatioTimeslices' is not supported yet",
    ],
    "openslo/timeslices-slo.yaml": ["32: spec.budgetingMethod: 'Timeslices' is not supported yet"],
}


def test_every_compat_file_is_covered():
    assert sorted(ACCEPTED + list(REFUSED)) == sorted(str(p.relative_to(COMPAT)) for p in COMPAT.glob("*/*.y*ml"))


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_specs_generate_rules_promtool_checks(name, tmp_path):
    spec = load([str(COMPAT / name)])
    assert spec.slos
    files, _ = generate(spec)
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    rule_files = sorted(str(p) for p in (tmp_path / "rules").glob("*.yml"))
    result = subprocess.run([require("promtool"), "check", "rules", *rule_files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    found = sum(int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", result.stdout))
    assert found == 16 * len(spec.slos)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_specs_are_refused_with_file_line_and_field(name):
    path = COMPAT / name
    with pytest.raises(SpecError) as exc:
        load([str(path)])
    messages = [str(p) for p in exc.value.problems]
    for expected in REFUSED[name]:
        assert any(m.startswith(f"{path}:{expected}") or f"{path}:{expected}" in m for m in messages), messages
