"""What every edge that talks HTTP needs, once: URLs safe to print, `host:port` labels, retries, JSON requests.

Base layer: imports only the standard library, requests and slokit.errors, so the runtime (Grafana
annotations), `apply` (Grafana, Alertmanager) and the instrumentation hooks can all use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests

from slokit.errors import ConfigError, RemoteError

T = TypeVar("T")


def redact(url: str) -> str:
    """The URL for messages: no user:password, no query or fragment (either may hold a secret)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # "[::1", a port that is not a number: say so rather than fail while reporting
        return "(not a URL)"
    host = parts.hostname or ""
    return urlunsplit((parts.scheme, f"{host}:{port}" if port else host, parts.path, "", ""))


def http_url(url: str, what: str) -> str:
    """`url` if it is an http(s) URL with a host (and a numeric port); ConfigError naming `what` otherwise."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0  # .port raises ValueError when it is not a number
    except ValueError as exc:  # "[::1", "host:abc"
        raise ConfigError(f"{what} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ConfigError(f"{what} must be an http:// or https:// URL with a host, not {redact(url)!r}")
    return url


def host_port(url: str) -> str:
    """`host:port` of a URL, the port explicit so http and https calls to one host stay apart."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


@dataclass(frozen=True)
class Retry:
    """How often to ask again after a transient RemoteError, with exponential backoff."""

    attempts: int = 3
    backoff: float = 0.5  # seconds before the 2nd attempt; doubled each time
    sleep: Callable[[float], None] = time.sleep


DEFAULT_RETRY = Retry()


def retrying(call: Callable[[], T], retry: Retry = DEFAULT_RETRY) -> T:
    """`call()`, again while it raises a transient RemoteError; the last one says how often it was tried."""
    for attempt in range(1, retry.attempts + 1):
        try:
            return call()
        except RemoteError as exc:
            if not exc.transient:
                raise
            if attempt >= retry.attempts:
                exc.args = (f"{exc} (gave up after {attempt} attempts)",)
                raise
            retry.sleep(retry.backoff * 2 ** (attempt - 1))
    raise AssertionError("retry.attempts must be at least 1")


def request_json(session: requests.Session, method: str, base: str, path: str, *, server: str,
                 body: Any = None, timeout: float = 10.0, error: type[RemoteError] = RemoteError) -> Any:
    """One request to `base + path`; the JSON it answered (None when empty), or `error` saying what went wrong.

    `server` names the peer in messages ("Alertmanager"); `base` appears redacted, never with credentials.
    """
    where = redact(base)
    try:
        response = session.request(method, base + path, json=body, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise error(f"cannot reach {server} at {where}: {type(exc).__name__}", transient=True) from None
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema):
        raise ConfigError(f"{where!r} is not a URL {server} can be asked at") from None
    except requests.RequestException as exc:  # too many redirects, a broken answer: asking again will not help
        raise error(f"cannot ask {server} at {where}: {type(exc).__name__}") from None
    status = response.status_code
    if status >= 400:
        detail = response.text.strip()[:300] or response.reason
        raise error(f"{method} {path} failed: {server} at {where} answered {status}: {detail}", status,
                    transient=status >= 500 or status == 429)
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise error(f"{method} {path}: {server} at {where} answered {status} with something that is not JSON",
                    status) from None
