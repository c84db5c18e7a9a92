"""Instant queries against a Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics).

The one place that talks `/api/v1/query`: the runtime's source, `slokit gate` and `slokit status` all
ask through it, over `slokit.http.fetch` (total deadline, bounded body, no redirect off the origin), and
every fault becomes a QueryError with a reason, never a traceback or a guess. The answer's shape is
checked here once, so callers get `Sample`s: string labels and a float (NaN and ±Inf are what Prometheus
sends for them; each caller decides what they mean). Messages leave the URL out (callers name it,
through `slokit.http.redact`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from slokit.errors import RemoteError
from slokit.http import Fault, fetch, new_session, printable

REASONS = ("timeout", "connection", "http_status", "query_error", "garbage")
_FAULT_REASON = {"timeout": "timeout", "connection": "connection", "too_large": "garbage", "redirect": "http_status"}


class QueryError(RemoteError):
    """The source could not answer; `reason` is one of REASONS (counted by the runtime)."""

    def __init__(self, reason: str, message: str, status: int = 0):
        super().__init__(message, status, transient=reason in ("timeout", "connection") or status >= 500)
        self.reason = reason


@dataclass(frozen=True)
class Sample:
    """One series of a vector answer."""

    labels: Mapping[str, str]
    value: float


def instant_query(url: str, expr: str, timeout: float, headers: Mapping[str, str] | None = None,
                  session: requests.Session | None = None) -> list[Sample]:
    """The samples of a vector-valued instant query, complete within `timeout` seconds."""
    sent = {"Accept": "application/json", **(headers or {})}
    try:
        answer = fetch(session or new_session(), "GET", url.rstrip("/") + "/api/v1/query", params={"query": expr},
                       headers=sent, timeout=timeout)
    except Fault as exc:
        raise QueryError(_FAULT_REASON[exc.reason], str(exc), exc.status) from None
    if answer.status_code != 200:
        raise QueryError("http_status", f"HTTP {answer.status_code}: {printable(answer.text)}", answer.status_code)
    try:
        body = answer.json()
    except ValueError as exc:
        raise QueryError("garbage", f"unusable answer: not JSON ({exc})") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error", body) if isinstance(body, dict) else body
        raise QueryError("query_error", printable(str(error)))
    try:
        return samples(body.get("data"))
    except ValueError as exc:
        raise QueryError("garbage", f"unusable answer: {exc}") from None


def samples(data: Any) -> list[Sample]:
    """`data` of a vector answer as Samples; ValueError naming what is wrong with its shape."""
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        kind = data.get("resultType") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"expected a vector, got {printable(str(kind), 40)!r}")
    out = []
    for series in data["result"]:
        metric, value = (series.get("metric"), series.get("value")) if isinstance(series, dict) else (None, None)
        if not isinstance(metric, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in metric.items()):
            raise ValueError("a series without string labels")
        if not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], str):
            raise ValueError("a series without a [time, \"value\"] pair")
        out.append(Sample(metric, float(value[1])))  # float() raises ValueError for anything not a number
    return out
