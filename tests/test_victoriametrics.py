"""The generated rules on a second engine: VictoriaMetrics with vmalert (Debian's packages), on loopback.

vmalert parses the rules with MetricsQL and evaluates them against VictoriaMetrics, writing the recorded
series back; a tiny exporter serves the middleware's metrics at a known error ratio.
"""

from __future__ import annotations

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry, Histogram, start_http_server

from slokit import names
from slokit.generate.files import generate
from slokit.spec import load
from tests.conftest import COMPAT, ROOT, require
from tests.instrument_helpers import all_rules, free_port, running, wait_until
from tests.test_compat import ACCEPTED

SPEC = """
version: slokit/v1
service: shop
period: 1d          # windows of 10s .. 6m: the page (10s and 2m above 14.4x) can fire within a minute
slos:
  - name: availability
    objective: 99
    sli:
      http: {route: /buy}
"""


SLOTH_FILES = sorted(name for name in ACCEPTED if name.startswith("sloth/"))


@pytest.mark.parametrize("specs", [[ROOT / "examples"], [COMPAT / name for name in SLOTH_FILES]],
                         ids=["examples", "sloth"])
def test_vmalert_accepts_the_generated_rules(specs, tmp_path):
    # Sloth's examples define the same SLOs in several files (prometheus/v1 and CRD): one spec set each.
    for i, spec in enumerate(specs):
        files, _ = generate(load([str(spec)]))
        for name, text in files.items():
            if name.startswith("rules/") and not name.startswith("rules/tests/"):
                (tmp_path / f"{i}-{Path(name).name}").write_text(text)
    result = subprocess.run([require("vmalert"), "-dryRun", f"-rule={tmp_path}/*.yml"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fatal" not in result.stderr


class _Notifier(BaseHTTPRequestHandler):
    """Stands in for Alertmanager's receiving endpoint, which vmalert requires; accepts and drops alerts."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_vmalert_records_the_injected_error_ratio_and_pages(tmp_path):
    (tmp_path / "spec.yml").write_text(SPEC)
    files, _ = generate(load([str(tmp_path / "spec.yml")]))
    (tmp_path / "rules.yml").write_text(all_rules(files))

    registry = CollectorRegistry()
    histogram = Histogram(names.HTTP_SERVER_DURATION, "requests", names.HTTP_SERVER_LABELS,
                          buckets=names.BUCKETS, registry=registry)
    exporter_port = free_port()
    exporter, _ = start_http_server(exporter_port, addr="127.0.0.1", registry=registry)
    good = histogram.labels("shop", "/buy", "GET", "200", names.GOOD)
    bad = histogram.labels("shop", "/buy", "GET", "500", names.BAD)
    stop = threading.Event()

    def traffic() -> None:  # 25% errors, 80 requests a second, until the test ends
        while not stop.wait(0.05):
            for _ in range(3):
                good.observe(0.01)
            bad.observe(0.01)

    notifier = ThreadingHTTPServer(("127.0.0.1", 0), _Notifier)
    threading.Thread(target=notifier.serve_forever, daemon=True).start()
    threading.Thread(target=traffic, daemon=True).start()
    (tmp_path / "scrape.yml").write_text(
        f"scrape_configs:\n  - job_name: shop\n    scrape_interval: 1s\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n")
    vm_port, vmalert_port = free_port(), free_port()
    vm = f"http://127.0.0.1:{vm_port}"
    try:
        with running([require("victoria-metrics"), f"-httpListenAddr=127.0.0.1:{vm_port}",
                      f"-storageDataPath={tmp_path / 'vm'}", f"-promscrape.config={tmp_path / 'scrape.yml'}",
                      "-search.latencyOffset=0s", "-search.disableCache"],
                     f"{vm}/health", "victoria-metrics"), \
             running([require("vmalert"), f"-httpListenAddr=127.0.0.1:{vmalert_port}", f"-rule={tmp_path}/rules.yml",
                      f"-datasource.url={vm}", f"-remoteWrite.url={vm}", "-evaluationInterval=1s",
                      f"-notifier.url=http://127.0.0.1:{notifier.server_port}"],
                     f"http://127.0.0.1:{vmalert_port}/health", "vmalert"):

            def recorded(window: str) -> float | None:
                answer = requests.get(f"{vm}/api/v1/query", timeout=2, params={
                    "query": f'slo:sli_error:ratio_rate{window}{{slo_service="shop",slo_name="availability"}}'}).json()
                result = answer["data"]["result"]
                return float(result[0]["value"][1]) if result else None

            def page_firing() -> bool:
                alerts = requests.get(f"http://127.0.0.1:{vmalert_port}/api/v1/alerts", timeout=2).json()
                return any(a["labels"].get("slo_severity") == "page" and a["state"] == "firing"
                           for a in alerts["data"]["alerts"] or [])

            wait_until(lambda: (recorded("1m") or 0) > 0.2, 60, "recorded 1m error ratio")
            assert abs(recorded("1m") - 0.25) < 0.05
            wait_until(page_firing, 60, "page alert firing in vmalert")
    finally:
        stop.set()
        notifier.shutdown()
        exporter.shutdown()
