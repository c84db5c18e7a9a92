"""slokit: SLO specs to Prometheus rules, alerts and dashboards, and burn-rate driven runtime decisions.

One import for the common uses (every attribute loads on first use, so `import slokit` is cheap):

    import slokit
    spec = slokit.load(["slos/"])                       # SpecError with file:line problems if invalid
    files = slokit.generate(spec)                       # {"rules/checkout.yml": "...", ...}
    runtime = slokit.Runtime.load(["slos/"], "policy.yml")
    app = slokit.SLOMiddleware(app, "checkout", listener=runtime.listener("checkout"))

See docs/library.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from slokit import generate
    from slokit.errors import Problem, SlokitError, SpecError
    from slokit.instrument.asgi import SLOMiddleware
    from slokit.instrument.wsgi import SLOWSGIMiddleware
    from slokit.runtime.runtime import Runtime
    from slokit.spec.loader import load
    from slokit.spec.model import SLO, Spec

_LAZY = {
    "load": "slokit.spec.loader",
    "generate": "slokit.generate",  # the package itself, which is callable (see its docstring)
    "Spec": "slokit.spec.model",
    "SLO": "slokit.spec.model",
    "Runtime": "slokit.runtime.runtime",
    "SLOMiddleware": "slokit.instrument.asgi",
    "SLOWSGIMiddleware": "slokit.instrument.wsgi",
    "SlokitError": "slokit.errors",
    "SpecError": "slokit.errors",
    "Problem": "slokit.errors",
}

__all__ = ["SLO", "Problem", "Runtime", "SLOMiddleware", "SLOWSGIMiddleware", "SlokitError", "Spec", "SpecError",
           "__version__", "generate", "load"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'slokit' has no attribute {name!r}")
    target = importlib.import_module(module)
    return target if module == f"{__name__}.{name}" else getattr(target, name)
