"""Window tables given as data: slokit/v1's `windows:` section and Sloth's AlertWindows files.

Both become a `slokit.windows.WindowTable` (the one concept every consumer reads through `SLO.table`):
rows of a severity, a long and a short window, and the share of the period's error budget the row
spends; the burn factor follows (share x period / long window). Sloth's AlertWindows
(pkg/prometheus/alertwindows/v1) name one table per SLO period, `slokit generate
--slo-period-windows-path DIR` reads a folder of them, as Sloth's flag does.
"""

from __future__ import annotations

import os
from pathlib import Path as FilePath

from slokit import names, promql, windows
from slokit.errors import Problem, SpecError
from slokit.spec.model import SLO
from slokit.spec.source import Doc, Fields, Path, read_documents

ALERT_WINDOWS_VERSION, ALERT_WINDOWS_KIND = "sloth.slok.dev/v1", "AlertWindows"
Row = tuple[str, int, int, float, int | None]  # severity, long and short seconds, budget share, the row's `for`


def _row(doc: Doc, path: Path, severity: str, long: float, short: float, share: float, period: int,
         for_: int | None = None) -> Row | None:
    """One checked row, or None (with the problem recorded)."""
    if long <= 0 or short <= 0:
        return None  # the duration's own problem is recorded already
    ok = True
    if short > long:  # equal: one window (OpenSLO's burn-rate conditions)
        doc.error(path, f"the short window ({promql.format_duration(int(short))}) must not be longer than the long "
                        f"one ({promql.format_duration(int(long))})")
        ok = False
    if long > period:
        doc.error(path, f"the long window {promql.format_duration(int(long))} is longer than the period "
                        f"{promql.format_duration(period)}")
        ok = False
    if not 0 < share <= 1:
        doc.error(path, f"spends {share * 100:g}% of the error budget: must be more than 0 and at most 100")
        ok = False
    if long != int(long) or short != int(short):
        doc.error(path, "windows must be whole seconds")
        ok = False
    return (severity, int(long), int(short), share, for_) if ok else None


def read_section(doc: Doc, path: Path, value: object, period: int) -> windows.WindowTable | None:
    """slokit/v1 `windows:` (at the top or per SLO), for an SLO of `period` seconds:

        windows:
          page:   [{long: 1h, short: 5m, budget_percent: 2}, {long: 6h, short: 30m, budget_percent: 5}]
          ticket: [{long: 1d, short: 2h, budget_percent: 10}, {long: 3d, short: 6h, factor: 1, for: 1h}]

    Each row spends `budget_percent` of the period's budget within `long`, or burns `factor` times the
    budget (one of the two); a row's `for` is its alert's (Pyrra's rows each wait their own). Both tiers need
    at least one row."""
    f = Fields(doc, path, value, names.SEVERITIES, required=names.SEVERITIES)
    rows: list[Row] = []
    for severity in names.SEVERITIES:
        items = f.list(severity)
        if f.has(severity) and not items:
            doc.error(f.at(severity), "needs at least one window row")
        for i, item in enumerate(items):
            at = f.at(severity) + (i,)
            r = Fields(doc, at, item, ("long", "short", "budget_percent", "factor", "for"), required=("long", "short"))
            if not r.ok:
                continue
            long = doc.duration(r.at("long"), r.raw("long"), -1.0, minimum=1)
            short = doc.duration(r.at("short"), r.raw("short"), -1.0, minimum=1)
            if r.has("budget_percent") == r.has("factor"):
                doc.error(at, "needs exactly one of budget_percent (of the period's budget spent within the long "
                              "window) or factor (times the error budget)")
                continue
            if r.has("factor"):
                factor = r.num("factor", 0.0)
                if factor <= 0:
                    doc.error(r.at("factor"), "must be positive")
                    continue
                share = factor * long / period
            else:
                share = r.num("budget_percent", 0.0) / 100
            for_ = int(doc.duration(r.at("for"), r.raw("for"), 0, minimum=1)) if r.has("for") else None
            row = _row(doc, at, severity, long, short, share, period, for_)
            if row:
                rows.append(row)
    if doc.errors or not rows:
        return None
    return windows.custom(period, rows)


