"""Dashboard output stays byte for byte what it was, whichever engine, encoder or cache produces it.

The examples' goldens (dashboards/*.json) are checked in test_dashboards_generate.py; here a spec with
the awkward cases (periods from 1d to 90d, error budgets that C's and jsonnet's `%g` print differently,
raw and events SLIs, non-ASCII text) is checked against digests of the files slokit wrote before the
dashboards were made fast (tests/data/dashboards/varied.sha256): with every installed jsonnet engine, in
batches in worker processes, and rendered by orjson or json. After a deliberate change to the library
or the model, record the new digests with the reference way of rendering (one evaluation per service with
a reference engine, json.dumps): `python -m tests.test_dashboards_bytes`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slokit.generate import dashboards, jsonnet
from slokit.spec import load
from tests.conftest import ROOT

DATA = ROOT / "tests/data/dashboards"


def digests(files: dict[str, str]) -> dict[str, str]:
    return {name.removeprefix("dashboards/"): hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()}


def expected() -> dict[str, str]:
    lines = (DATA / "varied.sha256").read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ") for line in lines)}


@pytest.mark.parametrize("engine", [e for e in jsonnet.ENGINES if importlib.util.find_spec(e)])
def test_varied_dashboards_are_byte_identical_to_the_recorded_ones_with_every_engine(engine):
    assert digests(dashboards.files(load([str(DATA / "varied.yml")]).slos, engine=engine)) == expected()


def test_batches_in_worker_processes_give_the_same_bytes(monkeypatch):
    monkeypatch.setattr(jsonnet, "BATCH", 1)  # three batches, two workers
    assert digests(dashboards.files(load([str(DATA / "varied.yml")]).slos, workers=2)) == expected()


def test_rendering_matches_json_dumps_for_numbers_orjson_prints_differently():
    dashboard = {"a": [1e-05, 0.00012, 1e16, 2.5e-300, 12345678901234567890, -0.0, 0.5, 7], "é": "\u2028\x1f"}
    assert not jsonnet._plain(dashboard)
    reference = json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert dashboards.render(dashboard) == reference
    plain = {"b": [0.0001, 0.999, 14.4, 2 ** 62], "a": {"nested": [], "x": {}}}
    assert dashboards.render(plain) == json.dumps(plain, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def reference_g(values: list[float]) -> list[str]:
    """`'%g' % v` from the C++ engine, jsonnet's reference implementation."""
    import _jsonnet  # the test extra installs it (jsonnet): a missing reference engine fails, never skips

    return json.loads(_jsonnet.evaluate_snippet("g", f"std.map(function(v) '%g' % v, {json.dumps(values)})"))


def test_numbers_in_text_are_formatted_as_jsonnet_formats_them():
    values = [14.4, 6, 1, 0.001, 1e-05, 1 / 3, 1e6, 1e21, 123456.7, 99.95, 0.0087655, 999999.5, 0]
    assert [dashboards.jsonnet_g(v) for v in values] == reference_g(values)
    assert dashboards.jsonnet_g(1 / 3) == "0.33333"  # C's %g: 0.333333
    assert dashboards.jsonnet_g(1e6) == "1000000"  # C's %g: 1e+06


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(min_value=1e-12, max_value=1e12), min_size=50, max_size=50))
def test_jsonnet_g_agrees_with_the_reference_engine_on_any_positive_number(values):
    assert [dashboards.jsonnet_g(v) for v in values] == reference_g(values)


def reference_files(engine: str = "_gojsonnet") -> dict[str, str]:
    """The dashboards as slokit rendered them before they were made fast: the entry once per service with
    a reference engine, every result through json.dumps."""
    full = dashboards.model(load([str(DATA / "varied.yml")]).slos)
    out = {}
    for service in full["services"]:
        for dashboard in dashboards.evaluate(dict(full, services=[service], slos=service["slos"]), engine=engine):
            out[f"dashboards/{dashboard['uid']}.json"] = json.dumps(dashboard, indent=2, sort_keys=True,
                                                                    ensure_ascii=False) + "\n"
    return out


if __name__ == "__main__":
    (DATA / "varied.sha256").write_text("".join(f"{d}  {n}\n" for n, d in sorted(digests(reference_files()).items())))
