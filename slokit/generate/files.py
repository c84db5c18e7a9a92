"""Everything `slokit generate` writes, as {relative path: text}: pure, so it can be diffed (--check)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from slokit.generate import alertmanager, dashboards, delivery, jsonnet, promtool_tests, rules, yamlout
from slokit.generate import cache as cache_keys
from slokit.generate import workers as workers_
from slokit.generate.cache import Cache
from slokit.generate.dashboards import Progress
from slokit.spec.model import SLO, Spec
from slokit.spec.source import Doc

RULES_BATCH = 25  # services per worker task


def by_service(slos: tuple[SLO, ...]) -> dict[str, list[SLO]]:
    out: dict[str, list[SLO]] = {}
    for slo in slos:
        out.setdefault(slo.service, []).append(slo)
    return dict(sorted(out.items()))


def generate(spec: Spec, fmt: str = "prometheus",
             dashboards_entry: str | None = None,
             alertmanager_base: Doc | None = None, workers: int = 1, cache: Cache | None = None,
             progress: Progress | None = None) -> tuple[dict[str, str], list[str]]:
    """Output files and notes (what generated tests could not assert).

    workers: processes for the dashboards; cache: files of services whose inputs did not change (read
    and updated; the caller saves it); progress: called with (what, services done, services in all)."""
    dashboard_notes: list[str] = []
    finish = _dashboards(spec, dashboards_entry, dashboard_notes, workers, cache, progress)  # workers start
    files, notes = rule_files(spec, fmt, cache, progress, workers)  # meanwhile
    files.update(finish())
    notes.extend(dashboard_notes)
    am_config = alertmanager.config(spec.silence_groups, alertmanager_base)  # SpecError on bad silence groups
    if am_config is not None:
        files["alertmanager/alertmanager.yml"] = yamlout.dump(am_config, alertmanager.HEADER)
    return files, notes


def rule_files(spec: Spec, fmt: str = "prometheus", cache: Cache | None = None,
               progress: Progress | None = None, workers: int = 1) -> tuple[dict[str, str], list[str]]:
    """Rules per service and, for plain Prometheus rules, their promtool tests; services the cache does
    not hold are rendered in `workers` processes, RULES_BATCH at a time."""
    services = by_service(spec.slos)
    keys = {service: cache_keys.key("rules", fmt, service, cache_keys.slos_text(slos)) if cache else ""
            for service, slos in services.items()}
    made: dict[str, tuple[dict[str, str], list[str]]] = {}
    for service, key in keys.items():
        hit = cache.get(key) if cache else None
        if hit is not None:
            made[service] = hit
    todo = [(service, slos) for service, slos in services.items() if service not in made]
    chunks = [todo[i:i + RULES_BATCH] for i in range(0, len(todo), RULES_BATCH)]
    for chunk, rendered in zip(chunks, workers_.imap(functools.partial(_render, fmt=fmt), chunks, workers),
                               strict=True):
        for (service, _), (out, skipped) in zip(chunk, rendered, strict=True):
            made[service] = out, skipped
            if cache:
                cache.put(keys[service], out, skipped)
        if progress:
            progress("rules", len(made), len(services))
    files: dict[str, str] = {}
    notes: list[str] = []
    for service in services:
        out, skipped = made[service]
        files.update(out)
        notes.extend(skipped)
    return files, notes


def _render(chunk: list[tuple[str, list[SLO]]], fmt: str) -> list[tuple[dict[str, str], list[str]]]:
    return [service_files(service, slos, fmt) for service, slos in chunk]


def service_files(service: str, slos: list[SLO], fmt: str) -> tuple[dict[str, str], list[str]]:
    """One service's rules, promtool tests and delivery templates, and what its tests could not assert."""
    files: dict[str, str] = {}
    rules_name = f"{service}.yml"
    files[f"rules/{rules_name}"] = yamlout.dump(rules.rules_document(service, slos, fmt), rules.HEADER)
    skipped: list[str] = []
    if fmt == "prometheus":
        # Tests live one folder down: `promtool check rules OUT/rules/*.yml` must not read them.
        doc, skipped = promtool_tests.tests_document(f"../{rules_name}", slos)
        header = rules.HEADER + f"\nRun: promtool test rules rules/tests/{service}.test.yml"
        if skipped:
            header += "\nNot asserted:\n" + "\n".join(f"  {n}" for n in skipped)
        files[f"rules/tests/{service}.test.yml"] = yamlout.dump(doc, header)
    files.update(delivery.files(service, slos))  # Argo Rollouts AnalysisTemplate, Flagger MetricTemplates
    return files, skipped


def _dashboards(spec: Spec, entry: str | None, notes: list[str], workers: int, cache: Cache | None,
                progress: Progress | None) -> Callable[[], dict[str, str]]:
    """Grafana dashboards (dashboards/*.json), begun, or a note when the optional jsonnet package is missing."""
    if jsonnet.installed() is None:
        notes.append("dashboards skipped: pip install 'slokit[dashboards]' for jsonnet")
        return dict
    return dashboards.start(spec.slos, entry, workers=workers, cache=cache, progress=progress)
