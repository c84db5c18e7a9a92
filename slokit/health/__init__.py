"""Health probes that know the runtime: `/livez`, `/readyz`, `/healthz` (docs/health.md).

    health = Health(runtime)                                   # runtime optional
    health.check("db", ping_db, critical=True, timeout=0.5)    # sync or async
    app.add_middleware(HealthMiddleware, health=health)        # Starlette, after SLOMiddleware
    app.wsgi_app = health.wsgi(app.wsgi_app)                   # Flask, outside SLOWSGIMiddleware
"""

from slokit.health.app import HealthMiddleware, HealthWSGIMiddleware
from slokit.health.checks import Check, Result
from slokit.health.health import Health, Report
from slokit.health.readiness import Component

__all__ = ["Check", "Component", "Health", "HealthMiddleware", "HealthWSGIMiddleware", "Report", "Result"]
