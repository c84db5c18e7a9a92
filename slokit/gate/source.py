"""The gate's query function over a Prometheus-compatible API."""

from __future__ import annotations

from collections.abc import Mapping

import requests

from slokit.gate.checks import Query
from slokit.http import new_session, redact
from slokit.promapi import QueryError, instant_query


def prometheus_query(url: str, timeout: float = 5.0, headers: Mapping[str, str] | None = None,
                     session: requests.Session | None = None) -> Query:
    """An instant-query function over `/api/v1/query`; every fault becomes QueryError (never a pass) whose
    message names the source by its redacted URL (no credentials, no query string)."""
    http = session or new_session()

    def query(text: str) -> list[tuple[dict[str, str], float]]:
        try:
            return [(dict(s.labels), s.value) for s in instant_query(url, text, timeout, headers, http)]
        except QueryError as exc:
            raise QueryError(exc.reason, f"{redact(url)}: {exc}", exc.status) from None

    return query
