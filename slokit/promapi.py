"""Queries against a Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics).

The one place that talks `/api/v1/query` (and `/api/v1/query_range`, for the console's charts): the
runtime's source, `slokit gate`, `slokit status` and `slokit serve` all ask through it, over
`slokit.http.fetch` (total deadline, bounded body, no redirect off the origin), and every fault becomes a
QueryError with a reason, never a traceback or a guess. The answer's shape is checked here once, so
callers get `Sample`s (or `Series`): string labels and floats (NaN and ±Inf are what Prometheus sends for
them; each caller decides what they mean). Messages leave the URL out (callers name it, through
`slokit.http.redact`).
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
    data = _ask(url, "/api/v1/query", {"query": expr}, timeout, headers, session)
    try:
        return samples(data)
    except ValueError as exc:
        raise QueryError("garbage", f"unusable answer: {exc}") from None


@dataclass(frozen=True)
class Series:
    """One series of a matrix answer: its points (unix time, value), oldest first."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


def range_query(url: str, expr: str, start: float, end: float, step: float, timeout: float,
                headers: Mapping[str, str] | None = None, session: requests.Session | None = None) -> list[Series]:
    """The series of a range query from `start` to `end` every `step` seconds, complete within `timeout`."""
    params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    data = _ask(url, "/api/v1/query_range", params, timeout, headers, session)
    try:
        return matrix(data)
    except ValueError as exc:
        raise QueryError("garbage", f"unusable answer: {exc}") from None


def _ask(url: str, path: str, params: dict[str, str], timeout: float, headers: Mapping[str, str] | None,
         session: requests.Session | None) -> Any:
    """`data` of a successful API answer; QueryError with a reason otherwise."""
    sent = {"Accept": "application/json", **(headers or {})}
    try:
        answer = fetch(session or new_session(), "GET", url.rstrip("/") + path, params=params, headers=sent,
                       timeout=timeout)
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
    return body.get("data")


def _labels(metric: Any) -> dict[str, str]:
    if not isinstance(metric, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metric.items()):
        raise ValueError("a series without string labels")
    return metric


def _point(value: Any) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], str) \
            or not isinstance(value[0], int | float) or isinstance(value[0], bool):
        raise ValueError("a series without a [time, \"value\"] pair")
    return float(value[0]), float(value[1])  # float() raises ValueError for anything not a number


def matrix(data: Any) -> list[Series]:
    """`data` of a matrix answer as Series; ValueError naming what is wrong with its shape."""
    if not isinstance(data, dict) or data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        kind = data.get("resultType") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"expected a matrix, got {printable(str(kind), 40)!r}")
    out = []
    for series in data["result"]:
        if not isinstance(series, dict) or not isinstance(series.get("values"), list):
            raise ValueError("a series without values")
        out.append(Series(_labels(series.get("metric")), tuple(_point(v) for v in series["values"])))
    return out


def samples(data: Any) -> list[Sample]:
    """`data` of a vector answer as Samples; ValueError naming what is wrong with its shape."""
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        kind = data.get("resultType") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"expected a vector, got {printable(str(kind), 40)!r}")
    out = []
    for series in data["result"]:
        if not isinstance(series, dict):
            raise ValueError("a series without string labels")
        labels = _labels(series.get("metric"))
        out.append(Sample(labels, _point(series.get("value"))[1]))
    return out
