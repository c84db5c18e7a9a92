"""The same measurements as OpenTelemetry metrics, per the HTTP semantic conventions.

Off by default: a hook given `otel=None` never imports OpenTelemetry and does no extra work. With
`otel=True` the global meter provider is used; pass a `MeterProvider` to use another one, e.g. the one
`otlp_meter_provider()` builds to export over OTLP.
"""

from __future__ import annotations

import os
from typing import Any

from slokit import names

SERVER_DURATION = "http.server.request.duration"
CLIENT_DURATION = "http.client.request.duration"


class OTelHTTP:
    """Records finished HTTP exchanges into an OTel histogram; attribute sets are cached per label tuple."""

    def __init__(self, meter_provider: Any = None, *, client: bool = False) -> None:
        from opentelemetry import metrics

        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        meter = provider.get_meter("slokit")
        self._client = client
        self._histogram = meter.create_histogram(
            CLIENT_DURATION if client else SERVER_DURATION,
            unit="s",
            description=f"Duration of HTTP {'client' if client else 'server'} requests.",
            explicit_bucket_boundaries_advisory=list(names.BUCKETS),
        )
        self._attributes: dict[tuple[str, str, int, str], dict[str, Any]] = {}

    def _attributes_for(self, route: str, method: str, code: int, outcome: str) -> dict[str, Any]:
        attrs: dict[str, Any] = {"http.request.method": "_OTHER" if method == names.OTHER_METHOD else method}
        if self._client:
            host, _, port = route.rpartition(":")
            attrs["server.address"] = host if port.isdigit() else route
            if port.isdigit():
                attrs["server.port"] = int(port)
        else:
            attrs["http.route"] = route
        if code:
            attrs["http.response.status_code"] = code
        if outcome == names.BAD:
            # semconv: error.type is the status code for 5xx (and whatever the app counts as failed)
            attrs["error.type"] = str(code) if code else "no_response"
        attrs["slokit.outcome"] = outcome
        return attrs

    def record(self, route: str, method: str, code: int, outcome: str, seconds: float) -> None:
        key = (route, method, code, outcome)
        attrs = self._attributes.get(key)
        if attrs is None:
            attrs = self._attributes[key] = self._attributes_for(route, method, code, outcome)
        self._histogram.record(seconds, attrs)


def from_option(otel: Any, *, client: bool = False) -> OTelHTTP | None:
    """A hook's `otel` argument (None/False, True, or a MeterProvider) as a recorder or None."""
    if otel is None or otel is False:
        return None
    return OTelHTTP(None if otel is True else otel, client=client)


def otlp_meter_provider(service: str, *, endpoint: str | None = None, interval_seconds: float = 10.0) -> Any:
    """A MeterProvider exporting over OTLP/HTTP, or None when no endpoint is configured.

    The endpoint comes from the argument or the standard `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` /
    `OTEL_EXPORTER_OTLP_ENDPOINT` variables, so deployments configure it the usual OpenTelemetry way.
    """
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") or (
        base.rstrip("/") + "/v1/metrics" if base else None)
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=endpoint), export_interval_millis=interval_seconds * 1000)
    return MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": service}))
