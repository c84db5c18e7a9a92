"""Benchmark: generate for N SLOs; rules + promtool tests in process, and everything through the CLI.

Run: python bench/generate.py [--sloth /path/to/sloth]   (results go in docs/benchmarks.md)

Each service has two `http` SLOs (availability and latency on one route), so 1,000 SLOs are 500 services,
each with its own rules, test file, dashboard and delivery templates, as a real fleet would have. Each size
runs in a fresh process so peak memory (ru_maxrss) is its own. The CLI part runs `slokit generate` as a
user does, in rounds (medians): cold (empty output folder), warm (again, nothing changed) and one service
changed; then the jsonnet engines on one service, and the CLI's start-up.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's slokit, whatever else is installed
# The CLI runs as installed from a wheel, where pip has written the bytecode: cached here (outside the tree),
# even where the environment says PYTHONDONTWRITEBYTECODE (compiling slokit's modules again costs ~80 ms a start).
CLI_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CLI_ENV.update(PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=os.path.join(tempfile.gettempdir(), "slokit-bench-pycache"))


def spec_text(n: int) -> str:
    """n SLOs, two per service (availability and latency on one route), as a fleet of services would be."""
    docs = []
    for i in range(0, n, 2):
        doc = f"version: slokit/v1\nservice: svc{i}\nslos:\n"
        doc += f"  - name: availability\n    objective: 99.9\n    sli:\n      http: {{route: /api/{i}}}\n"
        if i + 1 < n:
            doc += f"  - name: latency\n    objective: 99\n    sli:\n      http: {{route: /api/{i}, latency: 300ms}}\n"
        docs.append(doc)
    return "---\n".join(docs)


def sloth_text(n: int) -> str:
    slos = "".join(
        f"  - name: slo{i}\n    objective: 99.9\n    sli:\n      events:\n"
        f"        error_query: sum(rate(http_requests_total{{route=\"/{i}\",code=~\"5..\"}}[{{{{.window}}}}]))\n"
        f"        total_query: sum(rate(http_requests_total{{route=\"/{i}\"}}[{{{{.window}}}}]))\n"
        f"    alerting:\n      name: Slo{i}\n      page_alert: {{labels: {{severity: page}}}}\n"
        f"      ticket_alert: {{labels: {{severity: ticket}}}}\n"
        for i in range(n)
    )
    return f"version: prometheus/v1\nservice: bench\nslos:\n{slos}"


def measure_one(n: int, everything: bool) -> dict:
    """Runs in a child process: load + rules and promtool tests for n SLOs; then, if asked, everything
    `slokit generate` writes (adds Alertmanager config and dashboards)."""
    from slokit.generate import files
    from slokit.spec import load

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "slos.yml")
        with open(path, "w") as f:
            f.write(spec_text(n))
        gc.disable()  # as `slokit generate` does
        start = time.perf_counter()
        spec = load([path])
        out, _ = files.rule_files(spec)
        rules_seconds = time.perf_counter() - start
        all_seconds = None
        if everything:
            start = time.perf_counter()
            files.generate(load([path]))
            all_seconds = time.perf_counter() - start
    count = sum(text.count("\n      - record: ") + text.count("\n      - alert: ") for name, text in out.items()
                if not name.startswith("rules/tests/"))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"slos": len(spec.slos), "seconds": rules_seconds, "all_seconds": all_seconds, "peak_mib": peak_mib,
            "rules_per_slo": count / len(spec.slos)}


def sloth_one(sloth: str, n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "slos.yml")
        with open(path, "w") as f:
            f.write(sloth_text(n))
        start = time.perf_counter()
        subprocess.run([sloth, "generate", "-i", path, "-o", os.path.join(tmp, "out.yml")], check=True,
                       capture_output=True)
        return time.perf_counter() - start


_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, capture_output=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # slokit and the workers it waited for
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}))
"""


def cli_run(args: list[str], cwd: str) -> dict:
    """Wall and CPU seconds (the process and its workers) and the largest process's peak memory of one
    `slokit ARGS` run, measured by a small parent of its own (so no earlier run's peak counts)."""
    result = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "slokit", *args], cwd=cwd,
                            check=True, capture_output=True, text=True, env=CLI_ENV)
    return json.loads(result.stdout)


def cli_cases(n: int, rounds: int) -> dict[str, dict]:
    """`slokit generate` cold, warm and with one service changed, `rounds` times; medians."""
    runs: dict[str, list[dict]] = {"cold": [], "warm": [], "one service changed": []}
    with tempfile.TemporaryDirectory() as tmp:
        spec, changed = os.path.join(tmp, "slos.yml"), os.path.join(tmp, "changed.yml")
        text = spec_text(n)
        with open(spec, "w") as f:
            f.write(text)
        with open(changed, "w") as f:  # the middle service's availability objective
            middle = text.index(f"service: svc{n // 4 * 2}\n")
            f.write(text[:middle] + text[middle:].replace("objective: 99.9\n", "objective: 99.95\n", 1))
        for _ in range(rounds):
            out = os.path.join(tmp, "out")
            shutil.rmtree(out, ignore_errors=True)
            runs["cold"].append(cli_run(["generate", spec, "--out", out, "-q"], tmp))
            runs["warm"].append(cli_run(["generate", spec, "--out", out, "-q"], tmp))
            runs["one service changed"].append(cli_run(["generate", changed, "--out", out, "-q"], tmp))
    return {case: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for case, rs in runs.items()}


