"""A real Prometheus on loopback (a temporary data dir, a free port, always stopped) and its HTTP API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

# Vertical compaction only: with min = max block duration Prometheus merges overlapping (backfilled) blocks
# but never re-compacts them into longer ones while the benchmark measures.
FLAGS = ("--storage.tsdb.retention.time=3650d", "--storage.tsdb.min-block-duration=2h",
         "--storage.tsdb.max-block-duration=2h", "--log.level=info", "--web.enable-lifecycle")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Prometheus:
    """`with Prometheus(...) as prom:` starts it, waits until ready, and stops it at the end."""

    def __init__(self, binary: str, config: Path, data: Path, log: Path, ready_timeout: float = 300) -> None:
        self.binary, self.config, self.data, self.log = binary, config, data, log
        self.ready_timeout = ready_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, f"--config.file={self.config}", f"--storage.tsdb.path={self.data}",
                 f"--web.listen-address=127.0.0.1:{self.port}", *FLAGS],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.started = time.time()
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"prometheus not ready after {self.ready_timeout:.0f} s; see {self.log}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None

    def reload(self) -> float:
        """Re-read the config file (the rule files in it); returns when the reload was asked."""
        asked = time.time()
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=300) as response:
            if response.status != 200:
                raise RuntimeError(f"reload: {response.status}")
        return asked

    def __enter__(self) -> Prometheus:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def get(self, path: str, params: dict[str, str] | None = None, timeout: float = 300) -> Any:
        url = f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
        if path == "/metrics":
            return body.decode()
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {doc}")
        return doc["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        result: list[dict[str, Any]] = self.get("/api/v1/query", params)["result"]
        return result

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        result: list[dict[str, Any]] = self.get("/api/v1/query_range", params)["result"]
        return result

    def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        """Prometheus' own /metrics: {sample name: [(labels, value)]}."""
        out: dict[str, list[tuple[dict[str, str], float]]] = {}
        for family in text_string_to_metric_families(self.get("/metrics")):
            for sample in family.samples:
                out.setdefault(sample.name, []).append((sample.labels, sample.value))
        return out


def blocks(data: Path) -> list[tuple[str, int, int]]:
    """(dir, minTime, maxTime) of every complete block in a TSDB directory."""
    out = []
    for entry in os.scandir(data):
        if len(entry.name) != 26:
            continue
        try:
            doc = json.loads((Path(entry.path) / "meta.json").read_text())
        except (FileNotFoundError, NotADirectoryError):
            continue  # not a block, or one that compaction has just deleted
        out.append((entry.name, int(doc["minTime"]), int(doc["maxTime"])))
    return sorted(out, key=lambda b: b[1])


def merged(data: Path) -> bool:
    """Whether no two blocks overlap (nothing left for Prometheus' vertical compaction)."""
    reach = -1
    for _, lo, hi in blocks(data):
        if lo < reach:
            return False
        reach = max(reach, hi)
    return True
