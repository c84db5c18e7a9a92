"""History for the benchmark: raw series with `promtool tsdb create-blocks-from openmetrics`, then the
recorded series level by level with `promtool tsdb create-blocks-from rules` against a running Prometheus.

promtool writes one block per rule and block window, and Prometheus keeps two files open per block (the
limit here is 20,000), so blocks are moved in batches and Prometheus' vertical compaction merges them.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from rulebench import prom, traffic
from rulebench.plan import Job, Plan

HOUR = 3600
RANGES = tuple(h * HOUR for h in (2, 6, 18, 54, 162, 486))  # the block windows promtool can write
RAW_WINDOW = 162 * HOUR  # one file and block per window: promtool parses a file once per block window
MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series
MAX_NEW_BLOCKS = 2_500  # blocks one promtool run may add before Prometheus merges them
RESTART_UP_TO = 300  # fewer blocks than this between levels: restart Prometheus rather than wait for a merge
MERGE_TIMEOUT = 1800


def raw(promtool: str, svcs: list[traffic.Service], origin: int, start: int, end: int, data: Path, work: Path,
        log: Path) -> int:
    """Raw samples at origin + k * traffic.STEP from `start` to `end` (inclusive), one file per block window:
    promtool imports a window while the next one is written. Returns how many samples were written."""
    samples = 0
    running: tuple[subprocess.Popen[bytes], Path] | None = None
    for i, w0 in enumerate(range(start // RAW_WINDOW * RAW_WINDOW, end + 1, RAW_WINDOW)):
        path = work / f"raw-{i % 2}.om"
        with path.open("w") as out:
            for chunk in traffic.openmetrics(svcs, origin, max(w0, start), min(w0 + RAW_WINDOW, end + 1)):
                out.write(chunk)
                samples += chunk.count("\n")
        samples -= 1  # the # EOF line
        if running:
            _wait(*running)
        running = _start([promtool, "tsdb", "create-blocks-from", f"--max-block-duration={RAW_WINDOW // HOUR}h",
                          "-q", "openmetrics", str(path), str(data)], log), path
    if running:
        _wait(*running)
    return samples


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        out.write(("$ " + " ".join(command) + "\n").encode())
        out.flush()
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _wait(process: subprocess.Popen[bytes], path: Path) -> None:
    _finish(process, f"promtool could not import {path.name}")
    path.unlink()


def _finish(process: subprocess.Popen[bytes], failure: str) -> None:
    try:
        code = process.wait(timeout=3600)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    if code:
        raise RuntimeError(f"{failure} (exit {code})")


def block_window(interval: float) -> int:
    """The longest promtool block window whose range query stays under MAX_POINTS at `interval`."""
    return max(r for r in RANGES if r / interval <= MAX_POINTS)


def recorded(promtool: str, plan: Plan, server: prom.Prometheus, work: Path, log: Path, merge: bool,
             progress: Callable[[str], None]) -> list[dict[str, Any]]:
    """Run every job of the plan, lowest level first; a level reads what the levels below it wrote."""
    staging = work / "staging"
    done = []
    levels = sorted({job.level for job in plan.jobs})
    for level in levels:
        for job in (j for j in plan.jobs if j.level == level):
            window = block_window(job.interval)
            windows = math.ceil((job.end - job.start) / window) + 1
            per_run = max(1, MAX_NEW_BLOCKS // windows)
            started = time.perf_counter()
            for first in range(0, len(job.rules), per_run):
                rules = job.rules[first:first + per_run]
                path = work / "backfill-rules.yml"
                path.write_text(yaml.safe_dump(_document(rules, job.interval), sort_keys=False, width=1 << 16))
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir()
                _run([promtool, "tsdb", "create-blocks-from", f"--max-block-duration={window // HOUR}h", "-q",
                      "rules", f"--url={server.url}", f"--start={job.start}", f"--end={job.end}",
                      f"--output-dir={staging}", f"--eval-interval={job.interval:g}s", str(path)], log)
                for block in staging.iterdir():
                    block.rename(server.data / block.name)
                if len(prom.blocks(server.data)) > MAX_NEW_BLOCKS:
                    settle(server, progress)
            done.append(_describe(job, time.perf_counter() - started))
            progress(f"backfilled {len(job.rules)} rules (level {job.level}, every {job.interval:g}s) over "
                     f"{(job.end - job.start) / 86400:.2f} d in {done[-1]['seconds']:.0f} s")
        if merge and (level == levels[-1] or len(prom.blocks(server.data)) > RESTART_UP_TO):
            settle(server, progress)  # the live run must not compact, nor queries read thousands of blocks
        elif level != levels[-1]:
            server.stop()  # a restart loads the new blocks now, not at the next reload a minute later
            server.start()
    return done


def settle(server: prom.Prometheus, progress: Callable[[str], None]) -> None:
    """Wait until Prometheus has loaded every block and merged the overlapping ones."""
    started = time.monotonic()
    while True:
        count = len(prom.blocks(server.data))
        loaded = sum(v for _, v in server.metrics().get("prometheus_tsdb_blocks_loaded", []))
        if prom.merged(server.data) and loaded == count:
            progress(f"{count} blocks after compaction ({time.monotonic() - started:.0f} s)")
            return
        if time.monotonic() - started > MERGE_TIMEOUT:
            raise RuntimeError(f"Prometheus did not merge the backfilled blocks in {MERGE_TIMEOUT} s")
        time.sleep(2)


def _document(rules: tuple[Any, ...], interval: float) -> dict[str, Any]:
    """A job's rules in their groups, each group at the job's interval: promtool evaluates a group at its
    own interval, not --eval-interval, and a tile gated on its own last sample (which a backfill has not
    written yet) must be evaluated once per tile."""
    groups: dict[str, dict[str, Any]] = {}
    for rule in rules:
        group = groups.setdefault(rule.group, {"name": rule.group, "interval": f"{interval:g}s", "rules": []})
        group["rules"].append(rule.source)
    return {"groups": list(groups.values())}


def _describe(job: Job, seconds: float) -> dict[str, Any]:
    return {"level": job.level, "interval": job.interval, "start": job.start, "end": job.end,
            "rules": len(job.rules), "seconds": seconds}


def _run(command: list[str], log: Path) -> None:
    _finish(_start(command, log), f"{command[0]} {' '.join(command[1:4])} failed; see {log}")