def engines(rounds: int = 7) -> list[tuple[str, float, float]]:
    """(engine, ms for one service alone, ms per service in a batch of 20): CPU time of one evaluation
    as a worker runs it (rjsonnet's collector off), parsing and rendering included."""
    import functools

    from slokit.generate import dashboards, jsonnet
    from slokit.spec import load

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "slos.yml")
        with open(path, "w") as f:
            f.write(spec_text(40))
        full = dashboards.model(load([path]).slos)
    shared = json.dumps({k: v for k, v in full.items() if k not in ("services", "slos")}, sort_keys=True)
    entry, check = dashboards.DEFAULT_ENTRY, functools.partial(dashboards._checked, dashboards.DEFAULT_ENTRY)
    out = []
    for name in (n for n in jsonnet.ENGINES if importlib.util.find_spec(n) is not None):
        per_service = []
        for size in (1, 20):
            samples = []
            for _ in range(rounds if name != "_jsonnet" else 2):
                start = time.process_time()
                jsonnet.evaluate_batch(name, entry, [entry.parent, dashboards.LIB_DIR], shared,
                                       full["services"][:size], check, keep=True)
                samples.append((time.process_time() - start) / size * 1000)
            per_service.append(statistics.median(samples))
        out.append((name, per_service[0], per_service[1]))
    return out


def start_up(rounds: int = 15) -> list[tuple[str, float, float]]:
    """(command, min ms, median ms) for `slokit --help` and `slokit validate examples/`; and Python alone."""
    rows = []
    for label, cmd in (("python -c pass", [sys.executable, "-c", "pass"]),
                       ("slokit --help", [sys.executable, "-m", "slokit", "--help"]),
                       ("slokit validate examples/", [sys.executable, "-m", "slokit", "validate", "examples/"])):
        samples = []
        subprocess.run(cmd, cwd=ROOT, capture_output=True, env=CLI_ENV)  # writes the bytecode, not counted
        for _ in range(rounds):
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, capture_output=True, env=CLI_ENV)
            samples.append((time.perf_counter() - start) * 1000)
        rows.append((label, min(samples), statistics.median(samples)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,100,1000,10000")
    parser.add_argument("--everything-max", type=int, default=1000,
                        help="also time everything `slokit generate` writes, up to this many SLOs")
    parser.add_argument("--sloth", default=shutil.which("sloth"), help="a sloth binary, to compare in the same run")
    parser.add_argument("--cli-sizes", default="1000,10000", help="SLO counts for the CLI cold/warm/changed runs")
    parser.add_argument("--rounds", type=int, default=3, help="CLI rounds per size (medians)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--everything", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure_one(args.child, args.everything)))
        return
    head = "| SLOs | rules + tests (s) | per SLO (ms) | peak memory (MiB) | rules per SLO | everything (s) |"
    print(head + (" sloth (s) |" if args.sloth else ""))
    print("|---:|---:|---:|---:|---:|---:|" + ("---:|" if args.sloth else ""))
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--child", str(n)] + (["--everything"] if n <= args.everything_max else [])
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        everything = f"{r['all_seconds']:.3f}" if r["all_seconds"] is not None else "-"
        row = (f"| {r['slos']:,} | {r['seconds']:.3f} | {1000 * r['seconds'] / r['slos']:.2f} | {r['peak_mib']:.0f} "
               f"| {r['rules_per_slo']:.0f} | {everything} |")
        if args.sloth:
            row += f" {sloth_one(args.sloth, n):.3f} |"
        print(row, flush=True)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n`slokit generate` through the CLI, {args.rounds} rounds, medians (load average {load}):\n")
    print("| SLOs (services) | case | wall (s) | CPU (s, with workers) | peak memory (MiB, largest process) |")
    print("|---:|---|---:|---:|---:|")
    for n in (int(s) for s in args.cli_sizes.split(",")):
        for case, r in cli_cases(n, args.rounds).items():
            print(f"| {n:,} ({n // 2:,}) | {case} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['peak_mib']:.0f} |",
                  flush=True)
    print("\n| jsonnet engine | ms per service, alone | ms per service, batch of 20 |\n|---|---:|---:|")
    for name, alone, batched in engines():
        print(f"| {name} | {alone:.1f} | {batched:.1f} |")
    print("\n| start-up | min (ms) | median (ms) |\n|---|---:|---:|")
    for label, low, mid in start_up():
        print(f"| {label} | {low:.0f} | {mid:.0f} |")


if __name__ == "__main__":
    main()
