"""Benchmark: how long `slokit serve` takes to load its list of 1,000 SLOs from a local Prometheus.

Run:
    python bench/serve.py                                  # 1,000 SLOs, 15 rounds
    python bench/serve.py --write docs/benchmarks.md       # also replaces that section of the docs
    python bench/serve.py --slos 40 --rounds 3             # a quick look
    python bench/serve.py --slos 12 --history --screenshot docs/serve-list.png   # the README's picture

For N SLOs (10 per service, every tenth grouped by region into three groups, a 30d period) it:
1. writes their spec, and serves what the generated rules would record for them (every window's error
   ratio, the period's, the budget remaining, ALERTS for the conditions that hold) from a local exporter,
   the values derived from one synthetic error-ratio timeline per SLO (`timeline`: a baseline, incidents,
   a few burning now), so windows, budget and alerts agree as they do in Prometheus;
2. with --history, backfills 30 days of the budget and the charts' window of the same timelines
   (`promtool tsdb create-blocks-from openmetrics`, a sample every 30 minutes, Prometheus' lookback
   raised to match), so the detail pages have a burn-down to draw;
3. starts a Prometheus (loopback, free port, temporary data dir) scraping the exporter every 5 s with
   `honor_labels`, and waits until it has every SLO's budget;
4. serves the console over it with its cache off (every load queries Prometheus: the cost a cache miss
   pays) and times loading the list page (GET /, the whole HTML) and /api/slos, then the cached list.
"""

from __future__ import annotations

import argparse
import http.server
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sections import machine, write_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's slokit, whatever else is installed

from slokit import names  # noqa: E402
from slokit.serve import Console, ConsoleApp, Prometheus, serve_in_thread  # noqa: E402
from slokit.spec.loader import load  # noqa: E402
from slokit.spec.model import SLO  # noqa: E402

SECTION = "## Console list load (`slokit serve`)"
PERIOD = 30 * 86400
STEP = 600  # seconds between timeline points (and backfilled samples)
HISTORY = 60 * 86400  # the period's budget needs a period before it: 30 days of budget history
SCRAPE = "5s"
HISTORY_STEP = 1800  # seconds between backfilled samples: `--query.lookback-delta` covers them
REGIONS = ("eu", "us", "ap")
TEAMS = ("payments", "search", "identity", "platform")


def spec_text(n: int) -> str:
    docs = []
    for s in range(math.ceil(n / 10)):
        slos = []
        for i in range(min(10, n - s * 10)):
            k = s * 10 + i
            grouped = "\n    group_by: [region]" if k % 10 == 9 else ""
            route = f"/api/v{i}" if k % 10 != 9 else "/api/regional"
            slos.append(f"""  - name: endpoint-{i}
    objective: {(99.9, 99.5, 99)[k % 3]}
    description: Requests to {route} succeed.{grouped}
    sli: {{http: {{route: {route}}}}}
    alerting: {{name: Svc{s:03d}Endpoint{i}}}""")
        docs.append(f"version: slokit/v1\nservice: svc-{s:03d}\nlabels: {{team: {TEAMS[s % len(TEAMS)]}}}\n"
                    "slos:\n" + "\n".join(slos) + "\n")
    return "---\n".join(docs)


def timeline(slo: SLO, seed: int, end: float) -> list[float]:
    """Error ratio every STEP seconds over HISTORY up to `end`: a baseline under budget, a few incidents
    over the month, and for some SLOs one burning now."""
    rng = random.Random(seed)
    budget = slo.error_budget
    points = HISTORY // STEP
    ratio = [budget * rng.uniform(0.05, 0.6)] * points
    for _ in range(rng.randint(0, 3)):  # incidents: 1-8 hours at 3-30x the budget
        start, length = rng.randrange(points), rng.randint(6, 48)
        level = budget * rng.uniform(3, 30)
        for j in range(start, min(points, start + length)):
            ratio[j] = level
    if seed % 17 == 0:  # burning now: a fault that started 1-3 hours ago
        level = budget * rng.uniform(8, 40)
        for j in range(points - rng.randint(6, 18), points):
            ratio[j] = level
    return ratio


