"""`slokit gate --serve`: Flagger webhooks and Argo Rollouts' web metric provider."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slokit import promql
from slokit.gate.report import FAIL, PASS, UNDECIDED, Report
from slokit.http import loads

CANARY_FIELDS: dict[str, Callable[[str], Any]] = {"label": str, "canary": str, "baseline": str,
                                                  "window": promql.parse_duration,
                 "min_requests": int, "confidence": float, "tolerance": float}
# Flagger reads only the status: 2xx passes. A fail and an undecided are both non-2xx (never a pass), told
# apart for people reading Flagger's events: 412 the gate failed, 503 it could not decide.
FLAGGER_STATUS = {PASS: 200, FAIL: 412, UNDECIDED: 503}


def overrides(params: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """SLO ids (`slo`, comma-separated) and canary fields from a webhook's metadata or query string."""
    slos = [s for s in str(params.get("slo", "")).split(",") if s]
    canary = {k: convert(str(params[k])) for k, convert in CANARY_FIELDS.items() if params.get(k) not in (None, "")}
    return slos, canary


def make_server(run: Callable[[list[str], dict[str, Any]], Report], host: str = "127.0.0.1",
                port: int = 0) -> Any:
    """An HTTP server answering Flagger webhooks (POST /flagger) and Argo Rollouts' web provider (/argo).

    `run(slo_ids, canary_overrides)` evaluates the gate on each call: nothing is cached, so every analysis
    step of the rollout sees fresh data.
    """
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, sort_keys=True).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            """The JSON object posted (ValueError: a bad length, not JSON, nested too deeply); read at most 1 MiB."""
            length = self.headers.get("Content-Length") or "0"
            if not (length.isascii() and length.isdigit()):
                raise ValueError("Content-Length is not a number")
            if not int(length):
                return {}
            body = loads(self.rfile.read(min(int(length), 1 << 20)) or b"{}")
            return body if isinstance(body, dict) else {}

        def _handle(self, post: bool) -> None:
            url = urlsplit(self.path)
            params: dict[str, Any] = dict(parse_qsl(url.query))
            try:
                body = self._body() if post else {}
                if url.path == "/flagger":  # Flagger posts {name, namespace, phase, metadata: {...}}
                    params.update(body.get("metadata") or {})
                else:
                    params.update(body)
                slos, canary = overrides(params)
            except (ValueError, TypeError) as exc:
                self._answer(400, {"error": str(exc)})
                return
            if url.path == "/healthz":
                self._answer(200, {"status": "ok"})
            elif url.path == "/flagger" and post:
                report = run(slos, canary)
                self._answer(FLAGGER_STATUS[report.verdict], report.to_json())
            elif url.path == "/argo":  # always 200: the verdict is in the JSON, for jsonPath "{$.verdict}"
                self._answer(200, run(slos, canary).to_json())
            else:
                self._answer(404, {"error": "POST /flagger, GET or POST /argo, GET /healthz"})

        def do_GET(self) -> None:
            self._handle(False)

        def do_POST(self) -> None:
            self._handle(True)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the verdicts are the log
            pass

    return ThreadingHTTPServer((host, port), Handler)
