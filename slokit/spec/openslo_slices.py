"""OpenSLO `budgetingMethod: Timeslices` and `RatioTimeslices` as an error-ratio SLI.

The period is cut into slices of `timeSliceWindow`. Timeslices: a slice is good when its good/total ratio
meets `timeSliceTarget`, and the SLI is the share of good slices, so the objective is a share of slices
(99% of the minutes good). RatioTimeslices: the SLI is the average of the slices' ratios, each slice
weighing the same whatever its traffic. Both are a PromQL subquery at the slice's resolution, whose steps
Prometheus aligns to whole multiples of it, so each step is one whole slice. Prometheus 2 closes a range at
both ends (a 5m range would hold six steps); `offset -1s` makes it the last five slices, the one just
ended included, in Prometheus 2 and 3 alike. A slice without events is no slice (not a bad one).
"""

from __future__ import annotations

from slokit import promql
from slokit.spec.model import EventsSLI, RawSLI
from slokit.spec.source import Doc, Fields

METHODS = ("Timeslices", "RatioTimeslices")


def sli(doc: Doc, o: Fields, events: EventsSLI, method: str, shortest: int) -> RawSLI | None:
    """The objective's SLI over slices; None (with the problem recorded) when the slice is not usable.
    `shortest`: the shortest alert window, which must hold at least one slice."""
    if not o.has("timeSliceWindow"):
        doc.error(o.at("timeSliceWindow"), f"is required with budgetingMethod {method}")
        return None
    seconds = int(doc.duration(o.at("timeSliceWindow"), o.raw("timeSliceWindow"), 0, minimum=1))
    if not seconds:
        return None
    if seconds > shortest:
        doc.error(o.at("timeSliceWindow"), f"is longer than the shortest alert window "
                                          f"({promql.format_duration(shortest)}), which would hold no slice")
        return None
    slice_ = promql.format_duration(seconds)
    bad = promql.render_window(events.error_query, slice_)
    total = promql.render_window(events.total_query, slice_)
    good = f"1 - ({bad}) / (({total}) > 0)"
    if method == "Timeslices":
        if not o.has("timeSliceTarget"):
            doc.error(o.at("timeSliceTarget"), "is required with budgetingMethod Timeslices")
            return None
        target = o.num("timeSliceTarget", 0.0)
        if not 0 < target <= 1:
            doc.error(o.at("timeSliceTarget"), f"must be a ratio above 0 and at most 1, got {target:g}")
            return None
        good = f"({good}) >= bool {promql.float_literal(target)}"
    elif o.has("timeSliceTarget"):
        doc.warn(o.at("timeSliceTarget"), "RatioTimeslices averages the slices' ratios: no slice target; ignored")
    return RawSLI(f"1 - avg_over_time(({good})[{promql.WINDOW_PLACEHOLDER}:{slice_}] offset -1s)")