def window_mean(ratio: list[float], prefix: list[float], index: int, seconds: int) -> float:
    count = max(1, seconds // STEP)
    lo = max(0, index + 1 - count)
    return (prefix[index + 1] - prefix[lo]) / (index + 1 - lo)


@dataclass(frozen=True)
class Figures:
    """What the rules would record for one SLO group at one moment."""

    labels: dict[str, str]
    ratios: dict[str, float]  # window name -> error ratio (and the period's)
    budget: float
    alerts: tuple[str, ...]  # severities whose condition holds


def prefix_sums(ratio: list[float]) -> list[float]:
    prefix = [0.0]
    for value in ratio:
        prefix.append(prefix[-1] + value)
    return prefix


def figures(slo: SLO, group: dict[str, str], ratio: list[float], index: int,
            prefix: list[float] | None = None) -> Figures:
    prefix = prefix or prefix_sums(ratio)
    table = slo.table
    ratios = {w.name: window_mean(ratio, prefix, index, w.seconds) for w in (*table.windows, table.period)}
    burn = {w.seconds: ratios[w.name] / slo.error_budget for w in table.windows}
    alerts = tuple(sorted({c.severity for c in table.conditions if c.holds(burn)}))
    labels = {**slo.labels, names.SERVICE: slo.service, names.NAME: slo.name, **group}
    return Figures(labels, ratios, 1 - ratios[table.period.name] / slo.error_budget, alerts)


def groups(slo: SLO) -> list[dict[str, str]]:
    return [{"region": r} for r in REGIONS] if slo.group_by else [{}]


def _labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def exposition(slos: list[SLO], end: float) -> str:
    """The exporter's page: the current figures of every SLO group."""
    lines = []
    for k, slo in enumerate(slos):
        for g, group in enumerate(groups(slo)):
            f = figures(slo, group, timeline(slo, k * 7 + g, end), HISTORY // STEP - 1)
            for window, value in f.ratios.items():
                lines.append(f"{names.sli_record(window)}{_labels({**f.labels, names.WINDOW: window})} {value!r}")
            lines.append(f"{names.BUDGET_REMAINING}{_labels(f.labels)} {f.budget!r}")
            assert slo.alerting is not None
            for severity in f.alerts:
                alert = {**f.labels, names.ALERT_NAME: slo.alerting.name, names.ALERT_STATE: names.FIRING,
                         names.SEVERITY: severity}
                lines.append(f"{names.ALERTS}{_labels(alert)} 1")
    return "\n".join(lines) + "\n"


def backfill(slos: list[SLO], end: float, work: Path, console: Console) -> None:
    """30 days of the budget and the charts' window per SLO group, as OpenMetrics, into Prometheus' data dir."""
    families: dict[str, list[str]] = {}
    for k, slo in enumerate(slos):
        _, window = console.history_window(slo)
        for g, group in enumerate(groups(slo)):
            ratio = timeline(slo, k * 7 + g, end)
            prefix, start = prefix_sums(ratio), end - HISTORY
            labels = {**slo.labels, names.SERVICE: slo.service, names.NAME: slo.name, **group}
            record, seconds = names.sli_record(window), next(w.seconds for w in slo.table.windows if w.name == window)
            # every 30 minutes (Prometheus runs with a lookback to match), the last hour the exporter's
            for stamp in range(int(end - PERIOD), int(end - 3600), HISTORY_STEP):
                index = int((stamp - start) // STEP) - 1
                budget = 1 - window_mean(ratio, prefix, index, PERIOD) / slo.error_budget
                families.setdefault(names.BUDGET_REMAINING, []).append(
                    f"{names.BUDGET_REMAINING}{_labels(labels)} {budget!r} {stamp}")
                families.setdefault(record, []).append(f"{record}{_labels({**labels, names.WINDOW: window})} "
                                                       f"{window_mean(ratio, prefix, index, seconds)!r} {stamp}")
    text = "".join(f"# TYPE {name} gauge\n" + "\n".join(lines) + "\n" for name, lines in families.items())
    (work / "history.om").write_text(text + "# EOF\n")
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(work / "history.om"),
                    str(work / "data")], check=True, capture_output=True)


class _Exporter(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def prometheus(work: Path, target: str, lookback: int = 300) -> Iterator[str]:
    (work / "prometheus.yml").write_text(f"""\
global: {{scrape_interval: {SCRAPE}}}
scrape_configs:
  - job_name: recorded
    honor_labels: true
    static_configs: [{{targets: ["{target}"]}}]
""")
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(["prometheus", f"--config.file={work / 'prometheus.yml'}",
                             f"--storage.tsdb.path={work / 'data'}", "--storage.tsdb.retention.time=60d",
                             f"--query.lookback-delta={lookback}s",
                             f"--web.listen-address={url.removeprefix('http://')}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_for(url: str, expected: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            body = requests.get(url + "/api/v1/query", params={"query": f"count({names.BUDGET_REMAINING})"},
                                timeout=5).json()
            result = body["data"]["result"]
            if result and int(float(result[0]["value"][1])) >= expected:
                return
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"Prometheus did not get {expected} budgets within {timeout}s")


def timed(url: str, rounds: int) -> list[float]:
    out = []
    with requests.Session() as session:
        for _ in range(rounds):
            started = time.perf_counter()
            answer = session.get(url, timeout=30)
            answer.raise_for_status()
            out.append(time.perf_counter() - started)
    return out


def screenshot(url: str, path: Path, size: str) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        f"--user-data-dir={profile}", f"--window-size={size}", f"--screenshot={path}", url],
                       check=True, capture_output=True, timeout=60)


