"""Mutated specs of every supported format: `validate` and `generate` end in 2 s with exit 0 or 2, never a
traceback, agree with each other (generate writes nothing when validate refuses), and whatever they
accept passes `promtool check rules` and `amtool check-config`. (`promtool test rules` takes 10-30 s per
file: tests/test_promtool.py runs it on the examples.)

The suite runs a bounded, derandomised pass (a few hundred examples, seconds). A longer, random run:

    SLOKIT_FUZZ_EXAMPLES=5000 python3 -m pytest -q -p no:cacheprovider tests/test_fuzz_specs.py

Mutations: values replaced by hostile ones (types, huge and non-finite numbers, unicode digits, long
strings, newlines, Grafana variables, backtracking regexes), keys renamed, deleted and duplicated,
collections re-typed, deep nesting, shared and recursive aliases, an alias bomb. Receivers are not
mutated inside: slokit passes them to Alertmanager as written (docs/security.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slokit.cli import main
from tests.conftest import COMPAT, EXAMPLES, require

EXAMPLES_RUN = int(os.environ.get("SLOKIT_FUZZ_EXAMPLES", "300"))
LIMIT = 2.0  # seconds per command

RICH = """\
version: slokit/v1
service: shop
labels: {team: payments}
period: 7d
silence_group: shop
alertmanager:
  page: {receiver: pager, repeat_interval: 1h}
  ticket: {receiver: tickets}
  group_by: [alertname, slo_service]
  group_wait: 30s
  receivers:
    - name: pager
      webhook_configs: [{url: "http://127.0.0.1:9/page"}]
    - name: tickets
      webhook_configs: [{url: "http://127.0.0.1:9/ticket"}]
  symptoms:
    - matchers: ['alertname=~"ShopHigh5xx|ShopDown"', 'service="shop"']
      equal: [team]
  maintenance:
    - name: weekly
      weekdays: ["monday:friday"]
      days_of_month: ["1:7", "-7:-1"]
      months: [january, "3:4"]
      years: ["2025:2030"]
      times: [{start_time: "06:00", end_time: "07:30"}]
      location: UTC
gate:
  budget: {min_remaining: 25%}
  burn: {max: 2, windows: [5m, 1h]}
  stop: {error_ratio: 0.5%, for: 2m}
slos:
  - name: availability
    objective: 99.9
    description: checkout requests succeed
    sli: {http: {route: /pay, method: post}}
    gate:
      canary: {label: version, canary: canary, baseline: stable, window: 10m, min_requests: 100, confidence: 0.95,
               tolerance: 0.1%}
    alerting:
      name: ShopAvailability
      labels: {tier: one}
      annotations: {runbook_url: "https://runbooks.example.com/shop", summary: "{{ $labels.slo_name }} burns"}
      page: {for: 2m, labels: {channel: pager}, annotations: {hint: fast}}
      ticket: {enabled: true, for: 10m}
    policy:
      rules:
        - name: shed
          when: {severity: page}
          recover: {burn_below: 1, hold: 5m}
          open_breakers: [payments]
          disable_switches: [recommendations]
      breakers:
        payments: {failure_rate: 50, slow_call_rate: 80, slow_call: 2s, window: count, window_size: 100,
                   min_calls: 10, open_for: 30s, half_open_probes: 5}
      switches: {recommendations: {default: on}}
  - name: latency
    objective: 99
    sli: {http: {route: /search, latency: 300ms}}
  - name: histogram
    objective: 95.5
    period: 28d
    sli: {latency: {histogram: search_duration_seconds, threshold: 0.5, matchers: {job: search}}}
  - name: events
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(jobs_total{result="error"}[{{.window}}]))
        total_query: sum(rate(jobs_total[{{.window}}]))
    alerting: {page: {enabled: false}}
  - name: raw
    objective: 99.95
    sli: {raw: {error_ratio_query: 'max(rate(e[{{.window}}]) / rate(t[{{.window}}]))'}}
"""

OPENSLO = """\
apiVersion: openslo/v1
kind: SLI
metadata: {name: good-requests}
spec:
  ratioMetric:
    counter: true
    good: {metricSource: {type: Prometheus, spec: {query: 'sum(http_requests_total{code!~"5.."})'}}}
    total: {metricSource: {type: Prometheus, spec: {query: sum(http_requests_total)}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: availability, labels: {team: [web]}}
spec:
  service: web
  indicatorRef: good-requests
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  objectives: [{displayName: good, target: 0.995}]
---
- apiVersion: openslo/v1
  kind: SLO
  metadata: {name: latency}
  spec:
    service: web
    budgetingMethod: Occurrences
    timeWindow: [{duration: 4w, isRolling: true}]
    objectives: [{targetPercent: 99}]
    indicator:
      metadata: {name: fast}
      spec:
        ratioMetric:
          bad: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(slow_total[{{.window}}]))'}}}
          total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(all_total[{{.window}}]))'}}}
