"""Readers for Sloth's two spec formats: `version: prometheus/v1` files and the Kubernetes CRD
(`apiVersion: sloth.slok.dev/v1`, `kind: PrometheusServiceLevel`).

Both carry the same fields, spelled as Sloth's Go types spell them: snake_case json tags in
pkg/prometheus/api/v1, camelCase in pkg/kubernetes/api/sloth/v1. Sloth ignores fields it does not
know, so an unknown field is a warning (with a did-you-mean), and it refuses what its validation
refuses (pkg/common/validation). Neither format has a period: their SLOs take the default one
(`--default-slo-period`, 30d), which spec.loader applies with Sloth's window tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from slokit import names
from slokit.spec import common, k8s
from slokit.spec.model import SLI, SLO, EventsSLI, ObjectMeta, Source
from slokit.spec.source import Doc, Fields, Path

PROMETHEUS_V1, CRD_VERSION, CRD_KIND = "prometheus/v1", "sloth.slok.dev/v1", "PrometheusServiceLevel"
FORMATS = (PROMETHEUS_V1, CRD_VERSION)  # the Source.format of the SLOs read here


@dataclass(frozen=True)
class Keys:
    """The spelling of the fields that differ between the two formats."""

    slo_plugins: str
    error_query: str
    total_query: str
    error_ratio_query: str
    page_alert: str
    ticket_alert: str


SNAKE = Keys("slo_plugins", "error_query", "total_query", "error_ratio_query", "page_alert", "ticket_alert")
CAMEL = Keys("sloPlugins", "errorQuery", "totalQuery", "errorRatioQuery", "pageAlert", "ticketAlert")


def read_prometheus_v1(doc: Doc) -> list[SLO]:
    top = Fields(doc, (), doc.data, ("version", "service", "labels", SNAKE.slo_plugins, "slos"),
                 required=("service", "slos"))
    return _slos(doc, top, SNAKE, PROMETHEUS_V1, None)


def read_crd(doc: Doc) -> list[SLO]:
    meta, top = k8s.read(doc)
    spec = Fields(doc, top.at("spec"), top.raw("spec", {}), ("service", "labels", CAMEL.slo_plugins, "slos"),
                  required=("service", "slos"))
    return _slos(doc, spec, CAMEL, CRD_VERSION, meta)


def _slos(doc: Doc, top: Fields, keys: Keys, fmt: str, meta: ObjectMeta | None) -> list[SLO]:
    if top.has(keys.slo_plugins):
        doc.warn(top.at(keys.slo_plugins), "Sloth SLO plugins are not supported; ignored (the SLOs are read "
                                           "without them)")
    service = common.check_name(doc, top.at("service"), top.str("service"))
    labels = common.check_labels(doc, top.at("labels"), top.str_map("labels"))
    items = top.list("slos")
    if top.has("slos") and not items:
        doc.error(top.at("slos"), "needs at least one SLO")
    slos = []
    for i, item in enumerate(items):
        path: Path = top.at("slos") + (i,)
        f = Fields(doc, path, item, ("name", "objective", "description", "labels", "sli", "alerting", "plugins"),
                   required=("name", "objective", "sli"))
        if not f.ok:
            continue
        if f.has("plugins"):
            doc.warn(f.at("plugins"), "Sloth SLO plugins are not supported; ignored")
        name = common.check_name(doc, f.at("name"), f.str("name"))
        slos.append(SLO(
            service=service,
            name=name,
            objective=common.check_objective(doc, f.at("objective"), f.num("objective")),
            period=names.DEFAULT_PERIOD,
            sli=_sli(doc, f.at("sli"), f.raw("sli"), keys),
            alerting=common.alerting(doc, f.at("alerting"), f.raw("alerting", {}), (keys.page_alert, keys.ticket_alert),
                                     "disable", common.alert_name(service, name)),
            description=f.str("description", ""),
            labels={**labels, **common.check_labels(doc, f.at("labels"), f.str_map("labels"))},
            k8s=meta,
            source=Source(doc.file, doc.line(path), fmt),
        ))
    return slos


def _sli(doc: Doc, path: Path, value: object, keys: Keys) -> SLI:
    s = Fields(doc, path, value, ("events", "raw", "plugin"))
    given = [k for k in ("events", "raw", "plugin") if s.has(k)]
    if s.ok and len(given) != 1:
        doc.error(path, "needs exactly one of events or raw" + (f", got {', '.join(given)}" if given else ""))
    if not given:
        return EventsSLI("", "")
    if s.has("plugin"):
        doc.error(s.at("plugin"), "Sloth SLI plugins are not supported; use events or raw")
        return EventsSLI("", "")
    if s.has("raw"):
        return _raw(doc, s, keys)
    e = Fields(doc, s.at("events"), s.raw("events", {}), (keys.error_query, keys.total_query),
               required=(keys.error_query, keys.total_query))
    sli = common.events_sli(doc, e, keys.error_query, keys.total_query)
    if sli.error_query and sli.error_query == sli.total_query:
        doc.error(e.at(keys.error_query), "is the same query as the total: every event would be an error")
    return sli


def _raw(doc: Doc, s: Fields, keys: Keys) -> SLI:
    """`prometheus/v1` spells the key `error_ratio_query` (json tag in Sloth's pkg/prometheus/api/v1); the
    CRD's spelling `errorRatioQuery` is accepted there too, with a warning."""
    raw = s.raw("raw")
    key = keys.error_ratio_query
    if keys is SNAKE and isinstance(raw, dict) and CAMEL.error_ratio_query in raw and key not in raw:
        key = CAMEL.error_ratio_query
    f = Fields(doc, s.at("raw"), raw, (key,), required=(key,))
    if key != keys.error_ratio_query:
        doc.warn(f.at(key), f"prometheus/v1 spells it {keys.error_ratio_query} ({key} is the Kubernetes CRD's)")
    return common.raw_sli(doc, f, key)