def where_time_goes(console: Console, rounds: int) -> dict[str, float]:
    """Medians of the parts of one uncached load: Prometheus' answer (query, transfer, JSON), the rows, the HTML."""
    from slokit import queries
    from slokit.serve import pages
    from slokit.serve.console import View

    parts: dict[str, list[float]] = {"query": [], "rows": [], "html": []}
    for _ in range(rounds):
        started = time.perf_counter()
        answer = console.prometheus.instant(queries.console_series(console.services))
        asked = time.perf_counter()
        rows = console.rows(answer)
        built = time.perf_counter()
        pages.list_page(console, View(rows, time.time()), {}, time.time())
        done = time.perf_counter()
        parts["query"].append(asked - started)
        parts["rows"].append(built - asked)
        parts["html"].append(done - built)
    return {k: statistics.median(v) for k, v in parts.items()}


def browser(url: str, rounds: int = 3) -> list[float]:
    """Seconds for headless Chromium to load `url` and dump its DOM (the browser's own start included)."""
    out = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as profile:
            started = time.perf_counter()
            subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            f"--user-data-dir={profile}", "--dump-dom", url], check=True, capture_output=True,
                           timeout=60)
            out.append(time.perf_counter() - started)
    return out


def run(n: int, rounds: int, history: bool, shots: list[Path]) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="slokit-serve-bench-"))
    try:
        (work / "spec.yml").write_text(spec_text(n))
        slos = list(load([str(work / "spec.yml")]).slos)
        series = sum(len(groups(s)) for s in slos)
        end = time.time()
        _Exporter.body = exposition(slos, end).encode()
        exporter = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
        threading.Thread(target=exporter.serve_forever, daemon=True).start()
        if history:
            backfill(slos, end, work, Console(tuple(slos), Prometheus("http://127.0.0.1:1"), ttl=1))
        lookback = HISTORY_STEP + 300 if history else 300
        with prometheus(work, f"127.0.0.1:{exporter.server_address[1]}", lookback) as prom:
            wait_for(prom, series)
            console = Console(tuple(slos), Prometheus(prom, timeout=10), ttl=0.0)
            server, _ = serve_in_thread(ConsoleApp(console))
            base = f"http://127.0.0.1:{server.server_address[1]}"
            timed(base + "/", 2)  # warm up: Prometheus' postings and Python's imports
            page = timed(base + "/", rounds)
            api = timed(base + "/api/slos", rounds)
            answer = requests.get(base + "/api/slos", timeout=30).json()
            assert len(answer["slos"]) == n and answer["error"] is None, answer.get("error")
            cached_console = Console(tuple(slos), Prometheus(prom, timeout=10), ttl=600)
            cached_server, _ = serve_in_thread(ConsoleApp(cached_console))
            cached_base = f"http://127.0.0.1:{cached_server.server_address[1]}"
            timed(cached_base + "/", 1)
            cached = timed(cached_base + "/", rounds)
            size = len(requests.get(base + "/", timeout=30).content)
            split = where_time_goes(console, rounds)
            in_browser = browser(base + "/") if shutil.which("chromium") else []
            blank = browser(base + "/-/healthy") if in_browser else []
            for shot in shots:
                worst = answer["slos"][0]["id"]
                if "detail" in shot.name:
                    screenshot(f"{base}/slo/{worst}", shot, "1280,1000")
                else:
                    screenshot(base + "/", shot, "1280,760")
            server.shutdown()
            cached_server.shutdown()
        exporter.shutdown()
        return {"slos": n, "series": series, "rounds": rounds, "page": page, "api": api, "cached": cached,
                "browser": in_browser, "browser_blank": blank, "split": split,
                "bytes": size, "date": time.strftime("%Y-%m-%d"), "burning": sum(r["burning"] for r in answer["slos"])}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(result: dict[str, Any], where: dict[str, Any], after: tuple[float, ...]) -> str:
    def row(label: str, values: list[float]) -> str:
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
        return f"| {label} | {statistics.median(values):.3f} | {p90:.3f} | {min(values):.3f} |"

    page = statistics.median(result["page"])
    return "\n".join([
        SECTION, "",
        f"`python bench/serve.py` — measured {result['date']} on {where['cores']} cores ({where['cpu']}), Python "
        f"{where['python']}, {where['prometheus']}, slokit at {where['commit']}. Load average "
        f"{where['load'][0]:.1f} before, {after[0]:.1f} after (the machine is shared; wall times move with it).",
        "",
        f"{result['slos']:,} SLOs (10 per service, every tenth grouped into 3 regions: {result['series']:,} SLO "
        f"groups; {result['burning']} burning now) whose recorded series a local exporter serves to a local "
        f"Prometheus (scraped every {SCRAPE}, `honor_labels`). The console's cache is off for the first two rows, "
        "so every load sends its one batched instant query and builds every row; the third is a load within the "
        f"cache's lifetime. {result['rounds']} rounds each, seconds, from the request to the last byte "
        f"(the list page is {result['bytes'] / 1e6:.1f} MB of HTML).",
        "",
        "| load | median (s) | p90 (s) | best (s) |",
        "|---|---:|---:|---:|",
        row(f"list page `/`, {result['slos']:,} SLOs, Prometheus queried", result["page"]),
        row("`/api/slos`, Prometheus queried", result["api"]),
        row("list page `/`, cached answer", result["cached"]),
        "",
        f"- **Target: the list of 1,000 SLOs in under 2 s. {'Met' if page < 2 else 'Missed'}: median "
        f"{page:.2f} s** with a Prometheus query on every load. Of one such load (medians): Prometheus' answer "
        f"(the query, its {result['series']:,}-group answer, parsing it) {result['split']['query']:.2f} s, the rows "
        f"{result['split']['rows']:.2f} s, the HTML {result['split']['html']:.2f} s; the rest is the HTTP exchange.",
        *([f"- In a browser: headless Chromium loads the list and dumps its DOM (cache off) in "
           f"{statistics.median(result['browser']):.2f} s (median of {len(result['browser'])} `--dump-dom` "
           f"runs), of which {statistics.median(result['browser_blank']):.2f} s is its own start (the same "
           "on an empty page)."] if result.get("browser") else []),
    ]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--history", action="store_true", help="backfill 33 days of history (for the charts)")
    parser.add_argument("--screenshot", type=Path, action="append", default=[],
                        help="save a screenshot of the list (or, if the name has 'detail', the worst SLO's page)")
    parser.add_argument("--write", type=Path, help="replace this benchmark's section of that markdown file")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    where = machine()
    result = run(args.slos, args.rounds, args.history, args.screenshot)
    text = report(result, where, os.getloadavg())
    print(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
