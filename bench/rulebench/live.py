"""The live run: a local exporter continuing the synthetic counters, rule-group durations read from
Prometheus' own metrics over several cycles, and the checks that the rules read real data."""

from __future__ import annotations

import math
import re
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rulebench import traffic
from rulebench.plan import Plan
from rulebench.prom import Prometheus
from rulebench.rules import Rule

GROUP_METRICS = {
    "duration": "prometheus_rule_group_last_duration_seconds",
    "interval": "prometheus_rule_group_interval_seconds",
    "evaluated": "prometheus_rule_group_last_evaluation_timestamp_seconds",
    "missed": "prometheus_rule_group_iterations_missed_total",
    "iterations": "prometheus_rule_group_iterations_total",
    "failures": "prometheus_rule_evaluation_failures_total",
    "samples": "prometheus_rule_group_last_evaluation_samples",
}
_SERVICE = re.compile(r'"(svc\d{5})"')  # a service name as a label value in an expression


def services_in(expr: str) -> set[str]:
    """The benchmark's services an expression selects."""
    return set(_SERVICE.findall(expr))


@contextmanager
def exporter(svcs: list[traffic.Service], origin: int) -> Iterator[str]:
    """Serve the services' counters at scrape time on a free 127.0.0.1 port; yields host:port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = traffic.exposition(svcs, time.time(), origin).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def snapshot(server: Prometheus) -> dict[str, Any]:
    """Per rule group (Prometheus' "file;group" label) the group metrics, plus the process-wide ones."""
    metrics = server.metrics()
    groups: dict[str, dict[str, float]] = {}
    for field, name in GROUP_METRICS.items():
        for labels, value in metrics.get(name, []):
            if "rule_group" in labels:
                groups.setdefault(labels["rule_group"], {})[field] = value
    summary = {labels.get("quantile", name): value for name in
               ("prometheus_rule_evaluation_duration_seconds", "prometheus_rule_evaluation_duration_seconds_sum",
                "prometheus_rule_evaluation_duration_seconds_count") for labels, value in metrics.get(name, [])}
    cpu = sum(v for _, v in metrics.get("process_cpu_seconds_total", []))
    return {"at": time.time(), "groups": groups, "evaluation": summary, "cpu": cpu}


def set_of(path: str, sets: dict[str, str]) -> str | None:
    """The rule set whose path prefix `path` (a rule file, or Prometheus' "file;group") starts with."""
    return next((name for name, prefix in sets.items() if path.startswith(prefix)), None)


def kind(name: str) -> str:
    """A group or rule name with the benchmark's SLO in it made `*`: one kind over all SLOs."""
    return re.sub(r"[sS]vc\d{5}", "*", name)


def measure(server: Prometheus, sets: dict[str, str], cycles: int, warm_after: float,
            progress: Callable[[str], None], slowest: int = 2) -> dict[str, Any]:
    """Wait until every group evaluated after `warm_after`, then read the group metrics once per shortest
    interval, `cycles` times and at least over `slowest` intervals of the slowest group. `sets` maps a rule
    set to the path prefix of its files."""
    def group_set(group: str) -> str | None:
        return set_of(group, sets)

    first = snapshot(server)
    intervals = [g["interval"] for k, g in first["groups"].items() if group_set(k) and "interval" in g]
    if not intervals:
        raise RuntimeError("Prometheus loaded none of the rule files")
    deadline = time.monotonic() + 3 * max(intervals) + 300
    while True:
        snap = snapshot(server)
        late = [k for k, g in snap["groups"].items() if group_set(k) and g.get("evaluated", 0) < warm_after]
        if not late:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(late)} rule groups never evaluated, e.g. {late[0]}")
        time.sleep(1)
    rounds = max(cycles, math.ceil(slowest * max(intervals) / min(intervals)) + 1 if slowest else 1)
    progress(f"every rule group evaluated; measuring {rounds} cycles of {min(intervals):g} s")
    snaps = [snap]
    for _ in range(rounds - 1):
        time.sleep(min(intervals))
        snaps.append(snapshot(server))
    return summarize(snaps, group_set)


