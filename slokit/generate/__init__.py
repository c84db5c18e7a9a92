"""Pure generators: the SLO model in, text out. Writing files is the CLI's job.

The package is also the public `slokit.generate(spec, format=...)`: importing any generator module binds
`slokit.generate` to this package, so the package itself is callable (a module subclass with `__call__`,
a documented use of module `__class__` assignment) instead of a function that an import would shadow.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slokit.spec.model import Spec


class _Generate(types.ModuleType):
    def __call__(self, spec: Spec, format: str = "prometheus", dashboards_jsonnet: str | None = None) -> dict[str, str]:
        """Every file `slokit generate` writes for `spec`, as {relative path: text}; pure and deterministic.

        `format`: "prometheus", "prometheus-operator" or "mimir" for the rules. Dashboards need the jsonnet
        extra (`pip install 'slokit[dashboards]'`); without it they are left out.
        """
        from slokit.generate.files import generate

        return generate(spec, format, dashboards_jsonnet)[0]


sys.modules[__name__].__class__ = _Generate
