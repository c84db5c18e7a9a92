"""The server side of `Idempotency-Key`: a payments endpoint that charges once per key, on Starlette and Flask.

    uvicorn --factory examples.idempotency:starlette_app          # or
    gunicorn 'examples.idempotency:flask_app()'
    curl -X POST localhost:8000/payments -H 'Idempotency-Key: "order-17"' -d '{"amount": 100}'

`slokit.retry` retries a POST only when it carries a key (the caller's, or its own with
`RetryPolicy(idempotency_keys=True)`), and sends the same key on every attempt. That is safe only if the
server keeps this contract (draft-ietf-httpapi-idempotency-key-header):

1. A request with a new key is processed, and its response (status and body) is stored under the key for
   `ttl` (24 hours here), with a fingerprint of the request (method, path, body).
2. The same key and fingerprint after that request finished: the stored response again, marked
   `Idempotent-Replayed: true`; nothing else happens.
3. The same key while the first request is still processing: 409 Conflict with Retry-After; nothing happens.
4. The same key with another fingerprint: 422. A malformed key, or two of them: 400. Nothing happens.
5. A 5xx answer is not stored: the handler must leave no effect behind when it fails (roll back), so a
   retry does the work, once.
6. No key: every request is a new payment. That is why slokit never retries a POST without one.

The store here is in memory, so it serves one process. Across processes or restarts keep the keys where
every instance sees them (a unique constraint in the payments database, or Redis `SET key NX EX ttl`) and
scope them by client (the draft's advice: a key is only unique per client); the contract stays the same.
`lose_first` and `slow_first` inject the faults a retry exists for: a response lost after the payment was
made (a proxy answers 502), and a first attempt slower than the client's timeout.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask
from flask import Response as FlaskResponse
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Answer = tuple[int, dict[str, str], bytes]  # status, headers, body
MAX_KEY = 255


def problem(status: int, title: str, extra: dict[str, str] | None = None) -> Answer:
    body = json.dumps({"status": status, "title": title}).encode()
    return status, {"Content-Type": "application/problem+json", **(extra or {})}, body


def parse_key(value: str) -> str | None:
    """The key of an `Idempotency-Key` value: a structured-field string ("...") or, as many clients send
    it, a bare token; printable ASCII, at most 255 characters. None when malformed."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
        if "\\" in value or '"' in value:
            return None  # escapes are legal in sf-strings, but no key needs one
    if not 0 < len(value) <= MAX_KEY or not all(" " <= ch <= "~" for ch in value):
        return None
    return value


@dataclass
class _Entry:
    fingerprint: str
    expires: float
    answer: Answer | None = None  # None while the first request is processing


class Store:
    """Keys -> the first response, for `ttl` seconds. Thread-safe."""

    def __init__(self, ttl: float = 86400.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def begin(self, key: str, fingerprint: str) -> Answer | None:
        """None: process the request (the key is now taken). Otherwise the answer to give instead."""
        with self._lock:
            now = self.clock()
            entry = self._entries.get(key)
            if entry is not None and entry.expires <= now:
                entry = None
            if entry is None:
                if len(self._entries) > 10_000:  # forget the expired ones now and then
                    self._entries = {k: e for k, e in self._entries.items() if e.expires > now}
                self._entries[key] = _Entry(fingerprint, now + self.ttl)
                return None
            if entry.fingerprint != fingerprint:
                return problem(422, "Idempotency-Key is already used for another request")
            if entry.answer is None:
                return problem(409, "A request with this Idempotency-Key is being processed", {"Retry-After": "1"})
            status, headers, body = entry.answer
            return status, {**headers, "Idempotent-Replayed": "true"}, body

    def finish(self, key: str, answer: Answer) -> None:
        """Store the answer; a 5xx is forgotten instead, so a retry processes the request again."""
        with self._lock:
            if answer[0] >= 500:
                self._entries.pop(key, None)
            elif key in self._entries:
                self._entries[key].answer = answer


class Payments:
    """POST /payments {"amount": cents} -> 201 {"id", "amount"}; the ledger is the effect a test counts."""

    def __init__(self, store: Store | None = None, lose_first: int = 0, slow_first: float = 0.0) -> None:
        self.store = store or Store()
        self.ledger: list[int] = []
        self.lose_first, self.slow_first = lose_first, slow_first
        self._lock = threading.Lock()
        self._answered = self._charged = 0

    def create(self, keys: Sequence[str], path: str, body: bytes) -> Answer:
        if not keys:
            return self._deliver(self._charge(body))  # no key: a new payment every time
        key = parse_key(keys[0]) if len(keys) == 1 else None
        if key is None:
            return self._deliver(problem(400, "Idempotency-Key must be one string of 1 to 255 characters"))
        fingerprint = hashlib.sha256(b"POST " + path.encode() + b"\n" + body).hexdigest()
        earlier = self.store.begin(key, fingerprint)
        if earlier is not None:
            return self._deliver(earlier)
        try:
            answer = self._charge(body)
        except BaseException:
            self.store.finish(key, problem(500, "payment failed"))  # the key is free again
            raise
        self.store.finish(key, answer)
        return self._deliver(answer)

    def _charge(self, body: bytes) -> Answer:
        try:
            amount = json.loads(body or b"{}")["amount"]
            if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return problem(400, 'the body must be {"amount": <positive integer cents>}')
        with self._lock:
            first, self._charged = self._charged == 0, self._charged + 1
        if first and self.slow_first:
            time.sleep(self.slow_first)
        with self._lock:
            self.ledger.append(amount)
            number = len(self.ledger)
        return 201, {"Content-Type": "application/json"}, json.dumps({"id": f"pay_{number}", "amount": amount}).encode()

    def _deliver(self, answer: Answer) -> Answer:
        """The first `lose_first` answers are lost on the way back: the client sees a proxy's 502."""
        with self._lock:
            lost, self._answered = self._answered < self.lose_first, self._answered + 1
        return problem(502, "Bad Gateway") if lost else answer


def starlette_app(lose_first: int = 0, slow_first: float = 0.0, ttl: float = 86400.0) -> Starlette:
    payments = Payments(Store(ttl), lose_first, slow_first)

    async def create(request: Request) -> Response:
        body = await request.body()
        status, headers, data = await run_in_threadpool(payments.create, request.headers.getlist("idempotency-key"),
                                                        request.url.path, body)
        return Response(data, status, headers)

    async def count(request: Request) -> JSONResponse:
        return JSONResponse({"payments": len(payments.ledger)})

    app = Starlette(routes=[Route("/payments", create, methods=["POST"]), Route("/payments", count, methods=["GET"])])
    app.state.payments = payments
    return app


def flask_app(lose_first: int = 0, slow_first: float = 0.0, ttl: float = 86400.0) -> Flask:
    payments = Payments(Store(ttl), lose_first, slow_first)
    app = Flask("payments")

    @app.post("/payments")
    def create() -> FlaskResponse:
        status, headers, data = payments.create(flask_request.headers.getlist("Idempotency-Key"), flask_request.path,
                                                flask_request.get_data())
        return FlaskResponse(data, status, headers)

    @app.get("/payments")
    def count() -> dict[str, int]:
        return {"payments": len(payments.ledger)}

    return app