def summarize(snaps: list[dict[str, Any]], group_set: Callable[[str], str | None]) -> dict[str, Any]:
    per_set: dict[str, dict[str, Any]] = {}
    for name in sorted({s for k in snaps[0]["groups"] if (s := group_set(k))}):
        keys = [k for k in snaps[0]["groups"] if group_set(k) == name]
        cycle = [sum(s["groups"][k]["duration"] for k in keys) for s in snaps]
        per_minute = [sum(s["groups"][k]["duration"] * 60 / s["groups"][k]["interval"] for k in keys) for s in snaps]
        kinds: dict[str, list[str]] = {}
        for k in keys:
            kinds.setdefault(kind(k.split(";", 1)[1]), []).append(k)
        per_set[name] = {
            "groups": len(keys),
            "cycle_seconds": statistics.median(cycle),
            "seconds_per_minute": statistics.median(per_minute),
            "cycle_rounds": cycle,
            "per_minute_rounds": per_minute,
            "missed": sum(snaps[-1]["groups"][k].get("missed", 0) - snaps[0]["groups"][k].get("missed", 0)
                          for k in keys),
            "failures": sum(snaps[-1]["groups"][k].get("failures", 0) for k in keys),
            "output_samples": sum(snaps[-1]["groups"][k].get("samples", 0) for k in keys),
            "kinds": {kind: {"groups": len(ks), "interval": snaps[-1]["groups"][ks[0]]["interval"],
                             "seconds_per_minute": statistics.median(
                                 sum(s["groups"][k]["duration"] * 60 / s["groups"][k]["interval"] for k in ks)
                                 for s in snaps)}
                      for kind, ks in sorted(kinds.items())},
        }
    elapsed = snaps[-1]["at"] - snaps[0]["at"]
    evaluation = {"rounds": len(snaps), "elapsed": elapsed}
    if elapsed > 0:
        total = snaps[-1]["evaluation"], snaps[0]["evaluation"]
        evaluation["rule_seconds_per_minute"] = (
            total[0].get("prometheus_rule_evaluation_duration_seconds_sum", 0)
            - total[1].get("prometheus_rule_evaluation_duration_seconds_sum", 0)) * 60 / elapsed
        evaluation["cpu_seconds_per_minute"] = (snaps[-1]["cpu"] - snaps[0]["cpu"]) * 60 / elapsed
        evaluation["median_rule_seconds"] = total[0].get("0.5", math.nan)
    return {"sets": per_set, "evaluation": evaluation}


