"""What every edge that talks HTTP needs, once: URLs safe to print, `host:port` labels, retries, and one
bounded exchange (`fetch`) that every client uses.

A server can fail in ways a per-read timeout does not catch: it can drip one byte a second, send 300 MB,
nest JSON 200k deep, or redirect a POST (requests would replay it as a GET and report success). `fetch`
gives each exchange a total deadline, reads at most `MAX_BYTES`, decodes JSON without recursing on the
server's nesting, and follows redirects only for a GET on the same origin. Every fault becomes a
`Fault` (a RemoteError) whose message carries no URL, credentials or raw server bytes.

Base layer: imports only the standard library, requests (and its urllib3) and slokit.errors, so the
runtime (Grafana annotations, the Prometheus source), `apply` and the consumers can all use it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

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


MAX_BYTES = 16 << 20  # no answer slokit asks for comes near this; a larger one is refused, never read whole
MAX_REDIRECTS = 3
_CHUNK = 8192  # read (and gunzip) this much at a time: memory stays near MAX_BYTES even for a gzip bomb
FAULTS = ("timeout", "connection", "too_large", "redirect")


class Fault(RemoteError):
    """An exchange that did not complete; `reason` is one of FAULTS. The message names no URL (callers
    say which server, through `redact`)."""

    def __init__(self, reason: str, message: str, status: int = 0, transient: bool = False):
        super().__init__(message, status, transient)
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    """A complete, bounded answer: what clients (and grafana-client, see apply/grafana.py) read of one."""

    status_code: int
    reason: str
    headers: Mapping[str, str] = field(repr=False)
    content: bytes = field(repr=False)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self, **_: Any) -> Any:
        """The body as JSON; ValueError when it is not (strict JSON, any depth without recursion errors)."""
        return loads(self.content)


def loads(content: bytes | str) -> Any:
    """Strict JSON (no NaN or Infinity literals); ValueError for anything else, including nesting so deep
    that the parser would overflow the stack."""
    try:
        return json.loads(content, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def printable(text: str, limit: int = 200) -> str:
    """Server text fit for a message or a terminal: control characters (escape sequences) shown as `?`,
    at most `limit` characters."""
    text = text.strip()[:limit]
    return "".join(c if c.isprintable() else "?" for c in text)


# -- the total deadline ----------------------------------------------------------------------------------
# requests' timeout is per read: a server sending a byte a second never trips it. So each exchange gets a
# watchdog that shuts the connection's socket down at the deadline, which ends any read blocked on it.
# The connection registers itself with the watchdog of the thread that uses it (urllib3 calls `request`
# on the connection for every exchange, new or kept alive).
_local = threading.local()


class _Watch:
    def __init__(self) -> None:
        self.conn: Any = None
        self.fired = False

    def fire(self) -> None:
        self.fired = True
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


class _Watched:
    def request(self, *args: Any, **kwargs: Any) -> Any:
        watch = getattr(_local, "watch", None)
        if watch is not None:
            watch.conn = self
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _Connection(_Watched, HTTPConnection):
    pass


class _TLSConnection(_Watched, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections the deadline watchdog can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _watched_pools(self.poolmanager)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        return _watched_pools(super().proxy_manager_for(*args, **kwargs))  # through a proxy too


def _watched_pools(manager: Any) -> Any:
    manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, "http": _Pool, "https": _TLSPool}
    return manager


def new_session() -> requests.Session:
    """A requests session whose exchanges `fetch` can bound in total time."""
    s = requests.Session()
    for prefix in ("http://", "https://"):
        s.mount(prefix, DeadlineAdapter())
    return s


def _deadline_capable(s: requests.Session, url: str) -> None:
    """Give a session with requests' default adapter ours (same settings), so its deadline holds too."""
    try:
        default = type(s.get_adapter(url)) is HTTPAdapter
    except requests.exceptions.InvalidSchema:
        return  # not http(s): the exchange says so
    if default:
        s.mount("https://" if url.startswith("https://") else "http://", DeadlineAdapter())


