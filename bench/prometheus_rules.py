"""Benchmark: what slokit's generated rules cost a real Prometheus, side by side with Sloth's rule shape.

Run:
    python bench/prometheus_rules.py                                # 50 and 500 SLOs, one Prometheus run each
    python bench/prometheus_rules.py --write docs/benchmarks.md     # also replaces that section of the docs
    python bench/prometheus_rules.py --quick --json out.json        # 4 SLOs in under a minute (tests/ runs it)

For N events SLOs (one service each, http-style `_count` counters: two instances x good/bad codes, day/night
traffic, night-time errors for half of them, a two-hour fault at the peak for up to ten) it:
1. generates slokit's rules with `slokit.generate(spec)` (whatever shape slokit has at run time) and
   Sloth's for the same SLOs (bench/rulebench/sloth.py, checked against Sloth's golden files);
2. backfills the raw series at a 30 s scrape step for 33 days (30 d period + the 3 d window, or more if a
   rule reaches further) with `promtool tsdb create-blocks-from openmetrics`;
3. backfills every recorded series some rule reads over a range (and the alert inputs around the fault)
   with `promtool tsdb create-blocks-from rules`, level by level, for both rule sets;
4. starts one Prometheus (loopback, free port, temporary data dir) with both rule files, scraping a local
   exporter that continues the same counters, and reads `prometheus_rule_group_last_duration_seconds` and
   `prometheus_rule_group_interval_seconds` per group once per cycle;
5. checks the inputs (every long range read finds its samples, every recorded rule has output), compares
   the 30d error ratio of both sets with the exact one, and evaluates both sets' alerts over the fault
   window to find when each fires.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sections
import yaml
from rulebench import backfill, live, plan, prom, rules, sloth, traffic
from rulebench.prom import Prometheus
from sections import write_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's slokit, whatever else is installed

import slokit  # noqa: E402
from slokit import names  # noqa: E402

SECTION = "## Prometheus rule evaluation"
DAY = 86400
HISTORY = 33 * DAY  # the 30d period plus the longest alert window (3d)
EVALUATION = 60  # seconds: Prometheus' evaluation_interval (Sloth's groups set none)
OBJECTIVE = 99.9
FAULT_WINDOW = (-3600, 6 * 3600)  # around the fault start: where the alerts are compared
SET_LABELS = {"slokit": names.SERVICE, "sloth": "sloth_service"}
SEVERITY_LABELS = (names.SEVERITY, "sloth_severity")


@dataclass(frozen=True)
class Options:
    slos: int
    cycles: int  # with both rule sets loaded
    alone_cycles: int  # with one set loaded, for the process CPU per set
    quick: bool  # groups and scrapes every QUICK_INTERVAL live, no compaction waits: proves the harness only
    keep: Path | None


QUICK_INTERVAL = "3s"
QUICK_SLOS = 4  # one with the fault, two with night-time errors; 33 days of history still


def slokit_spec(svcs: list[traffic.Service]) -> str:
    """One slokit/v1 document per service with one events SLO over the service's counters."""
    docs = []
    for svc in svcs:
        docs.append(
            f"version: slokit/v1\nservice: {svc.name}\nslos:\n  - name: availability\n    objective: {OBJECTIVE}\n"
            f"    sli:\n      events:\n"
            f"        error_query: sum(rate({svc.selector(True)}[{{{{.window}}}}]))\n"
            f"        total_query: sum(rate({svc.selector(False)}[{{{{.window}}}}]))\n")
    return "---\n".join(docs)


def sloth_slos(svcs: list[traffic.Service]) -> list[sloth.SLO]:
    return [sloth.SLO(service=svc.name, name="availability", objective=OBJECTIVE,
                      error_query=f"sum(rate({svc.selector(True)}[{{{{.window}}}}]))",
                      total_query=f"sum(rate({svc.selector(False)}[{{{{.window}}}}]))",
                      alert_name=f"{svc.name.capitalize()}HighErrorRate") for svc in svcs]


def write_rules(svcs: list[traffic.Service], work: Path) -> dict[str, list[Path]]:
    """slokit's rules as `slokit.generate` emits them (rules/*.yml, not the promtool tests), and Sloth's."""
    spec_path = work / "slos.yml"
    spec_path.write_text(slokit_spec(svcs))
    # the public API: the slokit.generate package is callable (see its __init__), which mypy cannot see
    generated: dict[str, str] = slokit.generate(slokit.load([str(spec_path)]))  # type: ignore[operator]
    out: dict[str, list[Path]] = {"slokit": [], "sloth": []}
    (work / "rules" / "slokit").mkdir(parents=True)
    (work / "rules" / "sloth").mkdir(parents=True)
    for name, text in sorted(generated.items()):
        if re.fullmatch(r"rules/[^/]+\.ya?ml", name):
            path = work / "rules" / "slokit" / Path(name).name
            path.write_text(text)
            out["slokit"].append(path)
    path = work / "rules" / "sloth" / "slos.yml"
    path.write_text(sloth.rules_text(sloth_slos(svcs)))
    out["sloth"].append(path)
    return out


