"""The event-weighted windows past the raw limit, over both kinds of tiles, checked by the real promtool
against an exact event count: a day and a half of uneven traffic, so the recent 6h (raw), the fine 4m
tiles (6h to 1d back) and the coarse 1h tiles (past 1d) each hold errors of their own.

The generated test files run half a day (the fine tiles); this one reaches the coarse ones."""

from __future__ import annotations

import dataclasses
import re
import textwrap

import yaml

from slokit import names, queries
from slokit.generate import promtool_tests as pt
from slokit.generate import rules
from slokit.generate.files import rule_files
from slokit.spec import load
from tests.conftest import EXAMPLES
from tests.test_promtool import promtool, write

SPEC = textwrap.dedent("""\
    version: slokit/v1
    service: shop
    slos:
      - name: availability
        objective: 99.9
        sli:
          http: {route: /pay}
""")


def hours(h: float, step: int) -> int:
    return round(h * 3600 / step)


def test_thirty_hours_of_day_night_traffic_count_within_001_of_the_exact_budget(tmp_path):
    (tmp_path / "slos.yml").write_text(SPEC)
    spec = load([str(tmp_path / "slos.yml")])
    slo = spec.slos[0]
    table, step, budget = slo.table, slo.table.step, slo.error_budget
    assert (table.tile.name, table.coarse_tile.name, table.coarse_from) == ("4m", "1h", 86400)
    night, day = pt.REQUESTS_PER_STEP / 100, pt.REQUESTS_PER_STEP
    phases = [  # oldest first: 30h, the first 6h of it older than 1d (coarse tiles)
        pt.Phase(hours(4, step), 60 * budget, night),   # a bad night, long ago: only the coarse tiles see it
        pt.Phase(hours(6, step), 0.5 * budget, day),    # across the 1d junction
        pt.Phase(hours(8, step), 30 * budget, night),   # fine tiles
        pt.Phase(hours(6, step), 0.2 * budget, day),    # fine tiles, to the 6h junction
        pt.Phase(hours(6, step), 1.5 * budget, day),    # the raw 6h
    ]
    steps = sum(p.steps for p in phases)  # the checks on a tile, where the rules read their tiles exactly
    phases[-1] = dataclasses.replace(phases[-1], steps=phases[-1].steps + pt.on_a_tile(steps, slo) - steps)
    end = pt._at(sum(p.steps for p in phases) * step, step)
    exact_ratio = pt.exact_ratio(phases)
    exact_budget = 1 - exact_ratio / budget
    checks = [
        pt._within(names.BUDGET_REMAINING + queries.slo_selector(slo), pt.recorded_labels(slo, table.period.name),
                   exact_budget, 0.01, end),
        pt._within(queries.recorded(slo, "3d"), pt.recorded_labels(slo, "3d"), exact_ratio, 0.01 * budget, end),
        pt._within(queries.recorded(slo, "1d"), pt.recorded_labels(slo, "1d"),
                   pt.exact_ratio(phases, hours(24, step)), 0.01 * budget, end),
    ]
    files, _ = rule_files(spec)
    write({name: text for name, text in files.items() if not name.startswith("rules/tests/")}, tmp_path)
    test = {"rule_files": ["shop.yml"] + [scope.file for scope in rules.scopes(spec.slos)],
            "evaluation_interval": f"{step}s",
            "group_eval_order": rules.eval_order(spec.slos),
            "tests": [pt._test(slo, f"30h of uneven traffic: budget {exact_budget:.3f}", phases, checks)]}
    (tmp_path / "rules" / "tiles.test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    assert abs(exact_budget) < 0.05  # the old bad night matters: without its errors 0.139 would be left
    result = promtool("test", "rules", "tiles.test.yml", cwd=tmp_path / "rules")
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_tile_is_one_sample_whatever_the_evaluation_interval():
    slo = load([str(EXAMPLES)]).slos[0]
    sel = queries.slo_selector(slo)
    fine = queries.fine_tiles(slo.table, sel, names.SLI_BAD, "sum(rate(x[4m]))")
    coarse = queries.coarse_tiles(slo.table, sel, names.SLI_BAD)
    # each tile rule looks back at its own last sample: written again only once that is a tile old
    assert re.search(r"unless on \(\)\nlast_over_time\(slo:sli_bad_tile:rate4m\{[^}]+\}\[3m30s\]\)$", fine)
    # the coarse ones read recorded tiles, which carry the labels they record: each series checks its own
    assert re.search(r"\)\nunless\nlast_over_time\(slo:sli_bad_tile:rate1h\{[^}]+\}\[59m30s\]\)$", coarse)
    assert "[59m59s]) * 240 / 3600" in coarse  # 15 fine tiles: a second short of 1h keeps a 16th out
