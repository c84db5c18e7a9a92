"""An instrumented checkout service: the app behind examples/checkout.yml.

    python -m examples.service --port 8000        # then: curl -X POST localhost:8000/pay

One line instruments it (`SLOMiddleware`), so the `http: {route: /pay}` SLIs of examples/checkout.yml read
its metrics as they are. `/pay` calls a payment gateway (in process, measured as a dependency with
`Measure`); make the gateway fail or slow down at run time to burn the error budget:

    curl -X POST 'localhost:8000/admin/gateway?failure_ratio=0.25&latency_ms=0'

Failures are spread evenly (every 4th call for 0.25), not random, so a test or demo sees an exact ratio.
`/livez`, `/readyz` and `/healthz` are the health probes (docs/health.md); `failure_ratio=1` takes the
gateway down, which `/healthz` reports as degraded while the service stays ready.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from slokit.health import Health, HealthMiddleware
from slokit.instrument import Listener, SLOMiddleware, measure
from slokit.instrument.exposition import scrape_registry


class GatewayError(Exception):
    """The payment gateway refused or failed the charge."""


@dataclass
class Gateway:
    """A payment gateway stand-in whose failure ratio and latency are set at run time."""

    failure_ratio: float = 0.0
    latency_ms: float = 0.0
    _debt: float = 0.0

    async def charge(self, amount_cents: int) -> str:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        self._debt += self.failure_ratio
        if self._debt >= 1 - 1e-9:
            self._debt -= 1
            raise GatewayError("gateway unavailable")
        return f"charged {amount_cents}"

    async def ping(self) -> None:
        """The health check: a gateway failing every call is down."""
        if self.failure_ratio >= 1:
            raise GatewayError("gateway unavailable")


def create_app(service: str = "checkout", *, registry: CollectorRegistry = REGISTRY,
               listener: Listener | None = None, gateway: Gateway | None = None,
               health: Health | None = None) -> Starlette:
    gateway = gateway or Gateway()
    health = health or Health()
    # Not critical: every pod shares the gateway, so failing readiness on it would only empty the load
    # balancer; /pay answers 503 and /healthz says why.
    health.check("gateway", gateway.ping, critical=False, timeout=0.5)
    charge = measure(service, "gateway.charge", registry=registry)(gateway.charge)

    async def pay(request: Request) -> JSONResponse:
        try:
            receipt = await charge(int(request.query_params.get("amount", "100")))
        except GatewayError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        return JSONResponse({"receipt": receipt})

    async def order(request: Request) -> JSONResponse:
        return JSONResponse({"order": request.path_params["id"]})

    scraped = scrape_registry(None if registry is REGISTRY else registry)

    async def metrics(request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))  # OpenMetrics: exemplars
        return Response(encode(scraped), media_type=content_type)

    async def set_gateway(request: Request) -> JSONResponse:
        gateway.failure_ratio = float(request.query_params.get("failure_ratio", gateway.failure_ratio))
        gateway.latency_ms = float(request.query_params.get("latency_ms", gateway.latency_ms))
        gateway._debt = 0.0
        return JSONResponse({"failure_ratio": gateway.failure_ratio, "latency_ms": gateway.latency_ms})

    app = Starlette(routes=[
        Route("/pay", pay, methods=["GET", "POST"]),
        Route("/orders/{id}", order),
        Route("/admin/gateway", set_gateway, methods=["POST"]),
        Route("/metrics", metrics),
    ])
    app.add_middleware(SLOMiddleware, service=service, registry=registry, listener=listener)
    app.add_middleware(HealthMiddleware, health=health)  # added last, so outermost: probes are not traffic
    app.state.gateway, app.state.health = gateway, health
    return app


app = create_app()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