def quick_copies(files: dict[str, list[Path]], work: Path) -> dict[str, list[Path]]:
    """The rule files with every group evaluated every QUICK_INTERVAL (--quick only)."""
    out: dict[str, list[Path]] = {}
    for name, paths in files.items():
        folder = work / "live" / name
        folder.mkdir(parents=True)
        out[name] = []
        for path in paths:
            doc = yaml.safe_load(path.read_text())
            for group in doc["groups"]:
                group["interval"] = QUICK_INTERVAL
            copy = folder / path.name
            copy.write_text(yaml.safe_dump(doc, sort_keys=False, width=1 << 16))
            out[name].append(copy)
    return out


def config(path: Path, rule_files: list[Path], target: str | None, scrape: str) -> None:
    doc: dict[str, Any] = {"global": {"scrape_interval": scrape, "evaluation_interval": f"{EVALUATION}s"}}
    if target:
        doc["scrape_configs"] = [{"job_name": "bench", "honor_labels": True,
                                  "static_configs": [{"targets": [target]}]}]
    doc["rule_files"] = [str(p) for p in rule_files]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@dataclass(frozen=True)
class Setup:
    """One size: the services, both rule sets, and what history they need."""

    end: int  # the history's last sample
    fault: int
    svcs: list[traffic.Service]
    files: dict[str, list[Path]]
    loaded: list[rules.Rule]
    roots: list[rules.Rule]  # the alerts of the faulty services, compared over `window`
    window: tuple[int, int]
    plan: plan.Plan
    origin: int  # the history's first sample

    @property
    def faulty(self) -> list[str]:
        return [s.name for s in self.svcs if s.fault]


def prepare(n: int, work: Path, now: float) -> Setup:
    end = int(now) // 60 * 60 - 60
    fault = traffic.fault_start(end)
    svcs = traffic.services(n, fault)
    files = write_rules(svcs, work)
    loaded = [r for name, paths in files.items() for p in paths for r in rules.load(p, name, EVALUATION)]
    faulty = {s.name for s in svcs if s.fault}
    roots = [r for r in loaded if r.alert and live.services_in(r.expr) & faulty]
    window = (fault + FAULT_WINDOW[0], fault + FAULT_WINDOW[1])
    the_plan = plan.make(loaded, end, roots, window)
    origin = min(the_plan.raw_start, end - HISTORY) // 3600 * 3600
    return Setup(end, fault, svcs, files, loaded, roots, window, the_plan, origin)


def history(setup: Setup, work: Path, tools: tuple[str, str], quick: bool,
            progress: Callable[[str], None]) -> dict[str, Any]:
    """Raw series, then the recorded series level by level, then raw series again up to now (the
    recorded ones keep the gap of the backfill's duration)."""
    prometheus, promtool = tools
    data, log = work / "data", work / "promtool.log"
    data.mkdir()
    started = time.time()
    samples = backfill.raw(promtool, setup.svcs, setup.origin, setup.origin, setup.end, data, work, log)
    raw_seconds = time.time() - started
    progress(f"{samples:,} raw samples backfilled in {raw_seconds:.0f} s")
    started = time.time()
    config(work / "prometheus-backfill.yml", [], None, f"{traffic.STEP}s")
    with Prometheus(prometheus, work / "prometheus-backfill.yml", data, work / "prometheus-backfill.log") as server:
        jobs = backfill.recorded(promtool, setup.plan, server, work, log, merge=not quick, progress=progress)
    recorded_seconds = time.time() - started
    caught_up = int(time.time()) - traffic.STEP
    samples += backfill.raw(promtool, setup.svcs, setup.origin, setup.end + traffic.STEP, caught_up, data, work, log)
    return {"raw_samples": samples, "raw_seconds": raw_seconds, "recorded_seconds": recorded_seconds,
            "jobs": jobs, "blocks": len(prom.blocks(data)), "recorded_gap": caught_up - setup.end}


