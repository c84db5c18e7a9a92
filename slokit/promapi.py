"""Instant queries against a Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics).

The one place that talks `/api/v1/query`: the runtime's source, `slokit gate` and `slokit status` all
ask through it, and every fault becomes a QueryError with a reason, never a traceback or a guess. Messages
leave the URL out (callers name it, through `slokit.http.redact`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from slokit.errors import RemoteError

REASONS = ("timeout", "connection", "http_status", "query_error", "garbage")


class QueryError(RemoteError):
    """The source could not answer; `reason` is one of REASONS (counted by the runtime)."""

    def __init__(self, reason: str, message: str, status: int = 0):
        super().__init__(message, status, transient=reason in ("timeout", "connection") or status >= 500)
        self.reason = reason


def instant_query(url: str, expr: str, timeout: float, headers: Mapping[str, str] | None = None,
                  session: requests.Session | None = None) -> list[dict[str, Any]]:
    """The samples (`{"metric": {...}, "value": [t, "v"]}`) of a vector-valued instant query."""
    endpoint = url.rstrip("/") + "/api/v1/query"
    sent = {"Accept": "application/json", **(headers or {})}
    try:
        response = (session or requests).get(endpoint, params={"query": expr}, headers=sent, timeout=timeout)
    except requests.Timeout as exc:
        raise QueryError("timeout", f"no answer within {timeout}s") from exc
    except requests.RequestException as exc:
        raise QueryError("connection", str(exc)) from exc
    if response.status_code != 200:
        raise QueryError("http_status", f"HTTP {response.status_code}: {response.text[:200]}", response.status_code)
    try:
        body = response.json()
        if body.get("status") != "success":
            raise QueryError("query_error", str(body.get("error", body))[:200])
        data = body["data"]
        if data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
            raise ValueError(f"expected a vector, got {data.get('resultType')!r}")
        result: list[dict[str, Any]] = data["result"]
        return result
    except QueryError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise QueryError("garbage", f"unusable answer: {exc}") from exc
