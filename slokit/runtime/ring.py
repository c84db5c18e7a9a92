"""One ring of time buckets, for the engine's windows, the period's budget, the breaker's and the retry
budget's last seconds.

Bucket `i` (time // width) lives in slot `i % size`; the ring holds the last `size` buckets. Moving on to a
later bucket empties the slots time has passed, at most one lap of the ring, with slice assignments: the
first event after a day of silence costs one pass over the ring in C, never a Python loop per missed bucket.
"""

from __future__ import annotations

from array import array


def _zeros(n: int) -> array[int]:
    return array("q", bytes(8 * n))


class Ring:
    """`columns` integer counters (e.g. good and bad) per bucket. Not locked: its owner holds a lock."""

    def __init__(self, size: int, columns: int, index: int = 0) -> None:
        if size < 1:
            raise ValueError("a ring needs at least one bucket")
        self.size = size
        self.index = index  # the current bucket
        self.counts = tuple(_zeros(size) for _ in range(columns))  # one array per column; never replaced
        self._none = (0,) * columns

    @property
    def slot(self) -> int:
        """Where the current bucket's counts are (`ring.counts[column][ring.slot] += n`)."""
        return self.index % self.size

    def advance(self, index: int) -> tuple[int, ...]:
        """Make bucket `index` the current one, emptying every bucket after the old current one up to it;
        return what was emptied, per column (so an owner's running totals can drop it). Earlier: no-op."""
        steps = index - self.index
        if steps <= 0:
            return self._none
        first, count = (self.index + 1) % self.size, min(steps, self.size)
        self.index = index
        return tuple(self._empty(column, first, count) for column in self.counts)

    def _empty(self, column: array[int], first: int, count: int) -> int:
        if count == 1:  # the common case: time moved on by one bucket
            value = column[first]
            column[first] = 0
            return value
        end = first + count
        if end <= self.size:
            emptied = sum(column[first:end])
            column[first:end] = _zeros(count)
        else:  # wraps around the end of the ring
            emptied = sum(column[first:]) + sum(column[:end - self.size])
            column[first:] = _zeros(self.size - first)
            column[:end - self.size] = _zeros(end - self.size)
        return emptied

    def sum(self, column: int, first: int, stop: int) -> int:
        """The counts of buckets `first` .. `stop - 1` of one column (bucket indices within the ring)."""
        count = stop - first
        if count <= 0:
            return 0
        values, start = self.counts[column], first % self.size
        end = start + count
        if end <= self.size:
            return sum(values[start:end])
        return sum(values[start:]) + sum(values[:end - self.size])
