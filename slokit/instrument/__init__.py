"""Instrumentation: middleware and hooks that record it.

    from slokit.instrument import SLOMiddleware, SLOWSGIMiddleware, instrument_session, measure

Framework modules import lazily, so `import slokit.instrument` needs neither Starlette nor Flask.
"""

from __future__ import annotations

from typing import Any

from slokit.instrument.core import Classification, Listener
from slokit.names import BAD, DISCONNECT, GOOD, UNMATCHED_ROUTE

_LAZY = {
    "SLOMiddleware": "slokit.instrument.asgi",
    "SLOWSGIMiddleware": "slokit.instrument.wsgi",
    "SLOAdapter": "slokit.instrument.client",
    "instrument_session": "slokit.instrument.client",
    "SLOTransport": "slokit.instrument.client",
    "AsyncSLOTransport": "slokit.instrument.client",
    "Measure": "slokit.instrument.decorator",
    "measure": "slokit.instrument.decorator",
    "Templates": "slokit.instrument.routes",
    "make_asgi_app": "slokit.instrument.exposition",
    "make_wsgi_app": "slokit.instrument.exposition",
}

__all__ = ["BAD", "DISCONNECT", "GOOD", "UNMATCHED_ROUTE", "Classification", "Listener", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'slokit.instrument' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
