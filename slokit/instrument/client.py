"""Outbound HTTP: dependency SLOs (a payment gateway's availability, as this service sees it).

    instrument_session(session, service="checkout")                                # requests
    httpx.Client(transport=SLOTransport(service="checkout"))                       # httpx
    httpx.AsyncClient(transport=AsyncSLOTransport(service="checkout"))

Each call is one observation of `names.HTTP_CLIENT_DURATION`, labelled with the peer (`host:port`, never
the URL path), method, status and outcome. The duration runs until the response headers arrived (what
requests and httpx return before the body is read). A call that got no response (connection refused,
timeout) is code `names.NO_RESPONSE` and bad; the exception still propagates.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

import requests
from prometheus_client import REGISTRY, CollectorRegistry
from requests.adapters import BaseAdapter, HTTPAdapter

from slokit import names
from slokit.http import host_port
from slokit.instrument import otel as otel_module
from slokit.instrument.core import (
    DEFAULT_CLASSIFICATION,
    Classification,
    Listener,
    Recorder,
    http_recorder,
    method_label,
)


def _recorder(service: str, *, registry: CollectorRegistry = REGISTRY,
              classification: Classification = DEFAULT_CLASSIFICATION,
              listener: Listener | None = None, otel: Any = None) -> Recorder:
    """The options every outbound hook takes, as `SLOMiddleware`'s: registry, classification, listener, otel."""
    return http_recorder("client", service, registry=registry, classification=classification, listener=listener,
                         otel=otel_module.from_option(otel, client=True))


class SLOAdapter(BaseAdapter):
    """A requests transport adapter that measures the adapter it wraps (retries and pools stay as set)."""

    def __init__(self, service: str, inner: BaseAdapter | None = None, **options: Any) -> None:
        super().__init__()
        self.inner = inner if inner is not None else HTTPAdapter()
        self.recorder = _recorder(service, **options)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        start = perf_counter()
        target, method = host_port(request.url or ""), method_label(request.method or "GET")
        try:
            response = self.inner.send(request, *args, **kwargs)
        except BaseException:
            self.recorder.record(target, method, 0, names.BAD, perf_counter() - start)
            raise
        code = response.status_code
        self.recorder.record(target, method, code, self.recorder.outcome(code), perf_counter() - start)
        return response

    def close(self) -> None:
        self.inner.close()


def instrument_session(session: requests.Session, service: str, **options: Any) -> requests.Session:
    """Wrap every adapter mounted on `session` (http://, https://, custom) in an `SLOAdapter`."""
    for prefix, adapter in list(session.adapters.items()):
        if not isinstance(adapter, SLOAdapter):
            session.mount(prefix, SLOAdapter(service, adapter, **options))
    return session


try:
    import httpx
except ImportError:  # httpx is optional: the requests hook works without it
    httpx = None  # type: ignore[assignment]

if httpx is not None:

    class SLOTransport(httpx.BaseTransport):
        """An httpx transport measuring the transport it wraps (default: `httpx.HTTPTransport()`)."""

        def __init__(self, service: str, inner: httpx.BaseTransport | None = None, **options: Any) -> None:
            self.inner = inner if inner is not None else httpx.HTTPTransport()
            self.recorder = _recorder(service, **options)

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            start = perf_counter()
            try:
                response = self.inner.handle_request(request)
            except BaseException:
                _record_httpx(self.recorder, request, 0, start)
                raise
            _record_httpx(self.recorder, request, response.status_code, start)
            return response

        def close(self) -> None:
            self.inner.close()

    class AsyncSLOTransport(httpx.AsyncBaseTransport):
        """The async twin of `SLOTransport` (default inner: `httpx.AsyncHTTPTransport()`)."""

        def __init__(self, service: str, inner: httpx.AsyncBaseTransport | None = None, **options: Any) -> None:
            self.inner = inner if inner is not None else httpx.AsyncHTTPTransport()
            self.recorder = _recorder(service, **options)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            start = perf_counter()
            try:
                response = await self.inner.handle_async_request(request)
            except BaseException:
                _record_httpx(self.recorder, request, 0, start)
                raise
            _record_httpx(self.recorder, request, response.status_code, start)
            return response

        async def aclose(self) -> None:
            await self.inner.aclose()

    def _record_httpx(recorder: Recorder, request: httpx.Request, code: int, start: float) -> None:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        recorder.record(  # code 0 (no response) classifies as bad
            f"{url.host}:{port}", method_label(request.method), code, recorder.outcome(code), perf_counter() - start)
