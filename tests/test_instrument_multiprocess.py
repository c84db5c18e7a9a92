"""Multiprocess mode: gunicorn with several workers and PROMETHEUS_MULTIPROC_DIR loses no counts."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT
from tests.instrument_helpers import free_port, running

REQUESTS = 600
APP = """\
import os

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from slokit.instrument import SLOWSGIMiddleware, make_wsgi_app

app = Flask("pay")


@app.post("/pay/<int:order>")
def pay(order):
    return str(os.getpid()), 503 if order % 5 == 0 else 200


app.wsgi_app = SLOWSGIMiddleware(app.wsgi_app, "checkout")
app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/metrics": make_wsgi_app()})
"""


def test_gunicorn_workers_lose_no_counts(tmp_path: Path) -> None:
    (tmp_path / "payapp.py").write_text(APP)
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}", "payapp:app"]
    with running(command, url + "/metrics", "gunicorn", env=env, cwd=tmp_path):

        def pay(order: int) -> tuple[int, str]:
            with requests.Session() as session:  # a new connection each: spread across workers
                response = session.post(f"{url}/pay/{order}", timeout=10)
                return response.status_code, response.text

        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(pay, range(1, REQUESTS + 1)))
        text = requests.get(url + "/metrics", timeout=10).text

    workers = {pid for _, pid in answers}
    assert len(workers) >= 2, "the requests must have been served by several processes"
    counts = {
        (s.labels["code"], s.labels["outcome"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "slokit_http_server_request_duration_seconds_count" and s.labels["route"] == "/pay/{order}"
    }
    assert counts == {("200", "good"): REQUESTS * 4 / 5, ("503", "bad"): REQUESTS / 5}
    assert sum(1 for code, _ in answers if code == 503) == REQUESTS / 5