def measure_live(setup: Setup, work: Path, prometheus: str, opts: Options,
                 progress: Callable[[str], None]) -> dict[str, Any]:
    """Both rule sets in one Prometheus, then (config reloads, same process) each set alone for its CPU."""
    live_files = quick_copies(setup.files, work) if opts.quick else setup.files
    scrape = QUICK_INTERVAL if opts.quick else f"{traffic.STEP}s"
    prefixes = {name: str(paths[0].parent) + "/" for name, paths in live_files.items()}
    path = work / "prometheus-live.yml"
    with live.exporter(setup.svcs, setup.origin) as target:
        config(path, [p for paths in live_files.values() for p in paths], target, scrape)
        with Prometheus(prometheus, path, work / "data", work / "prometheus-live.log") as server:
            # two scrapes after the start (the raw series' last minutes came from promtool); quick: one
            warm_after = server.started + (1 if opts.quick else 2) * rules.seconds(scrape)
            slowest = 0 if opts.quick else 2
            both = live.measure(server, prefixes, opts.cycles, warm_after, progress, slowest)
            both["rule_times"] = live.rule_times(server, prefixes)
            checks = {
                "outputs": live.outputs(server, setup.loaded, SET_LABELS),
                "coverage": live.coverage(server, setup.loaded, setup.plan,
                                          [setup.svcs[0].name, setup.svcs[-1].name] + setup.faulty[:1], setup.end),
                "budget": live.budgets(server, setup.svcs, setup.origin, 30 * DAY, 1 - OBJECTIVE / 100, {
                    "slokit": (f'{names.SLI_RECORD}30d{{{names.SERVICE}!=""}}', names.SERVICE),
                    "sloth": ('slo:sli_error:ratio_rate30d{sloth_id!=""}', "sloth_service")}),
                "alerts": live.alerts(server, setup.roots, setup.window, SEVERITY_LABELS),
            }
            alone = {}
            for name in ("slokit", "sloth"):
                config(path, live_files[name], target, scrape)
                reloaded = server.reload()
                # one whole interval of the slowest group is enough for the process CPU
                alone[name] = live.measure(server, {name: prefixes[name]}, opts.alone_cycles, reloaded, progress,
                                           min(slowest, 1))
    return {**both, "alone": alone, "checks": checks}


