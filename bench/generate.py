"""Benchmark: generate rules + promtool tests for N SLOs; wall time, peak memory, rules per SLO.

Run: python bench/generate.py [--sloth /path/to/sloth]   (results go in docs/benchmarks.md)

Each SLO is an `http` availability SLO of its own service, so every SLO gets its own rules and test file
as a real fleet would. Each size runs in a fresh process so peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,100,1000,10000")
    parser.add_argument("--everything-max", type=int, default=1000,
                        help="also time everything `slokit generate` writes, up to this many SLOs")
    parser.add_argument("--sloth", default=shutil.which("sloth"), help="a sloth binary, to compare in the same run")
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


if __name__ == "__main__":
    main()
