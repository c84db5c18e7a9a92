"""Forked worker processes for the generators: `slokit generate` renders the services of a large spec set
on every core (rules and dashboards at once), byte for byte what one process renders."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.pool import Pool
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def imap(func: Callable[[T], R], items: Sequence[T], workers: int, fresh: bool = False) -> Iterator[R]:
    """`map(func, items)`, in `workers` forked processes when there are several items and the platform
    forks (else in this process). The workers start at once, so the caller can do other work before it
    reads the results, in order. fresh: one process per item (for memory only an exit returns)."""
    if not forks(workers, len(items)):
        return map(func, items)
    pool = multiprocessing.get_context("fork").Pool(min(workers, len(items)), maxtasksperchild=1 if fresh else None)
    return _closing(pool, pool.imap(func, items))


def forks(workers: int, items: int) -> bool:
    """Whether `imap` runs `items` items in worker processes."""
    return workers > 1 and items > 1 and "fork" in multiprocessing.get_all_start_methods()


def _closing(pool: Pool, results: Iterator[R]) -> Iterator[R]:
    try:
        yield from results
    finally:
        pool.terminate()  # every result was read (or an error stops the run): no work is lost
        pool.join()
