"""The gate's query function over a Prometheus-compatible API."""

from __future__ import annotations

from collections.abc import Mapping

import requests

from slokit.gate.checks import Query
from slokit.http import redact
from slokit.promapi import QueryError, instant_query


def prometheus_query(url: str, timeout: float = 5.0, headers: Mapping[str, str] | None = None,
                     session: requests.Session | None = None) -> Query:
    """An instant-query function over `/api/v1/query`; every fault becomes QueryError (never a pass)."""
    http = session or requests.Session()

    def query(text: str) -> list[tuple[dict[str, str], float]]:
        try:
            result = instant_query(url, text, timeout, headers, http)
            try:
                return [(dict(r["metric"]), float(r["value"][1])) for r in result]
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise QueryError("garbage", f"unusable answer: {exc}") from exc
        except QueryError as exc:
            raise QueryError(exc.reason, f"{redact(url)}: {exc}", exc.status) from exc

    return query