"""

SEEDS = {
    "slokit/v1": RICH,
    "slokit/v1 example": (EXAMPLES / "search-28d.yml").read_text(),
    "prometheus/v1": (COMPAT / "sloth" / "home-wifi.yml").read_text(),
    "sloth.slok.dev/v1": (COMPAT / "sloth" / "k8s-home-wifi.yml").read_text(),
    "openslo/v1": OPENSLO,
    "openslo/v1alpha": (COMPAT / "sloth" / "openslo-getting-started.yml").read_text(),
    "pyrra.dev/v1alpha1": (COMPAT / "pyrra" / "prometheus-http.yaml").read_text(),
    "pyrra.dev/v1alpha1 latency": (COMPAT / "pyrra" / "caddy-response-latency.yaml").read_text(),
    "slokit/policy/v1": (EXAMPLES / "policy.yml").read_text(),
}
# A policy file is read beside the specs whose SLOs it names: the mutated file gets them, unmutated.
COMPANIONS = {"slokit/policy/v1": (EXAMPLES / "checkout.yml").read_text()}

HOSTILE_TEXT = [
    "", " ", "5m", "1m", "0d", "0", "-1", "1s", "٥m", "٣", "²", "12", "1e400", "nan", ".inf", "99.99999999999",
    "{{.window}}", "{{", "}}", "$__rate_interval", "$service", "${x}", "[[x]]", "a\n", "\n", "x\ny", "../../x",
    '"', "\\", "'", "`", "(a|aa)*c", "(?=a)", "\x00", "\u2028", "\ufeff", "ä", "a" * 300, "a" * 5000, "-7:5",
    "monday:sunday", "24:00", "25:00", "=", "<<", "true", "null", "~", "~x", "a=~\"[\"", 'alertname="X"',
    "rate(x[{{.window}}])", "x > 5m", "sum(rate(x[{{.window}}])) or vector(0)", "100%", "50%", "-0.0",
]
SCALARS = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([0, 1, -1, 60, 10**20, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
)
KEYS = st.one_of(st.sampled_from(["12", "name", "slos", "<<", "", "a\n", "version", "__name__"]), st.integers(),
                 st.text(max_size=10))
BOMB = "[" + ", ".join([f"&b0 [{', '.join(['x'] * 10)}]"] + [
    f"&b{i} [{', '.join([f'*b{i - 1}'] * 10)}]" for i in range(1, 9)]) + "]"


def _paths(value: Any, path: tuple[Any, ...] = (), seen: frozenset[int] = frozenset()) -> list[tuple[Any, ...]]:
    """Every place in a document, except inside receivers (passed to Alertmanager as written) and
    through a recursive alias a mutation made."""
    out = [path]
    if path[-1:] == ("receivers",) or id(value) in seen:
        return out
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        out += _paths(v, path + (k,), seen | {id(value)})
    return out


def _get(root: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        root = root[part]
    return root


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """(seed name, mutated text)."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    docs = [d for d in yaml.safe_load_all(SEEDS[name]) if d is not None]
    texts: dict[str, str] = {}
    for _ in range(draw(st.integers(1, 3))):
        d = draw(st.integers(0, len(docs) - 1))
        paths = _paths(docs[d])
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "rename", "retype", "deep", "share",
                                     "recursive", "bomb"]))
        if not path:
            if kind in ("replace", "retype"):
                docs[d] = draw(SCALARS)
            continue
        parent, key = _get(docs[d], path[:-1]), path[-1]
        if kind == "replace":
            parent[key] = draw(SCALARS)
        elif kind == "delete":
            del parent[key]
        elif kind == "rename" and isinstance(parent, dict):
            parent[draw(KEYS)] = parent.pop(key)
        elif kind == "retype":
            value = parent[key]
            parent[key] = list(value.values()) if isinstance(value, dict) else (
                dict(enumerate(value)) if isinstance(value, list) else {"value": value})
        elif kind in ("deep", "bomb"):
            marker = f"MARKER{len(texts)}"
            depth = draw(st.sampled_from([50, 101, 600, 5000]))
            texts[marker] = BOMB if kind == "bomb" else "[" * depth + "]" * depth
            parent[key] = marker
        elif kind == "share":
            parent[key] = _get(docs[d], draw(st.sampled_from(paths)))  # the dump writes an anchor and an alias
        elif kind == "recursive" and isinstance(parent[key], (dict, list)):
            container = parent[key]
            if isinstance(container, dict):
                container["self"] = container
            else:
                container.append(container)
    text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=1000)
    for marker, replacement in texts.items():
        text = text.replace(marker, replacement)
    if draw(st.booleans()) and "\n" in text.strip():  # a duplicated line: a duplicated key, mostly
        lines = text.splitlines(keepends=True)
        i = draw(st.integers(0, len(lines) - 1))
        text = "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    return name, text


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang(f"no answer within {5 * LIMIT:g} s")


