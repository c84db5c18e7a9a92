"""PromQL text building: values from specs are escaped so they cannot change a query's meaning."""

from __future__ import annotations

import promql_parser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slokit import promql


@given(st.text(max_size=40))
def test_any_label_value_stays_one_string_literal(value):
    expr = promql_parser.parse(f"up{promql.selector({'job': value})}")
    (matcher,) = [m for m in expr.matchers.matchers if m.name == "job"]
    assert matcher.value == value


@given(st.integers(min_value=1, max_value=10 * 365 * 86400))
def test_durations_round_trip(seconds):
    assert promql.parse_duration(promql.format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "-5m", "5 m", "0s", "1.5h"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        promql.parse_duration(text)


def test_label_names_are_checked():
    with pytest.raises(ValueError):
        promql.selector({'a"}or vector(1)#': "x"})


def test_le_matches_go_and_python_histogram_labels():
    import re
    assert re.fullmatch(promql.le_regex(1.0), "1") and re.fullmatch(promql.le_regex(1.0), "1.0")
    assert re.fullmatch(promql.le_regex(0.3), "0.3") and not re.fullmatch(promql.le_regex(0.3), "0x3")


def test_sub_second_durations_keep_their_fraction():
    assert promql.parse_seconds("300ms") == 0.3 and promql.parse_seconds("1s500ms") == 1.5
    assert promql.parse_duration("1s500ms") == 1  # whole seconds where windows need them
