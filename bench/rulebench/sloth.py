"""The rules Sloth (v0.11 to v0.16) generates for an `events` SLI, reproduced for the benchmark.

Checked against Sloth's source (slok/sloth v0.16.0): internal/plugin/slo/core/sli_rules_v1 (window rules,
the "optimized" period rule), metadata_rules_v1, alert_rules_v1 (the multiwindow template), the google-30d
window table (page 2% of budget over 1h / 5% over 6h, ticket 10% over 1d / 3d), and the golden file
test/integration/prometheus/testdata/out-base.yaml.tpl (tests/test_bench_prometheus_rules.py compares).
Group names, expressions and labels are Sloth's, so its series (sloth_id, sloth_service, sloth_slo,
sloth_window) never collide with slokit's (slo_service, slo_name, slo_window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

VERSION = "v0.16.0"
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")  # the alert windows, sorted; plus the period
PERIOD = "30d"
PERIOD_DAYS = 30
# (severity, (short, long, factor) for the quick and the slow condition): burn factor = share * 30d / long
TIERS = (("page", (("5m", "1h", 14.4), ("30m", "6h", 6.0))),
         ("ticket", (("2h", "1d", 3.0), ("6h", "3d", 1.0))))


@dataclass(frozen=True)
class SLO:
    """One Sloth `prometheus/v1` SLO with an events SLI; queries use Sloth's `{{.window}}` placeholder."""

    service: str
    name: str
    objective: float  # percent, as in the spec
    error_query: str
    total_query: str
    alert_name: str
    labels: dict[str, str] = field(default_factory=dict)  # spec labels merged with the SLO's
    alert_labels: dict[str, str] = field(default_factory=dict)
    page_labels: dict[str, str] = field(default_factory=dict)
    ticket_labels: dict[str, str] = field(default_factory=dict)
    alert_annotations: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.service}-{self.name}"

    @property
    def ids(self) -> dict[str, str]:
        return {"sloth_id": self.id, "sloth_service": self.service, "sloth_slo": self.name}

    @property
    def filter(self) -> str:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(self.ids.items())) + "}"


def _go(value: float) -> str:
    """A float as Go's %g / %v prints it (shortest form that reads back the same)."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _metric(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def sli_rules(slo: SLO) -> list[dict[str, Any]]:
    """The window ratios over the raw series, then the period ratio as a time average of the 5m ratio."""
    rules = []
    for window in WINDOWS:
        expr = (f"({slo.error_query})\n/\n({slo.total_query})\n").replace("{{.window}}", window)
        rules.append({"record": _metric(window), "expr": expr,
                      "labels": {**slo.ids, "sloth_window": window, **slo.labels}})
    short = _metric(WINDOWS[0])
    expr = (f"sum_over_time({short}{slo.filter}[{PERIOD}])\n/ ignoring (sloth_window)\n"
            f"count_over_time({short}{slo.filter}[{PERIOD}])\n")
    rules.append({"record": _metric(PERIOD), "expr": expr,
                  "labels": {**slo.ids, "sloth_window": PERIOD, **slo.labels}})
    return rules


def meta_rules(slo: SLO) -> list[dict[str, Any]]:
    labels = {**slo.ids, **slo.labels}
    ratio = slo.objective / 100

    def burn(window: str) -> str:
        return (f"{_metric(window)}{slo.filter}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
                f"slo:error_budget:ratio{slo.filter}\n")

    info = {**labels, "sloth_version": VERSION, "sloth_mode": "cli-gen-prom", "sloth_spec": "prometheus/v1",
            "sloth_objective": _go(slo.objective)}
    return [
        {"record": "slo:objective:ratio", "expr": f"vector({_go(ratio)})", "labels": labels},
        {"record": "slo:error_budget:ratio", "expr": f"vector(1-{_go(ratio)})", "labels": labels},
        {"record": "slo:time_period:days", "expr": f"vector({PERIOD_DAYS})", "labels": labels},
        {"record": "slo:current_burn_rate:ratio", "expr": burn(WINDOWS[0]), "labels": labels},
        {"record": "slo:period_burn_rate:ratio", "expr": burn(PERIOD), "labels": labels},
        {"record": "slo:period_error_budget_remaining:ratio",
         "expr": f"1 - slo:period_burn_rate:ratio{slo.filter}", "labels": labels},
        {"record": "sloth_slo_info", "expr": "vector(1)", "labels": info},
    ]


def alert_rules(slo: SLO) -> list[dict[str, Any]]:
    """Page and ticket: (quick short and quick long above their factor) or (slow short and slow long)."""
    budget = _go((100 - slo.objective) / 100)
    rules = []
    for severity, conditions in TIERS:
        parts = []
        for short, long, factor in conditions:
            a, b = (f"    max({_metric(w)}{slo.filter} > ({_go(factor)} * {budget})) without (sloth_window)"
                    for w in (short, long))
            parts.append(f"(\n{a}\n    and\n{b}\n)")
        extra = slo.page_labels if severity == "page" else slo.ticket_labels
        annotations = {
            "title": f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget "
                     "burn rate is too fast.",
            "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over "
                       "expected.",
            **slo.alert_annotations}
        rules.append({"alert": slo.alert_name, "expr": "\nor\n".join(parts) + "\n",
                      "labels": {"sloth_severity": severity, **slo.alert_labels, **extra},
                      "annotations": annotations})
    return rules


def groups(slo: SLO) -> list[dict[str, Any]]:
    return [{"name": f"sloth-slo-sli-recordings-{slo.id}", "rules": sli_rules(slo)},
            {"name": f"sloth-slo-meta-recordings-{slo.id}", "rules": meta_rules(slo)},
            {"name": f"sloth-slo-alerts-{slo.id}", "rules": alert_rules(slo)}]


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def rules_text(slos: list[SLO]) -> str:
    """A Prometheus rule file, as `sloth generate` writes it (its header, its group order)."""
    doc = {"groups": [group for slo in slos for group in groups(slo)]}
    header = f"\n---\n# Code generated by Sloth ({VERSION}): https://github.com/slok/sloth.\n# DO NOT EDIT.\n\n"
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=1 << 16)
