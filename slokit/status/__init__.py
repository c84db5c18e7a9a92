"""The live SLO status page: SLOs with burn and budget, breakers and switches with their last reason.

    board = StatusBoard(runtime, slos)                       # runtime: slokit.runtime.Runtime
    app = SLOMiddleware(app, service="checkout", listener=board.listener())   # engine + budget ledger
    app.mount("/slokit", status_asgi(board))                 # or status_wsgi(board) for WSGI apps
    runtime.start(); board.start()

`slokit status --url http://host/slokit/status.json` prints the same as a table; see docs/demo.md.
"""

from slokit.status.app import status_asgi, status_wsgi
from slokit.status.board import StatusBoard, slo_row
from slokit.status.budget import BudgetCounter, BudgetLedger
from slokit.status.page import render

__all__ = ["StatusBoard", "slo_row", "BudgetCounter", "BudgetLedger", "render", "status_asgi", "status_wsgi"]
