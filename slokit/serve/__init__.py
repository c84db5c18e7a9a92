"""`slokit serve`: an SLO console over Prometheus: every SLO of some specs, their budgets, burn and alerts.

    console = Console(spec.slos, Prometheus("http://prometheus:9090"), ttl=15)
    server = make_console_server(ConsoleApp(console, Auth.from_env()), "127.0.0.1", 8080)
    server.serve_forever()

It reads the series the generated rules record (docs/ui.md has the pages and the JSON API).
"""

from slokit.serve.app import Auth, ConsoleApp, make_console_server, serve_in_thread
from slokit.serve.console import Alertmanager, Cache, Console, Prometheus, View

__all__ = ["Alertmanager", "Auth", "Cache", "Console", "ConsoleApp", "Prometheus", "View", "make_console_server",
           "serve_in_thread"]
