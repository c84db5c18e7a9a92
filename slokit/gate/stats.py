"""The statistics of the canary comparison."""

from __future__ import annotations

import math


def fisher_greater(bad_a: int, total_a: int, bad_b: int, total_b: int) -> float:
    """One-sided p-value of Fisher's exact test that A's bad ratio is greater than B's.

    Why Fisher and not a two-proportion z-test: SLO error ratios are small (0.1%), so a canary's expected
    bad count is often below 5, where the z-test's normal approximation is wrong (too many false alarms
    or misses). Fisher's test is exact for any count: P(X >= bad_a) for X hypergeometric with the margins
    of the 2x2 table fixed.
    """
    n, k, draws = total_a + total_b, bad_a + bad_b, total_a
    if n == 0 or k == 0 or draws == 0:
        return 1.0

    def log_pmf(x: int) -> float:
        return _log_comb(k, x) + _log_comb(n - k, draws - x) - _log_comb(n, draws)

    low, top = max(0, draws - (n - k)), min(k, draws)
    if bad_a <= low:  # the whole support: certainly not worse
        return 1.0
    return min(1.0, sum(math.exp(log_pmf(x)) for x in range(bad_a, top + 1)))


def _log_comb(n: int, r: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(n - r + 1)
