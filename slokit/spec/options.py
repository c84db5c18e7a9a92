"""What Sloth's generate flags change about the SLOs read (`slokit generate -l`, `--default-slo-period`,
`--slo-period-windows-path`), applied once at load so every consumer sees the same SLOs.

Sloth's two spec formats have no period field: their SLOs take `default_period`, with Sloth's own tables
(the Google table for 30d, and for 28d the same windows with the budget shares of 28 days, as Sloth's
embedded google-28d.yaml). Other periods get slokit's scaled table, which Sloth has none for.
A windows catalog replaces the default tables, as in Sloth: every SLO without a table of its own
(slokit/v1 `windows:`, Pyrra's) needs one for its period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from slokit import names, promql, windows
from slokit.errors import Problem
from slokit.spec import openslo, sloth
from slokit.spec.model import SLO

SLOTH_FORMATS = (*sloth.FORMATS, openslo.V1ALPHA)  # read as Sloth reads them
SLOTH_28D = 28 * 86400  # Sloth's embedded google-28d.yaml (its google-30d.yaml is slokit's 30d table)


@dataclass(frozen=True)
class Options:
    default_period: int = names.DEFAULT_PERIOD  # seconds, for prometheus/v1 and the Sloth CRD
    windows: Mapping[int, windows.WindowTable] | None = None  # a catalog by period (Sloth's AlertWindows)
    windows_source: str = ""  # where the catalog came from, for messages
    extra_labels: dict[str, str] = field(default_factory=dict)  # added to every SLO (Sloth's -l)


def apply(slos: list[SLO], options: Options) -> tuple[list[SLO], list[Problem]]:
    """The SLOs with the options applied, and a problem for each SLO the catalog has no table for."""
    out, problems = [], []
    for slo in slos:
        fmt = slo.source.format if slo.source else ""
        if fmt in sloth.FORMATS and slo.period != options.default_period:
            slo = replace(slo, period=options.default_period)
        if slo.window_table is None:
            if options.windows is not None:
                table = options.windows.get(slo.period)
                if table is None:
                    problems.append(_missing(slo, options))
                slo = replace(slo, window_table=table)
            elif fmt in SLOTH_FORMATS and slo.period == SLOTH_28D:
                slo = replace(slo, window_table=windows.custom(slo.period, windows.GOOGLE_30D))
        if options.extra_labels:
            slo = replace(slo, labels={**slo.labels, **options.extra_labels})
        out.append(slo)
    return out, problems


def _missing(slo: SLO, options: Options) -> Problem:
    have = ", ".join(promql.format_duration(p) for p in sorted(options.windows or {})) or "none"
    file, line = (slo.source.file, slo.source.line) if slo.source else ("", 0)
    return Problem(file, line, "", f"SLO {slo.id!r}: no alert windows for its period "
                                   f"{promql.format_duration(slo.period)} in {options.windows_source} (it has {have})")
