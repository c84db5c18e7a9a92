"""Dashboard output stays byte for byte what it was, whichever engine, encoder or cache produces it.

The examples' goldens (dashboards/*.json) are checked in test_dashboards_generate.py; here a spec with
the awkward cases (periods from 1d to 90d, error budgets that C's and jsonnet's `%g` print differently,
raw and events SLIs, non-ASCII text) is checked against digests of the files slokit wrote before the
dashboards were made fast (tests/data/dashboards/varied.sha256).
"""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slokit.generate import dashboards
from slokit.spec import load
from tests.conftest import ROOT

DATA = ROOT / "tests/data/dashboards"


def digests(files: dict[str, str]) -> dict[str, str]:
    return {name.removeprefix("dashboards/"): hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()}


def expected() -> dict[str, str]:
    lines = (DATA / "varied.sha256").read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ") for line in lines)}


def test_varied_dashboards_are_byte_identical_to_the_recorded_ones():
    assert digests(dashboards.files(load([str(DATA / "varied.yml")]).slos)) == expected()


def reference_g(values: list[float]) -> list[str]:
    """`'%g' % v` from the C++ engine, jsonnet's reference implementation."""
    jsonnet = pytest.importorskip("_jsonnet")
    return json.loads(jsonnet.evaluate_snippet("g", f"std.map(function(v) '%g' % v, {json.dumps(values)})"))


def test_numbers_in_text_are_formatted_as_jsonnet_formats_them():
    values = [14.4, 6, 1, 0.001, 1e-05, 1 / 3, 1e6, 1e21, 123456.7, 99.95, 0.0087655, 999999.5, 0]
    assert [dashboards.jsonnet_g(v) for v in values] == reference_g(values)
    assert dashboards.jsonnet_g(1 / 3) == "0.33333"  # C's %g: 0.333333
    assert dashboards.jsonnet_g(1e6) == "1000000"  # C's %g: 1e+06


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(min_value=1e-12, max_value=1e12), min_size=50, max_size=50))
def test_jsonnet_g_agrees_with_the_reference_engine_on_any_positive_number(values):
    assert [dashboards.jsonnet_g(v) for v in values] == reference_g(values)
