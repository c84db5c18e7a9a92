"""Serving /metrics, in one process or many (gunicorn workers with `PROMETHEUS_MULTIPROC_DIR`).

In multiprocess mode prometheus-client writes each worker's values to files in that folder; a scrape must
aggregate them with a `MultiProcessCollector` on a fresh registry rather than read the default one.
"""

from __future__ import annotations

import os
from typing import Any

import prometheus_client
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess


def scrape_registry(registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """`registry` if given; else every worker's metrics in multiprocess mode, else the default registry."""
    if registry is not None:
        return registry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        aggregated = CollectorRegistry()
        # prometheus_client.multiprocess has no annotations
        multiprocess.MultiProcessCollector(aggregated)  # type: ignore[no-untyped-call]
        return aggregated
    return REGISTRY


def make_asgi_app(registry: CollectorRegistry | None = None) -> Any:
    """An ASGI app serving the metrics (mount it at /metrics)."""
    return prometheus_client.make_asgi_app(scrape_registry(registry))


def make_wsgi_app(registry: CollectorRegistry | None = None) -> Any:
    """A WSGI app serving the metrics (e.g. with werkzeug's DispatcherMiddleware at /metrics)."""
    return prometheus_client.make_wsgi_app(scrape_registry(registry))


def mark_process_dead(pid: int) -> None:
    """Call from gunicorn's `child_exit` hook so a dead worker's live gauges are dropped."""
    # prometheus_client.multiprocess has no annotations
    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
