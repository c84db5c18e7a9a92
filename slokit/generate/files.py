"""Everything `slokit generate` writes, as (relative path, text) pairs made one after the other, so a run
holds one service's files at a time; pure, so it can be diffed (--check)."""

from __future__ import annotations

import functools

from slokit.generate import alertmanager, dashboards, delivery, jsonnet, promtool_tests, rules, yamlout
from slokit.generate import cache as cache_keys
from slokit.generate import workers as workers_
from slokit.generate.cache import Cache
from slokit.generate.dashboards import Files, Progress
from slokit.spec.model import SLO, Spec
from slokit.spec.source import Doc

RULES_BATCH = 25  # services per worker task


def by_service(slos: tuple[SLO, ...]) -> dict[str, list[SLO]]:
    out: dict[str, list[SLO]] = {}
    for slo in slos:
        out.setdefault(slo.service, []).append(slo)
    return dict(sorted(out.items()))


def generate(spec: Spec, fmt: str = "prometheus", dashboards_entry: str | None = None,
             alertmanager_base: Doc | None = None, workers: int = 1, cache: Cache | None = None
             ) -> tuple[dict[str, str], list[str]]:
    """Output files and notes (what generated tests could not assert), all in memory: `stream` does it
    without holding every file."""
    notes: list[str] = []
    made = stream(spec, fmt, dashboards_entry, alertmanager_base, workers, cache, notes=notes)
    return texts(made, cache), notes


def stream(spec: Spec, fmt: str = "prometheus", dashboards_entry: str | None = None,
           alertmanager_base: Doc | None = None, workers: int = 1, cache: Cache | None = None,
           progress: Progress | None = None, notes: list[str] | None = None) -> Files:
    """Every output file once, as it is made: (name, text), text None where the cache found the file in
    its OUT as it would be made. Notes (what generated tests could not assert) go to `notes` as the files
    are read. workers: processes; cache: read and updated (the caller saves it after writing the files);
    progress: called with (what, services done, services in all)."""
    notes = [] if notes is None else notes
    am_config = alertmanager.config(spec.silence_groups, alertmanager_base)  # SpecError on bad silence groups
    if jsonnet.installed() is None:
        notes.append("dashboards skipped: pip install 'slokit[dashboards]' for jsonnet")
    else:  # first: the workers start now and each dashboard is written as it comes (none wait in memory)
        yield from dashboards.start(spec.slos, dashboards_entry, workers=workers, cache=cache, progress=progress)()
    yield from rule_stream(spec, fmt, cache, progress, workers, notes)
    if am_config is not None:
        yield "alertmanager/alertmanager.yml", yamlout.dump(am_config, alertmanager.HEADER)


def rule_files(spec: Spec, fmt: str = "prometheus", cache: Cache | None = None,
               progress: Progress | None = None, workers: int = 1) -> tuple[dict[str, str], list[str]]:
    """Rules per service and, for plain Prometheus rules, their promtool tests, in memory."""
    notes: list[str] = []
    return texts(rule_stream(spec, fmt, cache, progress, workers, notes), cache), notes


def rule_stream(spec: Spec, fmt: str, cache: Cache | None, progress: Progress | None, workers: int,
                notes: list[str]) -> Files:
    """`rule_files` as a stream (see `stream`); services the cache does not hold are rendered in
    `workers` processes, RULES_BATCH at a time."""
    services = by_service(spec.slos)
    keys = {service: cache_keys.key("rules", fmt, service, cache_keys.slos_text(slos)) if cache else ""
            for service, slos in services.items()}
    hits: dict[str, tuple[dict[str, str], list[str]]] = {}
    for service, key in keys.items():
        hit = cache.get(key) if cache else None
        if hit is not None:
            hits[service] = hit
    todo = [(service, slos) for service, slos in services.items() if service not in hits]
    chunks = [todo[i:i + RULES_BATCH] for i in range(0, len(todo), RULES_BATCH)]
    rendered = (made for chunk in workers_.imap(functools.partial(_render, fmt=fmt), chunks, workers)
                for made in chunk)
    for done, service in enumerate(services, 1):
        if service in hits:
            found, skipped = hits[service]
            yield from ((name, None) for name in found)
        else:
            out, skipped = next(rendered)
            if cache:
                cache.put(keys[service], out, skipped)
            yield from out.items()
        notes.extend(skipped)
        if progress and (done % RULES_BATCH == 0 or done == len(services)):
            progress("rules", done, len(services))
    for scope in rules.scopes(spec.slos):  # of every service: made each time (cheap), never from the cache
        yield f"rules/{scope.file}", yamlout.dump(rules.shared_document(scope, spec.slos, fmt), rules.HEADER)


def texts(files: Files, cache: Cache | None) -> dict[str, str]:
    """A stream's files in memory; those the cache found are read back from its OUT."""
    out = {}
    for name, text in files:
        if text is None:
            assert cache is not None, "only a cache finds files"
            text = (cache.out / name).read_text(encoding="utf-8")
        out[name] = text
    return out


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