def _run(*args: str) -> tuple[int, str, float]:
    """A command in-process, as the CLI runs it; a hang is cut at 5x the limit (so the suite cannot hang)."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 5 * LIMIT)
    started = time.monotonic()
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    elapsed = time.monotonic() - started
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += f"\nTraceback: {type(result.exception).__name__}: {result.exception}"
    return result.exit_code, output, elapsed


def _case(folder: Path, name: str, text: str) -> Path:
    """A folder holding the spec (and the specs a policy file needs), as a user would pass it."""
    folder.mkdir()
    (folder / "spec.yml").write_text(text, encoding="utf-8")
    if name in COMPANIONS:
        (folder / "slos.yml").write_text(COMPANIONS[name], encoding="utf-8")
    return folder


def test_every_seed_is_valid_before_it_is_mutated(tmp_path):
    for i, (name, text) in enumerate(SEEDS.items()):
        code, output, _ = _run("validate", str(_case(tmp_path / str(i), name, text)))
        assert code == 0, f"{name}: {output}"
        assert name not in COMPANIONS or "1 policy file(s) valid" in output, output


def test_mutated_specs_never_crash_hang_or_disagree_and_what_is_accepted_passes_promtool_and_amtool(tmp_path):
    accepted: list[Path] = []
    specs: dict[Path, str] = {}

    @settings(max_examples=EXAMPLES_RUN, deadline=None, database=None,
              derandomize="SLOKIT_FUZZ_EXAMPLES" not in os.environ,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mutated())
    def check(drawn: tuple[str, str]) -> None:
        name, text = drawn
        case = _case(tmp_path / f"case{len(specs)}", name, text)
        spec, out = case, tmp_path / f"out{len(specs)}"
        specs[out] = text
        valid, said, took = _run("validate", str(spec))
        assert "Traceback" not in said and valid in (0, 2), f"validate exit {valid}:\n{said}\n--- spec:\n{text}"
        assert took < LIMIT, f"validate took {took:.1f} s:\n--- spec:\n{text}"
        generated, said, took = _run("generate", str(spec), "--out", str(out))
        assert "Traceback" not in said and generated == valid, \
            f"validate exit {valid}, generate exit {generated}:\n{said}\n--- spec:\n{text}"
        assert took < LIMIT, f"generate took {took:.1f} s:\n--- spec:\n{text}"
        if generated:
            assert not out.exists(), f"generate refused the spec but wrote {sorted(out.rglob('*'))}"
        else:
            accepted.append(out)

    check()
    assert accepted, "no mutated spec was accepted: the fuzzer checks no output"
    _check_outputs(accepted, specs)


def _check_outputs(outs: list[Path], specs: dict[Path, str]) -> None:
    """The outputs of every accepted spec through the real tools, a few calls for all of them."""
    rules = [p for out in outs for p in sorted((out / "rules").glob("*.yml"))]
    configs = [p for out in outs for p in [out / "alertmanager" / "alertmanager.yml"] if p.exists()]
    promtool, amtool = require("promtool"), require("amtool")
    for command, files in (([promtool, "check", "rules"], rules), ([amtool, "check-config"], configs)):
        for start in range(0, len(files), 200):  # keep the command line short
            batch = files[start:start + 200]
            done = subprocess.run(command + [str(f) for f in batch], capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                report = done.stdout + done.stderr
                bad = [f for f in batch if _named_as_failing(report, f)] or batch
                case = next(c for c in specs if c in bad[0].parents)  # the case's output folder
                raise AssertionError(f"{' '.join(command[1:])} refused {bad[0]}:\n{_excerpt(report, bad[0])}\n"
                                     f"--- spec:\n{specs[case]}")


def _named_as_failing(report: str, path: Path) -> bool:
    """Whether the tool's report says this file failed (each tool prints the file, then its verdict)."""
    text = str(path)
    at = report.find(text)
    while at != -1:
        following = report[at + len(text): at + len(text) + 400]
        verdict = following.split("Checking ")[0].split("Unit Testing:")[0]
        if "FAILED" in verdict or "error" in verdict.lower():
            return True
        at = report.find(text, at + 1)
    return False


def _excerpt(report: str, path: Path) -> str:
    at = report.find(str(path))
    return report[max(0, at - 200): at + 1500] if at != -1 else report[:1500]
