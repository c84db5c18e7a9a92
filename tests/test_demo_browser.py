"""A person watching the status page in a real browser during `slokit demo`: headless Chromium (Debian's
`chromium`, installed by scripts/test.sh) renders the page while the fault burns the budget and after the
recovery. Screenshots land in test-artifacts/ (gitignored; CI keeps them)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, require
from tests.instrument_helpers import free_port, stop, wait_until

ARTIFACTS = ROOT / "test-artifacts"
SPEED = 3  # the ~55 story seconds take ~18s; the breaker stays open ~8s of wall time


class Rows(HTMLParser):
    """What the page shows: each table row's data attributes and visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict[str, str], str]] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append(({k: v or "" for k, v in attrs}, ""))
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._current is not None:
            attrs, _ = self.rows[-1]
            self.rows[-1] = (attrs, re.sub(r"\s+", " ", " ".join(self._current)).strip())
            self._current = None

    def row(self, kind: str, name: str) -> tuple[str, str]:
        """(data-state, visible text) of the row of `kind` (slo, breaker, switch) named `name`."""
        for attrs, text in self.rows:
            if attrs.get("class") == kind and attrs.get(f"data-{kind}") == name:
                return attrs["data-state"], text
        raise AssertionError(f"no {kind} row {name!r} on the page: {self.rows}")


def chromium(url: str, *args: str) -> str:
    """Run headless Chromium once on `url` (bounded: 45s) and return its stdout."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [require("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--window-size=1200,1100", *args, url],
            capture_output=True, text=True, timeout=45, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def look(url: str, screenshot: Path) -> Rows:
    """The page as the browser rendered it (DOM after load), and a screenshot of it."""
    rows = Rows()
    rows.feed(chromium(url, "--dump-dom"))
    chromium(url, f"--screenshot={screenshot}")
    assert screenshot.stat().st_size > 10_000, "an empty screenshot"
    return rows


def ctrl_c_on() -> None:
    """In the child: Ctrl-C (SIGINT) as a terminal gives it. A suite started as a background job (`cmd &`
    without job control) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """`slokit demo --serve`: the story, then the page stays up until the test interrupts it (Ctrl-C). Its
    output goes to a file: a pipe nobody reads fills up and blocks the demo's prints, Ctrl-C included."""
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "slokit", "demo", "--speed", str(SPEED), "--port", str(port),
                                 "--serve"], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, preexec_fn=ctrl_c_on)
    url = f"http://127.0.0.1:{port}/slokit/"
    try:
        wait_until(lambda: requests.get(url + "status.json", timeout=1).ok, 15, "slokit demo", proc)
        yield url
        # the test may be done before the story (its last seconds after the switch is back on): let it end
        wait_until(lambda: "Ctrl-C to stop" in log.read_text(errors="replace"), 30, "slokit demo's story", proc)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        told = log.read_text(errors="replace")[-2000:]
        assert proc.returncode == 0 and "done in" in told and "serving" in told, told
    finally:
        stop(proc)


def page_loads(url: str) -> float:
    """How many times the page was served, from the demo service's own metrics."""
    metrics = requests.get(url.removesuffix("/slokit/") + "/metrics", timeout=2).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("slokit_http_server_request_duration_seconds_count") and 'route="/slokit/"' in line)


def breaker_state(url: str) -> str:
    return requests.get(url + "status.json", timeout=2).json()["breakers"][0]["state"]


def test_the_status_page_shows_the_breaker_open_during_the_fault_and_closed_after(demo: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    wait_until(lambda: breaker_state(demo) == "open", 30, "breaker opening during the fault")
    during = look(demo, ARTIFACTS / "status-page-fault.png")

    state, text = during.row("breaker", "payments")
    # the last transition: the policy opening it, or a probe round that failed or passed while it holds
    assert state == "open" and text.startswith("payments open ") and "→ open" in text
    charts = " ".join(t for attrs, t in during.rows if attrs.get("class") == "charts-row")
    assert "breaker:payments: closed → open (policy)" in charts  # marked on the burn chart
    assert during.row("switch", "recommendations")[0] == "off"
    slo_state, slo_text = during.row("slo", "checkout-availability")
    assert slo_state in ("page", "ticket")  # page while the fault burns; ticket once the short windows cooled
    assert "99% / 2h" in slo_text and "http /pay: 5xx and 429" in slo_text and "1s" in slo_text
    assert during.row("slo", "checkout-latency")[0] == "ok"

    wait_until(lambda: breaker_state(demo) == "closed", 40, "breaker closing after the hold time and the ramp")
    after = look(demo, ARTIFACTS / "status-page-recovered.png")
    state, text = after.row("breaker", "payments")
    assert state == "closed" and "ramp → closed" in text and "ramp_done" in text
    charts = " ".join(t for attrs, t in after.rows if attrs.get("class") == "charts-row")
    assert "→ ramp (policy_recovered)" in charts and "breaker:payments: ramp → closed (ramp_done)" in charts
    wait_until(lambda: requests.get(demo + "status.json", timeout=2).json()["switches"][0]["state"] == "on", 20,
               "switch ramped back")

    # the page refreshes itself: in 3s of (virtual) browser time it fetches itself again about every second
    before = page_loads(demo)
    chromium(demo, "--virtual-time-budget=3000", "--dump-dom")
    assert page_loads(demo) - before >= 3