def read_alert_windows(doc: Doc) -> windows.WindowTable | None:
    """A Sloth AlertWindows document: the table of one SLO period (page and ticket, each quick and slow)."""
    top = Fields(doc, (), doc.data, ("apiVersion", "kind", "spec"), required=("apiVersion", "kind", "spec"))
    if top.str("apiVersion") != ALERT_WINDOWS_VERSION or top.str("kind") != ALERT_WINDOWS_KIND:
        doc.error((), f"not a Sloth AlertWindows file: needs apiVersion: {ALERT_WINDOWS_VERSION} and kind: "
                      f"{ALERT_WINDOWS_KIND}")
        return None
    spec = Fields(doc, top.at("spec"), top.raw("spec", {}), ("sloPeriod", "page", "ticket"),
                  required=("sloPeriod", "page", "ticket"))
    period = int(doc.duration(spec.at("sloPeriod"), spec.raw("sloPeriod"), 0, minimum=60))
    rows: list[Row] = []
    for severity in names.SEVERITIES:
        tier = Fields(doc, spec.at(severity), spec.raw(severity, {}), ("quick", "slow"), required=("quick", "slow"))
        for speed in ("quick", "slow"):
            w = Fields(doc, tier.at(speed), tier.raw(speed, {}), ("errorBudgetPercent", "shortWindow", "longWindow"),
                       required=("errorBudgetPercent", "shortWindow", "longWindow") if tier.has(speed) else ())
            if not tier.has(speed) or not w.ok:
                continue
            long = doc.duration(w.at("longWindow"), w.raw("longWindow"), -1.0, minimum=1)
            short = doc.duration(w.at("shortWindow"), w.raw("shortWindow"), -1.0, minimum=1)
            row = _row(doc, tier.at(speed), severity, long, short, w.num("errorBudgetPercent", 0.0) / 100,
                       period or names.DEFAULT_PERIOD)
            if row:
                rows.append(row)
    if doc.errors or not period:
        return None
    return windows.custom(period, rows)


def among_specs(doc: Doc) -> list[SLO]:
    """An AlertWindows file found among the specs (as in Sloth's examples folder): checked, and named."""
    read_alert_windows(doc)
    doc.warn((), "a Sloth AlertWindows file, not an SLO spec: its folder is read with --slo-period-windows-path")
    return []


def catalog(folder: str) -> dict[int, windows.WindowTable]:
    """Every AlertWindows file under `folder` (recursively, .yml/.yaml), by period; SpecError with each problem.
    As in Sloth, these replace the default tables, and one period named twice must be the same table."""
    if not os.path.isdir(folder):
        raise SpecError([Problem(folder, 0, "", "not a folder of Sloth AlertWindows files")])
    tables: dict[int, windows.WindowTable] = {}
    first: dict[int, str] = {}
    problems: list[Problem] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(n for n in files if n.endswith((".yml", ".yaml"))):
            file = os.path.join(root, name)
            try:
                docs = read_documents(file, FilePath(file).read_text(encoding="utf-8"))
            except SpecError as exc:
                problems.extend(exc.problems)
                continue
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(Problem(file, 0, "", f"cannot read: {exc}"))
                continue
            for doc in docs:
                doc.lenient = True  # Sloth ignores unknown fields here too
                table = read_alert_windows(doc)
                problems.extend(doc.problems)
                if table is None:
                    continue
                seconds = table.period.seconds
                if seconds in tables and tables[seconds] != table:
                    problems.append(Problem(file, doc.line(("spec", "sloPeriod")), "spec.sloPeriod",
                                            f"period {table.period.name} is already given, differently, in "
                                            f"{first[seconds]}"))
                tables.setdefault(seconds, table)
                first.setdefault(seconds, file)
    if not tables and not problems:
        problems.append(Problem(folder, 0, "", "no AlertWindows files in this folder"))
    if any(not p.warning for p in problems):
        raise SpecError(problems)
    return tables
