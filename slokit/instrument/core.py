"""The recording core every hook shares: good/bad classification, cached labelled children, fan-out.

A hook (ASGI, WSGI, requests, httpx) only measures a duration and finds the route and status; this module
turns that into one histogram observation, an optional OpenTelemetry record and an optional listener call.
The labelled children are cached per label tuple, so the hot path is one dict lookup and one observe.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from slokit import names


class Observe(Protocol):
    """A labelled child's bound `Histogram.observe`: a duration and, optionally, an exemplar."""

    def __call__(self, amount: float, exemplar: dict[str, str] | None = None, /) -> None: ...


# Called once per finished request with the classification already done: (route, outcome, seconds).
# The in-process burn-rate engine subscribes here, so it never classifies a request a second time.
Listener = Callable[[str, str, float], None]


@dataclass(frozen=True)
class Classification:
    """Which HTTP status codes spend error budget.

    The default follows the Google SRE workbook (ch. 2, "Implementing SLOs"): an availability SLI counts
    requests the *service* failed. 5xx are bad; 4xx are the client's mistake and count as good, so a broken
    client cannot page the service's on-call. 429 is the exception: throttling a client is the service
    refusing work it should do, so it spends budget (set `bad_429=False` when 429 only enforces a quota the
    client agreed to). `bad`/`good` override single codes (e.g. `good={501}` or `bad={404}` for a route
    whose 404 means lost data).
    """

    bad_5xx: bool = True
    bad_429: bool = True
    bad_4xx: bool = False
    bad: frozenset[int] = frozenset()
    good: frozenset[int] = frozenset()

    def outcome(self, code: int) -> str:
        if code in self.good:
            return names.GOOD
        if code in self.bad or code < 100 or code >= 600:  # no or invalid response: the server failed
            return names.BAD
        if code >= 500:
            return names.BAD if self.bad_5xx else names.GOOD
        if code == 429:
            return names.BAD if self.bad_429 else names.GOOD
        if code >= 400:
            return names.BAD if self.bad_4xx else names.GOOD
        return names.GOOD

    def table(self) -> tuple[str, ...]:
        """Outcome per status code 0..599, so the hot path classifies with one index."""
        return tuple(self.outcome(code) for code in range(600))


DEFAULT_CLASSIFICATION = Classification()

# One histogram per (registry, name): several middleware instances (several apps, tests) share it rather than
# failing with prometheus-client's "Duplicated timeseries".
_families: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, Histogram]] = weakref.WeakKeyDictionary()


def histogram(name: str, doc: str, labels: Iterable[str], registry: CollectorRegistry = REGISTRY) -> Histogram:
    """The contract's histogram in `registry`, created on first use."""
    families = _families.setdefault(registry, {})
    family = families.get(name)
    if family is None:
        family = families[name] = Histogram(name, doc, tuple(labels), buckets=names.BUCKETS, registry=registry)
    return family


def method_label(method: str) -> str:
    """The request method, or OTHER for methods outside the standard set (bounded cardinality)."""
    return method if method in names.METHODS else names.OTHER_METHOD


def _trace_exemplar() -> dict[str, str] | None:
    """{"trace_id": ...} when an OpenTelemetry span is sampled in this context, else None."""
    span = _get_current_span()
    if span is _INVALID_SPAN:  # the common case without tracing: one identity check
        return None
    span_context = span.get_span_context()
    if not span_context.is_valid or not span_context.trace_flags.sampled:
        return None
    return {"trace_id": format(span_context.trace_id, "032x")}


try:  # exemplars need only the OpenTelemetry API; without it they are simply off
    from opentelemetry.trace import INVALID_SPAN as _INVALID_SPAN
    from opentelemetry.trace import get_current_span as _get_current_span
except ImportError:  # pragma: no cover - opentelemetry-api is installed wherever the tests run
    # Declared by the imports above; `Recorder.exemplars` is False when they are None, so nothing calls them.
    _get_current_span = None  # type: ignore[assignment]
    _INVALID_SPAN = None  # type: ignore[assignment]


class Recorder:
    """Records finished HTTP exchanges into one contract histogram (server or client side).

    With `exemplars` (on by default) an observation made while an OpenTelemetry span is sampled carries
    its trace id (visible in the OpenMetrics exposition). Without an active span that is one context lookup
    and an identity check (~0.2 µs); without opentelemetry-api installed, nothing.
    """

    def __init__(
        self,
        name: str,
        doc: str,
        labels: tuple[str, ...],
        service: str,
        *,
        registry: CollectorRegistry = REGISTRY,
        classification: Classification = DEFAULT_CLASSIFICATION,
        listener: Listener | None = None,
        otel: Any = None,
        exemplars: bool = True,
    ) -> None:
        self.service = service
        self.family = histogram(name, doc, labels, registry)
        self.outcomes = classification.table()
        self.listener = listener
        self.otel = otel
        self.exemplars = exemplars and _get_current_span is not None
        self._children: dict[tuple[str, str, int, str], Observe] = {}

    def outcome(self, code: int) -> str:
        return self.outcomes[code] if 0 <= code < 600 else names.BAD

    def record(self, route: str, method: str, code: int, outcome: str, seconds: float) -> None:
        """One finished exchange; `route` is a template (server) or a peer (client), never a raw path."""
        key = (route, method, code, outcome)
        observe = self._children.get(key)
        if observe is None:
            label = names.NO_RESPONSE if code == 0 else str(code)
            observe = self._children[key] = self.family.labels(self.service, route, method, label, outcome).observe
        if self.exemplars:
            observe(seconds, _trace_exemplar())
        else:
            observe(seconds)
        if self.otel is not None:
            self.otel.record(route, method, code, outcome, seconds)
        if self.listener is not None:
            self.listener(route, outcome, seconds)


_SIDES = {
    "server": (names.HTTP_SERVER_DURATION, names.HTTP_SERVER_LABELS,
               "Duration of inbound HTTP requests by route template and SLO outcome (slokit)."),
    "client": (names.HTTP_CLIENT_DURATION, names.HTTP_CLIENT_LABELS,
               "Duration of outbound HTTP calls by peer and SLO outcome (slokit)."),
}


def http_recorder(side: str, service: str, **options: Any) -> Recorder:
    """The recorder behind the ASGI/WSGI middleware (`server`: the series the `http` SLI shorthand reads)
    or the requests/httpx hooks (`client`: dependency SLOs)."""
    name, labels, doc = _SIDES[side]
    return Recorder(name, doc, labels, service, **options)