def rule_times(server: Prometheus, sets: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Per rule set and rule (its group kind and place in the group, `*` for the SLO): each rule's last
    evaluation time (`/api/v1/rules`), over the SLOs. A rule's median is its own cost; where the mean is far
    above it, some evaluations waited (for a core, a lock, the garbage collector)."""
    times: dict[tuple[str, str, int], tuple[str, float, list[float]]] = {}
    for group in server.get("/api/v1/rules")["groups"]:
        name = set_of(group["file"], sets)
        if name is None:
            continue
        for i, rule in enumerate(group["rules"]):
            entry = times.setdefault((name, kind(group["name"]), i), (kind(rule["name"]), group["interval"], []))
            entry[2].append(rule.get("evaluationTime", 0.0))
    out: dict[str, list[dict[str, Any]]] = {}
    for (name, group_kind, i), (what, interval, seconds) in sorted(times.items()):
        out.setdefault(name, []).append({
            "group": group_kind, "index": i, "rule": what, "interval": interval, "rules": len(seconds),
            "median_ms": statistics.median(seconds) * 1000, "mean_ms": statistics.mean(seconds) * 1000,
            "seconds_per_minute": sum(seconds) * 60 / interval})
    return out


SPARSE_LOOKBACK = "2h"  # a series written once per tile (slokit's tiles: up to 1h apart) still has output


def outputs(server: Prometheus, rules: list[Rule], set_labels: dict[str, str]) -> dict[str, Any]:
    """Per rule set: recording rules whose series are missing now (expected one series per rule)."""
    out: dict[str, Any] = {}
    for name, label in set_labels.items():
        expected: dict[str, int] = {}
        for rule in rules:
            if rule.set == name and not rule.alert:
                expected[rule.name] = expected.get(rule.name, 0) + 1
        pattern = "|".join(re.escape(n) for n in sorted(expected))
        found = {r["metric"]["__name__"]: int(float(r["value"][1]))
                 for r in server.query(f'count by (__name__) ({{__name__=~"{pattern}",{label}!=""}})')}
        for sparse in sorted(n for n, c in expected.items() if found.get(n, 0) < c):  # one sample per tile
            answer = server.query(f'count(last_over_time({sparse}{{{label}!=""}}[{SPARSE_LOOKBACK}]))')
            found[sparse] = int(float(answer[0]["value"][1])) if answer else 0
        out[name] = {"expected": expected, "found": found,
                     "missing": {n: c - found.get(n, 0) for n, c in expected.items() if found.get(n, 0) < c}}
    return out


def coverage(server: Prometheus, rules: list[Rule], plan: Plan, services: list[str], at: float,
             min_range: float = 3600) -> dict[str, Any]:
    """For the rules of `services` (and the rules of every SLO at once): every range read of at least
    `min_range` seconds evaluated at `at` (the end of the history), the share of the samples it should find
    that it finds (raw series: one per scrape step; recorded: one per interval of the rule writing them, or
    per tile)."""
    index = {r.ident: r for r in rules}
    out: dict[str, Any] = {}
    for rule in rules:
        named = services_in(rule.expr)
        if named and not named & set(services):  # a rule naming no service reads every SLO's series
            continue
        for read, writers in plan.producers[rule.ident]:
            width = read.hi - read.lo
            if not read.ranged or width < min_range:
                continue
            step = index[writers[0].ident].spacing if writers else traffic.STEP
            offset = f" offset {-read.hi:.0f}s" if read.hi < 0 else ""
            result = server.query(f"count_over_time({read.promql()}[{width:.0f}s]{offset})", at)
            counts = [float(r["value"][1]) for r in result]
            expected = width / step
            share = min(counts) / expected if counts else 0.0
            entry = out.setdefault(rule.set, {"reads": 0, "min_share": math.inf, "worst": "", "max_share": 0.0,
                                              "densest": ""})
            entry["reads"] += 1
            if counts and max(counts) / expected > entry["max_share"]:  # more samples than it writes
                entry["max_share"] = max(counts) / expected
                entry["densest"] = f"{rule.name} reads {read.promql()}[{width:.0f}s]"
            if share < entry["min_share"]:
                entry["min_share"], entry["worst"] = share, f"{rule.name} reads {read.promql()}[{width:.0f}s]"
    return out


def budgets(server: Prometheus, svcs: list[traffic.Service], origin: int, period: float, budget: float,
            series: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The recorded period error ratio of each SLO against the exact failed/all requests over the period,
    as the error in budget-remaining (1.0 = a whole error budget)."""
    by_name = {svc.name: svc for svc in svcs}
    now = time.time()
    exact = {name: svc.exact_ratio(now - period, now, origin) for name, svc in by_name.items()}
    out: dict[str, Any] = {}
    for set_name, (selector, label) in series.items():
        errors = {}
        for r in server.query(selector):
            name = r["metric"].get(label, "")
            if name in exact:
                errors[name] = (float(r["value"][1]) - exact[name]) / budget
        if not errors:
            out[set_name] = {"slos": 0}
            continue
        worst = max(errors, key=lambda n: abs(errors[n]))
        out[set_name] = {"slos": len(errors), "max_error": abs(errors[worst]),
                         "median_error": statistics.median(abs(e) for e in errors.values()),
                         "worst": worst, "worst_exact_remaining": 1 - exact[worst] / budget,
                         "worst_recorded_remaining": 1 - exact[worst] / budget - errors[worst]}
    return out


def alerts(server: Prometheus, roots: list[Rule], window: tuple[int, int],
           severity_labels: tuple[str, ...]) -> dict[str, Any]:
    """When each compared alert first fires over `window` (its expression evaluated at its group's interval,
    `for` applied as Prometheus does), per rule set, service and severity."""
    first: dict[str, dict[str, dict[str, float]]] = {}
    early: list[str] = []
    for rule in roots:
        labels = rule.label_map
        severity = next((labels[k] for k in severity_labels if k in labels), "")
        service = _SERVICE.search(rule.expr)
        if not severity or service is None:
            continue
        start = math.floor(window[0] / rule.interval) * rule.interval
        for series in server.query_range(rule.expr, start, window[1], rule.interval):
            fired = _fires(sorted(float(t) for t, _ in series["values"]), rule.interval, rule.hold)
            if fired is None:
                continue
            if fired <= start + rule.hold:
                early.append(f"{rule.set} {rule.name} ({severity}) {service.group(1)}")
                continue
            slot = first.setdefault(rule.set, {}).setdefault(service.group(1), {})
            slot[severity] = min(slot.get(severity, math.inf), fired)
    return {"first": first, "firing_before_fault": early}


def _fires(times: list[float], step: float, hold: float) -> float | None:
    """The first evaluation at which an alert true at `times` (one per step while true) has been true
    for `hold` seconds."""
    run_start = None
    previous = None
    for t in times:
        if previous is None or t - previous > step * 1.5:
            run_start = t
        previous = t
        assert run_start is not None
        if t - run_start >= hold:
            return t
    return None
