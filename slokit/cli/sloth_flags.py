"""Sloth's `generate` flags on `slokit validate` and `slokit generate`, with Sloth's meaning.

-l/--extra-labels, --default-slo-period and --slo-period-windows-path change the SLOs read
(slokit.spec.options); --disable-alerts and --disable-recordings what is written, as Sloth drops its
alert rules, or its SLI and metadata recording rules, from the output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml

from slokit import names, promql
from slokit.spec import tables
from slokit.spec.model import Spec
from slokit.spec.options import Options

F = TypeVar("F", bound=Callable[..., Any])


def spec_options(command: F) -> F:
    """The flags that change the SLOs read; the command gets them as one `options` argument."""
    for option in reversed((
        click.option("-l", "--extra-labels", "extra_labels", multiple=True, metavar="KEY=VALUE",
                     callback=_labels, help="A label for every SLO's rules (repeatable), as Sloth's -l."),
        click.option("--default-slo-period", "default_period", metavar="DURATION", callback=_period,
                     help="The period of Sloth specs (prometheus/v1 and the CRD have no period field) [30d]."),
        click.option("--slo-period-windows-path", "windows_path", metavar="DIR",
                     type=click.Path(exists=True, file_okay=False),
                     help="A folder of Sloth AlertWindows files: they replace the default window tables, so every "
                          "SLO's period needs one (SLOs with a table of their own keep it)."),
    )):
        command = option(command)
    return command


def options(extra_labels: dict[str, str], default_period: int | None, windows_path: str | None) -> Options:
    """The Options for spec.load (a bad AlertWindows file: SpecError, which the CLI reports)."""
    return Options(default_period=default_period or names.DEFAULT_PERIOD,
                   windows=tables.catalog(windows_path) if windows_path else None,
                   windows_source=windows_path or "", extra_labels=extra_labels)


def _labels(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, label = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r}: expected KEY=VALUE")
        if not promql.is_label_name(key):
            raise click.BadParameter(f"{key!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        if key in names.RESERVED_LABELS:
            raise click.BadParameter(f"{key!r} is set by slokit itself ({', '.join(names.RESERVED_LABELS)})")
        out[key] = label
    return out


def _period(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        seconds = promql.parse_seconds(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if seconds < 60 or seconds != int(seconds):
        raise click.BadParameter(f"{value!r}: a period is whole seconds, at least 1m")
    return int(seconds)


def output_options(command: F) -> F:
    command = click.option("--disable-alerts", is_flag=True,
                           help="No alert rules (recording rules only), as Sloth's flag.")(command)
    return click.option("--disable-recordings", is_flag=True,
                        help="No recording rules (alerts only, over series you record yourself), as Sloth's flag; "
                             "no promtool tests then.")(command)


def without_alerts(spec: Spec) -> Spec:
    """Every SLO without alerts: no alert rules, and the tests and routes that follow from them."""
    return replace(spec, slos=tuple(replace(s, alerting=None) for s in spec.slos))


def without_recordings(files: Iterable[tuple[str, str | None]], out: Path, notes: list[str]
                       ) -> Iterator[tuple[str, str | None]]:
    """The generated files without recording rules (Sloth's SLI and metadata rules; groups left empty go too),
    and without the promtool tests, which need them (a note says how many). A rule file the cache found
    in `out` is read from there: it is as generated, with its recording rules."""
    from slokit.generate import rules, yamlout  # here: `slokit validate` needs no generator (start-up time)

    dropped = 0
    for name, text in files:
        if name.startswith("rules/tests/"):
            dropped += 1
            continue
        if name.startswith("rules/") and name.endswith(".yml"):
            doc = yaml.safe_load(text if text is not None else (out / name).read_text(encoding="utf-8"))
            groups = doc["spec"]["groups"] if "spec" in doc else doc["groups"]
            for group in groups:
                group["rules"] = [r for r in group["rules"] if "alert" in r]
            groups[:] = [g for g in groups if g["rules"]]
            text = yamlout.dump(doc, rules.HEADER)
        yield name, text
    if dropped:
        notes.append(f"--disable-recordings: {dropped} promtool test file(s) not written (they need the recording "
                     "rules)")
