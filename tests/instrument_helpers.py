"""Process helpers for the instrument tests that run real servers on loopback (bounded waits, clean stops)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml

from slokit import names, promql, windows
from slokit.generate import rules
from slokit.spec.model import SLO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(ready: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    """Poll `ready` until true; fail with `what` (and the process's output) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}: {output(proc)}")
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what}: not ready after {timeout}s")


def http_ok(url: str) -> Callable[[], bool]:
    return lambda: requests.get(url, timeout=1).ok


def stop(proc: subprocess.Popen) -> None:
    """Terminate, then kill after 5s: never leave a server behind."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def output(proc: subprocess.Popen) -> str:
    if proc.stdout is None:
        return ""
    try:
        return proc.stdout.read().decode(errors="replace")[-2000:] if proc.poll() is not None else ""
    except (OSError, ValueError):
        return ""


@contextmanager
def running(command: list[str], ready_url: str, what: str, timeout: float = 30, **popen: Any) -> Iterator[None]:
    """Run a server until the block ends: wait for `ready_url` to answer, always stop it afterwards."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
    try:
        wait_until(http_ok(ready_url), timeout, what, proc)
        yield
    finally:
        stop(proc)


@contextmanager
def prometheus_scraping(prometheus: str, tmp: Path, rules: str, target: str) -> Iterator[str]:
    """A real Prometheus on loopback evaluating `rules` every second and scraping `target` every second."""
    (tmp / "rules.yml").write_text(rules)
    (tmp / "prometheus.yml").write_text(f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [rules.yml]
scrape_configs:
  - job_name: slokit
    static_configs: [{{targets: ["{target}"]}}]
""")
    url = f"http://127.0.0.1:{free_port()}"
    command = [prometheus, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
               f"--web.listen-address={url.removeprefix('http://')}"]
    with running(command, url + "/-/ready", "prometheus"):
        yield url


def all_rules(files: dict[str, str]) -> str:
    """Every rule file of a generated output (each service's, then each scope's: rules/_shared-*.yml) as
    one rules file, for a Prometheus that loads one."""
    groups = [group for name, text in sorted(files.items(), key=lambda f: (f[0].startswith("rules/_"), f[0]))
              if name.startswith("rules/") and not name.startswith("rules/tests/")
              for group in yaml.safe_load(text)["groups"]]
    return yaml.safe_dump({"groups": groups}, sort_keys=False)


def ratio_series(slo: SLO, windows_: Sequence[str], values: str) -> list[dict[str, str]]:
    """promtool input series that give an SLO's alerts the error ratio `values` (promtool's notation) over
    each of `windows_`: its recorded ratio, or, where the alerts divide recorded rates themselves
    (`rules.reads_recorded`), the window's bad rate over a total of 1. Past the raw limit those are the raw
    limit's (with no tiles fed, its rates are all the window has)."""
    labels = {names.SERVICE: slo.service, names.NAME: slo.name}
    steps = values.rsplit("x", 1)[1]
    out: list[dict[str, str]] = []
    for window in windows_:
        w = windows.Window(promql.parse_duration(window))
        if rules.reads_recorded(slo, w):
            out.append({"series": names.sli_record(window) + promql.selector({**labels, names.WINDOW: window}),
                        "values": values})
            continue
        rated = min(w, slo.table.raw_limit, key=lambda x: x.seconds).name
        out += [s for s in ({"series": names.SLI_BAD + rated + promql.selector(labels), "values": values},
                            {"series": names.SLI_TOTAL + rated + promql.selector(labels), "values": f"1x{steps}"})
                if s not in out]
    return out
