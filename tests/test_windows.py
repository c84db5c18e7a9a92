"""The window table: the workbook's numbers at 30d, the same budget shares at any period."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slokit import windows


def test_thirty_days_is_the_sre_workbook_table():
    t = windows.table(30 * 86400)
    rows = [(c.severity, c.long.name, c.short.name, c.factor) for c in t.conditions]
    assert rows == [("page", "1h", "5m", 14.4), ("page", "6h", "30m", 6.0),
                    ("ticket", "1d", "2h", 3.0), ("ticket", "3d", "6h", 1.0)]
    assert [w.name for w in t.windows] == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]


def test_other_periods_scale_the_windows():
    t = windows.table(7 * 86400)
    assert [(c.long.name, c.short.name) for c in t.by_severity("page")] == [("14m", "1m10s"), ("1h24m", "7m")]


@given(st.integers(min_value=3600, max_value=400 * 86400))
def test_each_row_spends_the_same_share_of_budget_at_any_period(period):
    for c in windows.table(period).conditions:
        spent = c.factor * c.long.seconds / period  # burn x window / period = share of budget spent
        assert abs(spent - c.budget_share) < 1e-5
        assert c.short.seconds < c.long.seconds


@given(st.integers(min_value=60, max_value=400 * 86400))
def test_windows_are_sorted_distinct_and_positive(period):
    ws = [w.seconds for w in windows.table(period).windows]
    assert ws == sorted(set(ws)) and ws[0] >= 1


def test_detection_time_of_a_full_outage():
    page_1h = windows.table(30 * 86400).conditions[0]
    # 14.4 x 0.1% budget = 1.44% errors; at 100% errors the 1h window gets there in 0.0144 h = 51.84 s
    assert round(windows.detection_seconds(page_1h, 0.001, 1.0), 2) == 51.84
    assert windows.detection_seconds(page_1h, 0.001, 0.01) == float("inf")