def same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def fetch(s: requests.Session, method: str, url: str, *, timeout: float, params: Mapping[str, str] | None = None,
          headers: Mapping[str, str] | None = None, body: Any = None, max_bytes: int = MAX_BYTES) -> Answer:
    """One exchange, complete within `timeout` seconds in all (connect, headers, body, redirects) and at
    most `max_bytes` long; Fault otherwise, ConfigError when `url` cannot be asked at all.

    Only a GET or HEAD follows a redirect, and only on the same origin (scheme, host, port); any other is a
    Fault naming where it pointed: a redirected write is never replayed, nor a request sent elsewhere.
    """
    deadline = time.monotonic() + timeout
    _deadline_capable(s, url)
    for _ in range(MAX_REDIRECTS + 1):
        answer = _exchange(s, method, url, deadline, timeout, params, headers, body, max_bytes)
        location = answer.headers.get("location") if answer.status_code in (301, 302, 303, 307, 308) else None
        if location is None:
            return answer
        target = urljoin(url, location)
        if method not in ("GET", "HEAD") or not same_origin(url, target):
            kind = "another host" if not same_origin(url, target) else f"a {method}"
            raise Fault("redirect", f"answered {answer.status_code}, a redirect to {redact(target)}, not "
                                    f"followed (slokit never follows one to {kind}): use the URL it points to",
                        answer.status_code)
        url, params = target, None
    raise Fault("redirect", f"more than {MAX_REDIRECTS} redirects", answer.status_code)


def _exchange(s: requests.Session, method: str, url: str, deadline: float, timeout: float,
              params: Mapping[str, str] | None, headers: Mapping[str, str] | None, body: Any,
              max_bytes: int) -> Answer:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Fault("timeout", f"no complete answer within {timeout:g}s", transient=True)
    watch = _local.watch = _Watch()
    timer = threading.Timer(left, watch.fire)
    timer.daemon = True
    timer.start()
    response = None
    try:
        response = s.request(method, url, params=params, headers=headers, json=body, timeout=left, stream=True,
                             allow_redirects=False)
        content = bytearray()
        for chunk in response.iter_content(_CHUNK):
            content += chunk
            if len(content) > max_bytes:
                raise Fault("too_large", f"answered more than {max_bytes >> 20} MiB; refused")
        return Answer(response.status_code, response.reason or "", response.headers, bytes(content))
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema):
        raise ConfigError(f"{redact(url)!r} is not a URL that can be asked") from None
    except (requests.RequestException, OSError, ValueError) as exc:  # ValueError: urllib3 on hostile headers
        if watch.fired or isinstance(exc, requests.Timeout):
            raise Fault("timeout", f"no complete answer within {timeout:g}s", transient=True) from None
        what = "refused or dropped the connection" if isinstance(exc, requests.ConnectionError) else (
            f"broke off its answer ({type(exc).__name__})")
        raise Fault("connection", what, transient=True) from None
    finally:
        timer.cancel()
        _local.watch = None
        if response is not None:
            response.close()


def request_json(session: requests.Session, method: str, base: str, path: str, *, server: str,
                 body: Any = None, timeout: float = 10.0, error: type[RemoteError] = RemoteError) -> Any:
    """One request to `base + path` through `fetch`; the JSON it answered (None when empty), or `error`
    saying what went wrong.

    `server` names the peer in messages ("Alertmanager"); `base` appears redacted, never with credentials.
    """
    where = redact(base)
    try:
        answer = fetch(session, method, base + path, timeout=timeout, body=body)
    except Fault as exc:
        verb = "reach" if exc.reason in ("timeout", "connection") else "use"
        raise error(f"cannot {verb} {server} at {where}: {exc}", exc.status,
                    transient=exc.transient) from None
    status = answer.status_code
    if status >= 400:
        detail = printable(answer.text, 300) or answer.reason
        raise error(f"{method} {path} failed: {server} at {where} answered {status}: {detail}", status,
                    transient=status >= 500 or status == 429)
    if not answer.content:
        return None
    try:
        return answer.json()
    except ValueError:
        raise error(f"{method} {path}: {server} at {where} answered {status} with something that is not JSON",
                    status) from None
