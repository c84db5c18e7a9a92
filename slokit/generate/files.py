"""Everything `slokit generate` writes, as {relative path: text}: pure, so it can be diffed (--check)."""

from __future__ import annotations

import importlib.util

from slokit.generate import alertmanager, dashboards, delivery, promtool_tests, rules, yamlout
from slokit.spec.model import SLO, Spec
from slokit.spec.source import Doc


def by_service(slos: tuple[SLO, ...]) -> dict[str, list[SLO]]:
    out: dict[str, list[SLO]] = {}
    for slo in slos:
        out.setdefault(slo.service, []).append(slo)
    return dict(sorted(out.items()))


def generate(spec: Spec, fmt: str = "prometheus",
             dashboards_entry: str | None = None,
             alertmanager_base: Doc | None = None) -> tuple[dict[str, str], list[str]]:
    """Output files and notes (what generated tests could not assert)."""
    files, notes = rule_files(spec, fmt)
    files.update(_dashboards(spec, dashboards_entry, notes))
    am_config = alertmanager.config(spec.silence_groups, alertmanager_base)  # SpecError on bad silence groups
    if am_config is not None:
        files["alertmanager/alertmanager.yml"] = yamlout.dump(am_config, alertmanager.HEADER)
    return files, notes


def rule_files(spec: Spec, fmt: str = "prometheus") -> tuple[dict[str, str], list[str]]:
    """Rules per service and, for plain Prometheus rules, their promtool tests."""
    files: dict[str, str] = {}
    notes: list[str] = []
    for service, slos in by_service(spec.slos).items():
        rules_name = f"{service}.yml"
        files[f"rules/{rules_name}"] = yamlout.dump(rules.rules_document(service, slos, fmt), rules.HEADER)
        if fmt == "prometheus":
            # Tests live one folder down: `promtool check rules OUT/rules/*.yml` must not read them.
            doc, skipped = promtool_tests.tests_document(f"../{rules_name}", slos)
            notes.extend(skipped)
            header = rules.HEADER + f"\nRun: promtool test rules rules/tests/{service}.test.yml"
            if skipped:
                header += "\nNot asserted:\n" + "\n".join(f"  {n}" for n in skipped)
            files[f"rules/tests/{service}.test.yml"] = yamlout.dump(doc, header)
        files.update(delivery.files(service, slos))  # Argo Rollouts AnalysisTemplate, Flagger MetricTemplates
    return files, notes


def _dashboards(spec: Spec, entry: str | None, notes: list[str]) -> dict[str, str]:
    """Grafana dashboards (dashboards/*.json), or a note when the optional jsonnet package is missing."""
    if importlib.util.find_spec("_gojsonnet") is None and importlib.util.find_spec("_jsonnet") is None:
        notes.append("dashboards skipped: pip install 'slokit[dashboards]' for jsonnet")
        return {}
    return dashboards.files(spec.slos, entry)
