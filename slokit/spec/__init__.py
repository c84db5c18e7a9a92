"""The SLO model and the readers for every input format.

    from slokit.spec import load
    spec = load(["slos/"])        # every SLO, silence group and policy, or SpecError with file:line problems

Attributes load on first use, so importing the model (`slokit.spec.model`, as the runtime does) does not
load the readers (OpenSLO, the PromQL parser).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slokit.errors import Problem, SpecError
    from slokit.spec.loader import load
    from slokit.spec.model import SLO, Alerting, EventsSLI, HttpSLI, LatencySLI, RawSLI, Spec, Tier

_LAZY = {
    "load": "slokit.spec.loader",
    "Problem": "slokit.errors",
    "SpecError": "slokit.errors",
    **{name: "slokit.spec.model" for name in ("SLO", "Alerting", "EventsSLI", "HttpSLI", "LatencySLI", "RawSLI",
                                                "Spec", "Tier")},
}

__all__ = ["SLO", "Alerting", "EventsSLI", "HttpSLI", "LatencySLI", "Problem", "RawSLI", "Spec", "SpecError",
           "Tier", "load"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'slokit.spec' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
