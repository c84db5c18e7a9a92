"""Real specs from Sloth, Pyrra and OpenSLO (tests/data/compat, origins in its README): each generates rules
promtool accepts and alerts that match the source tool's, or is refused precisely."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from slokit import promql
from slokit.generate.files import rule_files
from slokit.spec import SpecError, load
from tests.conftest import COMPAT, require

SLOTH_GOLDEN = COMPAT / "sloth" / "golden"

# Accepted as they are; the warnings each one gets (file line: field path: message), in full.
ACCEPTED: dict[str, list[str]] = {
    "sloth/getting-started.yml": ["7: warning: slo_plugins: Sloth SLO plugins are not supported; ignored"],
    "sloth/home-wifi.yml": [],
    "sloth/kubernetes-apiserver.yml": [],
    "sloth/openslo-getting-started.yml": [],
    "sloth/raw-home-wifi.yml": [],
    "sloth/k8s-getting-started.yml": [],
    "sloth/k8s-home-wifi.yml": [],
    "sloth/k8s-multifile.yml": [],
    "sloth/multifile.yml": [],
    "sloth/no-alerts.yml": [],
    "sloth/openslo-kubernetes-apiserver.yml": [],
    "sloth/contrib-denominator-corrected.yaml": ["10: warning: spec.sloPlugins: Sloth SLO plugins are not supported"],
    "sloth/slo-plugin-getting-started.yml": ["7: warning: slo_plugins: Sloth SLO plugins are not supported",
                                             "21: warning: slos[0].plugins: Sloth SLO plugins are not supported"],
    "sloth/slo-plugin-k8s-getting-started.yml": ["17: warning: spec.sloPlugins: Sloth SLO plugins",
                                                 "29: warning: spec.slos[0].plugins: Sloth SLO plugins"],
    # Sloth's own "good" validation inputs: prometheus/v1 files with the CRD's camelCase alert keys, which
    # Sloth ignores (its decoder drops unknown fields) and slokit names.
    "sloth/testdata/good/good-aa.yaml": [
        "21: warning: slos[0].alerting.pageAlert: unknown field (did you mean 'page_alert'?); ignored",
        "24: warning: slos[0].alerting.ticketAlert: unknown field (did you mean 'ticket_alert'?); ignored"],
    "sloth/testdata/good/good-ab.yaml": ["21: warning: slos[0].alerting.pageAlert: unknown field",
                                         "24: warning: slos[0].alerting.ticketAlert: unknown field"],
    "sloth/testdata/good/good-ba.yaml": ["21: warning: slos[0].alerting.pageAlert: unknown field",
                                         "24: warning: slos[0].alerting.ticketAlert: unknown field"],
    "sloth/testdata/good/good-k8s.yaml": [],
    "sloth/testdata/good/good-multi-k8s.yaml": [],
    "sloth/testdata/good/good-multi.yaml": [],
    "sloth/testdata/good/good-openslo.yaml": [],
    # Sloth calls a 28-day OpenSLO window bad (its validation predates its 28d table); slokit reads it.
    "sloth/testdata/bad/bad-openslo.yaml": [],
    "sloth/golden/in-base.yaml": [],
    "sloth/golden/in-base-k8s.yaml": [],
    "sloth/golden/in-multifile.yaml": [],
    "sloth/golden/in-multifile-k8s.yaml": [],
    "sloth/golden/in-openslo.yaml": [],
    # oslo's valid example: Timeslices over a calendar week in New York (a fixed UTC-05:00, warned).
    "openslo/oslo-v1.yaml": [
        "36: warning: [0].spec.timeWindow[0].calendar.timeZone: America/New_York observes daylight saving time",
        "59: warning: [2].metadata.name: 'example service' is not a DNS label"],
    # Pyrra's examples: every indicator kind (ratio, latency, latencyNative, bool_gauge), with and without grouping.
    "pyrra/caddy-response-latency.yaml": [],
    "pyrra/kubernetes/slo-apiserver-read-cluster-latency.yaml": [],
    "pyrra/kubernetes/slo-apiserver-read-namespace-latency.yaml": [],
    "pyrra/kubernetes/slo-apiserver-read-resource-latency.yaml": [],
    "pyrra/kubernetes/slo-apiserver-read-response-errors.yaml": [],
    "pyrra/kubernetes/slo-apiserver-write-response-errors.yaml": [],
    "pyrra/kubernetes/slo-coredns-response-errors.yaml": [],
    "pyrra/kubernetes/slo-kubelet-request-errors.yaml": [],
    "pyrra/kubernetes/slo-kubelet-runtime-errors.yaml": [],
    "pyrra/kubernetes/slo-prometheus-notification-errors.yaml": [],
    "pyrra/kubernetes/slo-prometheus-operator-http-errors.yaml": [],
    "pyrra/kubernetes/slo-prometheus-operator-reconcile-errors.yaml": [],
    "pyrra/kubernetes/slo-prometheus-query-errors.yaml": [],
    "pyrra/kubernetes/slo-prometheus-rule-evaluation-failures.yaml": [],
    "pyrra/kubernetes/slo-prometheus-sd-kubernetes-errors.yaml": [],
    "pyrra/mimir-example-slo.yaml": [],
    "pyrra/nginx.yaml": [],
    "pyrra/parca-grpc-queryrange-errors.yaml": [],
    "pyrra/prometheus-http.yaml": [],
    "pyrra/prometheus-operator.yaml": [],
    "pyrra/prometheus-probe-success.yaml": [],
    "pyrra/pyrra-connect-errors.yaml": [],
    "pyrra/pyrra-connect-latency.yaml": [],
    "pyrra/pyrra-filesystem-errors.yaml": [],
    "pyrra/pyrra-kubernetes-errors.yaml": [],
    "pyrra/thanos-grpc.yaml": [],
    "pyrra/thanos-http.yaml": [],
}

# What slokit says about each input it refuses, and where (file line: field path).
REFUSED = {
    "sloth/plugin-getting-started.yml": ["13: slos[0].sli.plugin: Sloth SLI plugins are not supported"],
    "sloth/plugin-k8s-getting-started.yml": [
        "27: spec.slos[0].sli.plugin: Sloth SLI plugins are not supported",
        "39: warning: spec.slos[0].alerting.page_alert: unknown field (did you mean 'pageAlert'?); ignored",
    ],
    "sloth/victoria-metrics.yml": [  # MetricsQL, not PromQL
        "27: slos[0].sli.events.error_query: invalid PromQL: unknown function with name 'histogram_share'",
    ],
    "sloth/testdata/bad/bad-aa.yaml": ["28: slos[1].objective: must be between 0 and 100"],
    "sloth/testdata/bad/bad-ab.yaml": ["28: slos[1].objective: must be between 0 and 100"],
    "sloth/testdata/bad/bad-ba.yaml": ["28: slos[1].objective: must be between 0 and 100"],
    "sloth/testdata/bad/bad-k8s.yaml": ["7: spec.service: '' must be letters"],
    "sloth/testdata/bad/bad-multi-k8s.yaml": ["22: spec.slos[0].alerting.name: must not be empty"],
    "sloth/testdata/bad/bad-multi.yaml": ["77: slos[1].sli: needs exactly one of events or raw"],
    "sloth/golden/in-invalid-version.yaml": ["1: version: unsupported 'prometheus/v999'"],
    "openslo/oslo-invalid-apiversion.yaml": ["1: apiVersion: unsupported 'foo'"],
    "openslo/occurences-slo.yaml": ["15: spec.indicator.spec.thresholdMetric: threshold metrics are not supported yet"],
    # OpenSLO's Timeslices examples: the slices read, but the metric source is "Any" and the window a calendar.
    "openslo/ratio-timeslices.yaml": [
        "18: spec.indicator.spec.ratioMetric.good.metricSource.type: metric source 'Any' is not supported",
    ],
    "openslo/timeslices-slo.yaml": [
        "18: spec.indicator.spec.ratioMetric.good.metricSource.type: metric source 'Any' is not supported",
        "27: spec.timeWindow[0].duration: '1m': a calendar window is months (1M, 1Q, 1y) or weeks or days",
    ],
    "openslo/low-traffic-timeslices-slo.yaml": [
        "16: spec.indicator.spec.ratioMetric.good.metricSource.type: metric source 'Any' is not supported",
        "29: warning: spec.timeWindow[0].calendar.timeZone: America/New_York observes daylight saving time"],
    # OpenSLO v2alpha's example SLO: its DataSource is in no file, its window a calendar (test_openslo_v2alpha.py).
    "openslo/v2alpha/slos.yaml": [
        "18: [0].spec.sli.spec.ratioMetric.good.dataSourceRef: no DataSource named 'my-prometheus' in the files read",
        "30: warning: [0].spec.timeWindow[0].calendar.timeZone: America/New_York observes daylight saving time"],
}

# Read without error but with no SLO in them (an OpenSLO Service), and the warnings they get.
NO_SLOS = {
    # OpenSLO v2alpha's other example objects: read and checked, none of them an SLO.
    **{f"openslo/v2alpha/{name}.yaml": [] for name in ("alert_conditions", "alert_notification_targets",
                                                       "alert_policies", "data_sources", "services", "slis")},
    "openslo/oslo-unknown-field.yaml": [
        "4: warning: metadata.name: 'my-rad service' is not a DNS label",  # oslo's valid examples do it too
        "6: warning: spec.markdown: unknown field (allowed: description); ignored",
    ],
}
NOT_SPECS = ("sloth/windows/", "sloth/golden/windows/")  # Sloth AlertWindows (test_sloth_windows.py)


def _specs() -> list[str]:
    names = (str(p.relative_to(COMPAT)) for p in COMPAT.rglob("*.y*ml"))
    return sorted(n for n in names if not n.startswith(NOT_SPECS))


def test_every_compat_file_is_covered():
    assert sorted([*ACCEPTED, *REFUSED, *NO_SLOS]) == _specs()


def _messages(path: Path, problems: list[str] | tuple[str, ...]) -> list[str]:
    return [m.removeprefix(f"{path}:") for m in problems]


def _expect(expected: list[str], messages: list[str]) -> None:
    for text in expected:
        assert any(m.startswith(text) for m in messages), (text, messages)


def promtool_check(files: dict[str, str], tmp_path: Path) -> int:
    """Write the generated files, run `promtool check rules` on the rules; the number of rules found."""
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    rule_files = sorted(str(p) for p in (tmp_path / "rules").glob("*.yml"))
    result = subprocess.run([require("promtool"), "check", "rules", *rule_files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return sum(int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", result.stdout))


def rule_count(files: dict[str, str]) -> int:
    """How many rules the generated rule files hold (promtool must find every one)."""
    docs = [yaml.safe_load(text) for rel, text in files.items() if re.fullmatch(r"rules/[^/]+\.yml", rel)]
    return sum(len(g["rules"]) for d in docs for g in d["groups"])


def tiers(text: str) -> set[str]:
    """The severities of the burn-rate alerts in a rules file."""
    return {r["labels"]["slo_severity"] for g in yaml.safe_load(text)["groups"] for r in g["rules"]
            if "alert" in r and _TERM.search(r["expr"])}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_specs_generate_rules_promtool_checks(name, tmp_path):
    path = COMPAT / name
    spec = load([str(path)])
    assert spec.slos
    messages = _messages(path, spec.warnings)
    _expect(ACCEPTED[name], messages)
    assert len(messages) == len(ACCEPTED[name]), messages
    files, _ = rule_files(spec)
    assert promtool_check(files, tmp_path) == rule_count(files)
    enabled = {sev for s in spec.slos if s.alerting for sev, t in (("page", s.alerting.page),
                                                                    ("ticket", s.alerting.ticket)) if t.enabled}
    assert set().union(*(tiers(t) for r, t in files.items() if re.fullmatch(r"rules/[^/]+\.yml", r))) == enabled


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_specs_are_refused_with_file_line_and_field(name):
    path = COMPAT / name
    with pytest.raises(SpecError) as exc:
        load([str(path)])
    _expect(REFUSED[name], _messages(path, [str(p) for p in exc.value.problems]))


@pytest.mark.parametrize("name", sorted(NO_SLOS))
def test_files_without_slos_are_read_with_their_warnings(name):
    path = COMPAT / name
    spec = load([str(path)])
    assert spec.slos == ()
    _expect(NO_SLOS[name], _messages(path, spec.warnings))


def test_duplicates_are_found_across_formats():
    """Sloth's "good" inputs repeat svc01/slo1 in prometheus/v1, CRD and OpenSLO files (Sloth validates them
    with --ignore-slo-duplicates): each repeat is named with the first definition's file:line."""
    with pytest.raises(SpecError) as exc:
        load([str(COMPAT / "sloth" / "testdata" / "good")])
    duplicates = [str(p) for p in exc.value.problems if "duplicate SLO 'slo1' of service 'svc01'" in p.message]
    first = f"first defined at {COMPAT}/sloth/testdata/good/good-aa.yaml:6"
    assert duplicates and all(first in d for d in duplicates), duplicates
    assert any("good-k8s.yaml:" in d for d in duplicates) and any("good-openslo.yaml:" in d for d in duplicates)