def run(opts: Options, progress: Callable[[str], None]) -> dict[str, Any]:
    """One size: history, backfill, one live Prometheus with both rule sets; returns the results."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        raise SystemExit("prometheus and promtool must be installed (Debian: apt-get install prometheus)")
    work = Path(tempfile.mkdtemp(prefix="slokit-bench-rules-"))
    try:
        setup = prepare(opts.slos, work, time.time())
        progress(f"{opts.slos} SLOs: {_counts(setup.loaded)}; history {(setup.end - setup.origin) / DAY:.2f} d "
                 f"at {traffic.STEP} s")
        backfilled = history(setup, work, (prometheus, promtool), opts.quick, progress)
        started = time.time()
        measured = measure_live(setup, work, prometheus, opts, progress)
        return {
            "slos": opts.slos, "quick": opts.quick, "date": time.strftime("%Y-%m-%d"),
            "history": {"origin": setup.origin, "end": setup.end, "days": (setup.end - setup.origin) / DAY,
                        "step": traffic.STEP, "series": 4 * opts.slos, "fault": setup.fault,
                        "faulty": setup.faulty, "live_start": started, **backfilled},
            "rules": _counts(setup.loaded), **measured,
        }
    finally:
        if opts.keep:
            shutil.copytree(work, opts.keep / f"{opts.slos}", dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)


def _counts(loaded: list[rules.Rule]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for rule in loaded:
        entry = out.setdefault(rule.set, {"recording": 0, "alerting": 0})
        entry["alerting" if rule.alert else "recording"] += 1
    return out


def machine() -> dict[str, Any]:
    return {**sections.machine(), "slokit": str(Path(slokit.__file__).parent)}


def report(results: list[dict[str, Any]], before: dict[str, Any], after: tuple[float, ...]) -> str:
    """The docs section: setup, cost per rule set and the ratio, alert timing, budget accuracy, checks."""
    first = results[0]
    lines = [SECTION, "",
             f"`python bench/prometheus_rules.py{' --quick' if first['quick'] else ''}` — measured {first['date']} "
             f"on {before['cores']} cores ({before['cpu']}), {before['prometheus']}, slokit at {before['commit']}"
             f"{' plus uncommitted changes to slokit/' if before['slokit_dirty'] else ''}. The machine was shared "
             f"(load average {before['load'][0]:.1f} before, {after[0]:.1f} after): absolute seconds carry noise, "
             "and group durations are wall time, which includes waiting for a core.",
             "",
             *([f"**--quick: every group runs every {QUICK_INTERVAL} here, whatever its interval, so these figures "
                "prove the harness and are not the comparison.**", ""] if first["quick"] else []),
             f"Per size: {first['history']['step']} s samples of 4 `_count` series per SLO backfilled for "
             f"{first['history']['days']:.1f} days (`promtool tsdb create-blocks-from openmetrics`); every recorded "
             "series a rule reads over a range, and the alerts' inputs around the fault, backfilled from them for "
             "both sets (`create-blocks-from rules`, level by level); then one Prometheus with both rule files, "
             "scraping an exporter that continues the counters. (a) is the sum over a set's groups of "
             "`prometheus_rule_group_last_duration_seconds`, (b) the sum of duration × 60 / "
             "`prometheus_rule_group_interval_seconds`, both read once per cycle, medians over the cycles. Then "
             "the same process reloaded with one set at a time: (a) alone, and the Prometheus process's CPU "
             "seconds per minute (`process_cpu_seconds_total`, scraping included), the cost least disturbed by "
             "the other set and the machine.",
             "",
             "| SLOs | rule set | groups | rules (rec. + alert) | (a) s per cycle | (b) s per minute | "
             "(a) alone | CPU s per minute alone | cycles | missed iterations |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        row: dict[str, tuple[float, float, float, float]] = {}
        for name in ("sloth", "slokit"):
            s, c, alone = r["sets"][name], r["rules"][name], r["alone"][name]
            row[name] = (s["cycle_seconds"], s["seconds_per_minute"], alone["sets"][name]["cycle_seconds"],
                         alone["evaluation"].get("cpu_seconds_per_minute", 0.0))
            lines.append(f"| {r['slos']} | {'Sloth shape' if name == 'sloth' else 'slokit'} | {s['groups']} | "
                         f"{c['recording']} + {c['alerting']} | " + " | ".join(f"{v:.3f}" for v in row[name])
                         + f" | {r['evaluation']['rounds']} | {s['missed']:.0f} |")
        ratios = " | ".join(f"**{a / b:.2f}×**" if b else "n/a" for a, b in zip(row["slokit"], row["sloth"],
                                                                                 strict=True))
        lines.append(f"| {r['slos']} | **slokit / Sloth** | | | {ratios} | | |")
    lines += ["", "Where the time goes ((b) by group kind, both sets loaded; `*` is the SLO):", "",
              "| SLOs | rule set | group | interval (s) | s per minute |", "|---:|---|---|---:|---:|"]
    for r in results:
        for name in ("sloth", "slokit"):
            for kind, k in r["sets"][name]["kinds"].items():
                lines.append(f"| {r['slos']} | {name} | `{kind}` | {k['interval']:g} | {k['seconds_per_minute']:.3f} |")
    if all("rule_times" in r for r in results):
        lines += ["", "Where the time goes by rule (both sets loaded, each rule's last evaluation from "
                  "`/api/v1/rules` once, over the SLOs: the median is a rule's own cost, a mean far above it is "
                  "time spent waiting, for a core, a lock or the garbage collector):", "",
                  "| SLOs | rule set | group | # | rule | rules | median ms | mean ms | s per minute |",
                  "|---:|---|---|---:|---|---:|---:|---:|---:|"]
        for r in results:
            for name in ("sloth", "slokit"):
                lines += [f"| {r['slos']} | {name} | `{t['group']}` | {t['index']} | `{t['rule']}` | {t['rules']} | "
                          f"{t['median_ms']:.3f} | {t['mean_ms']:.3f} | {t['seconds_per_minute']:.3f} |"
                          for t in r["rule_times"].get(name, [])]
    lines += ["", "Alert decisions for the injected fault (10% of requests failing for 2 h from 11:00 UTC, the "
              "faulty services' peak): each set's alert expressions evaluated over the fault window at their "
              "group's interval, `for` applied as Prometheus does. Minutes after the fault starts (median over "
              "the faulty SLOs) and the largest difference for one SLO:", "",
              "| SLOs | severity | Sloth shape fires after (min) | slokit fires after (min) | "
              "max abs(slokit − Sloth) (min) |", "|---:|---|---:|---:|---:|"]
    for r in results:
        for severity, cells in alert_rows(r).items():
            lines.append(f"| {r['slos']} | {severity} | {cells['sloth']} | {cells['slokit']} | {cells['diff']} |")
    lines += ["", "Checks: the recorded 30d error ratio against the exact failed/all requests of the same series "
              "(error in budget remaining; 1.0 is a whole budget), the long-range reads of the rules of three SLOs "
              "evaluated at the history's end (the share of the samples they should find), and recording rules "
              "without output:", "",
              "| SLOs | rule set | 30d error, max (median) | worst SLO: exact vs recorded budget remaining | "
              "long reads: min share found | rules without output |", "|---:|---|---:|---|---:|---:|"]
    for r in results:
        for name in ("sloth", "slokit"):
            b = r["checks"]["budget"].get(name, {})
            cov = r["checks"]["coverage"].get(name, {})
            missing = sum(r["checks"]["outputs"][name]["missing"].values())
            budget = (f"{b['max_error']:.3f} ({b['median_error']:.3f}) | {b['worst_exact_remaining']:+.1%} vs "
                      f"{b['worst_recorded_remaining']:+.1%}") if b.get("slos") else "not recorded |"
            lines.append(f"| {r['slos']} | {name} | {budget} | {cov.get('min_share', 0):.2f} of "
                         f"{cov.get('reads', 0)} | {missing} |")
    lines += ["", "Notes: " + "; ".join(_note(r) for r in results) + "."]
    return "\n".join(lines)


def _note(r: dict[str, Any]) -> str:
    h, e = r["history"], r["evaluation"]
    return (f"{r['slos']} SLOs: {h['raw_samples']:,} raw samples, backfill {_took(h['raw_seconds'])} (raw) + "
            f"{_took(h['recorded_seconds'])} (recorded), so the recorded series end {_took(h['recorded_gap'])} "
            "before the live start (the raw series are caught up); "
            f"`prometheus_rule_evaluation_duration_seconds` summed {e.get('rule_seconds_per_minute', 0):.1f} s per "
            f"minute, the process used {e.get('cpu_seconds_per_minute', 0):.1f} CPU s per minute (both sets)")


def _took(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def alert_rows(result: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Per severity: median minutes after the fault start each set's alert fires, and the largest gap."""
    fault = result["history"]["fault"]
    faulty = result["history"]["faulty"]
    first = result["checks"]["alerts"]["first"]
    rows = {}
    for severity in ("page", "ticket"):
        fired = {name: {svc: first.get(name, {}).get(svc, {}).get(severity) for svc in faulty}
                 for name in ("sloth", "slokit")}
        diffs = [abs(fired["slokit"][s] - fired["sloth"][s]) / 60 for s in faulty
                 if fired["slokit"][s] is not None and fired["sloth"][s] is not None]
        cells = {}
        for name, times in fired.items():
            delays = sorted((t - fault) / 60 for t in times.values() if t is not None)
            text = f"{delays[len(delays) // 2]:.0f}" if delays else "never"
            cells[name] = text if len(delays) in (0, len(faulty)) else f"{text} ({len(delays)} of {len(faulty)})"
        rows[severity] = {**cells, "diff": f"{max(diffs):.0f}" if diffs else "n/a"}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slos", type=int, nargs="+", default=[50, 500], help="sizes, one Prometheus run each")
    parser.add_argument("--cycles", type=int, default=5, help="evaluation cycles measured per size")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SLOS} SLOs, 3 cycles, groups every {QUICK_INTERVAL}: proves the harness, "
                             "not a figure")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    parser.add_argument("--write", type=Path, help="markdown file whose section to replace")
    parser.add_argument("--keep", type=Path, help="copy each size's work dir (data, rules, logs) here")
    parser.add_argument("--report-from", type=Path, nargs="+", metavar="JSON",
                        help="no run: the report of earlier --json files (say one per size, run side by side)")
    args = parser.parse_args()
    # stopped with SIGTERM (or SIGINT, which a background job ignores): unwind, so Prometheus is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes, cycles, alone = ([QUICK_SLOS], 3, 2) if args.quick else (args.slos, args.cycles, args.cycles)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    if args.report_from:
        runs = [json.loads(path.read_text()) for path in args.report_from]
        results = sorted((r for doc in runs for r in doc["results"]), key=lambda r: r["slos"])
        before = {**runs[0]["machine"], "load": max((doc["machine"]["load"] for doc in runs), key=lambda x: x[0])}
        after = max((doc.get("load_after", doc["machine"]["load"]) for doc in runs), key=lambda x: x[0])
    else:
        before = machine()
        results = [run(Options(n, cycles, alone, args.quick, args.keep), progress) for n in sizes]
        after = os.getloadavg()
    section = report(results, before, after)
    print(section)
    if args.json:
        args.json.write_text(json.dumps({"machine": before, "load_after": after, "results": results}, indent=1,
                                        default=str))
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