# --- alerts as Sloth writes them (Sloth's own expected outputs, test/integration/prometheus/testdata) ---

# One window's term: `max(slo:sli_error:ratio_rate5m{...} > (14.4 * budget))`, or where slokit's alerts divide
# the window's recorded rates, `max((slo:sli_bad:rate1h{...} / slo:sli_total:rate1h{...}) > (...))`, or past
# the raw limit `max(((slo:sli_bad:rate1h{...} * 3600 + slo:sli_bad_older:events6h{...}) / (...)) > (...))`.
_TERM = re.compile(r"max\(\(*(?:slo:sli_bad:rate\w+\{[^}]*\} \* \d+ \+ )?"
                   r"slo:sli_(?:error:ratio_rate|bad:rate|bad_older:events)(\w+)\{([^}]*)\}(?:\)? / [^>]*)? > "
                   r"\(([0-9.e+-]+) \*")


def sloth_golden(name: str) -> str:
    """One of Sloth's expected outputs, its Go template filled in as Sloth's test does."""
    text = (SLOTH_GOLDEN / name).read_text()
    return re.sub(r'\{\{"(.*?)"\}\}', r"\1", text).replace("{{ .version }}", "dev")


def alert_conditions(text: str) -> dict[tuple[str, str, str], list[tuple[int, int, float]]]:
    """{(service, slo, severity): sorted [(short s, long s, factor)]} from a rules file, Sloth's or slokit's."""
    out: dict[tuple[str, str, str], list[tuple[int, int, float]]] = {}
    for doc in yaml.safe_load_all(text):
        groups = doc["spec"]["groups"] if "spec" in doc else doc["groups"]
        for rule in (r for g in groups for r in g["rules"] if "alert" in r):
            labels = rule["labels"]
            terms = _TERM.findall(rule["expr"])
            if not terms:
                continue  # not a burn-rate alert
            ident = dict(re.findall(r'(\w+)="([^"]*)"', terms[0][1]))
            key = (ident.get("slo_service") or ident["sloth_service"], ident.get("slo_name") or ident["sloth_slo"],
                   labels.get("slo_severity") or labels["sloth_severity"])
            pairs = [(promql.parse_seconds(terms[i][0]), promql.parse_seconds(terms[i + 1][0]), float(terms[i][2]))
                     for i in range(0, len(terms), 2)]
            out[key] = sorted((int(s), int(long), round(f, 6)) for s, long, f in pairs)
    return out


@pytest.mark.parametrize("spec_file,golden", [
    ("in-base.yaml", "out-base.yaml.tpl"),
    ("in-base-k8s.yaml", "out-base-k8s.yaml.tpl"),
    ("in-multifile.yaml", "out-multifile.yaml.tpl"),
    ("in-multifile-k8s.yaml", "out-multifile-k8s.yaml.tpl"),
])  # out-openslo.yaml.tpl has no alerts: Sloth writes none for openslo/v1alpha, slokit does (the same table)
def test_alerts_use_the_windows_and_factors_sloth_writes(spec_file, golden):
    spec = load([str(SLOTH_GOLDEN / spec_file)])
    files, _ = rule_files(spec)
    ours: dict[tuple[str, str, str], list[tuple[int, int, float]]] = {}
    for rel, text in files.items():
        if rel.startswith("rules/") and not rel.startswith("rules/tests/"):
            ours.update(alert_conditions(text))
    theirs = alert_conditions(sloth_golden(golden))
    assert theirs and ours == theirs
