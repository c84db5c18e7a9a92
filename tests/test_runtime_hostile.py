"""The runtime against odd input and timing: a client's bad Content-Length on the admin endpoint, a policy
reload in the middle of a breaker's probes."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

from slokit.names import HALF_OPEN, OPEN
from slokit.runtime import Breaker, Decisions, ManualClock
from slokit.runtime.switches import Switches, admin_app
from slokit.spec.policy import BreakerConfig


def put(app, body: bytes, length: str) -> tuple[str, dict]:
    environ: dict = {"REQUEST_METHOD": "PUT", "PATH_INFO": "/switches/recommendations", "CONTENT_LENGTH": length,
                     "HTTP_AUTHORIZATION": "Bearer s3cret", "wsgi.input": io.BytesIO(body)}
    setup_testing_defaults(environ)
    answered: list[str] = []
    chunks = app(environ, lambda status, headers: answered.append(status))
    return answered[0], json.loads(b"".join(chunks))


def test_a_content_length_that_is_not_a_number_is_a_400_not_a_500():
    switches = Switches({"recommendations": True}, ManualClock(), Decisions())
    app = admin_app(switches, "s3cret")
    assert put(app, b"off", "abc") == ("400 Bad Request", {"error": "Content-Length is not a number"})
    assert put(app, b"off", "-1")[0] == "400 Bad Request" and switches.enabled("recommendations")
    assert put(app, b"off", "3")[0] == "200 OK" and not switches.enabled("recommendations")


def test_a_reload_during_the_probes_starts_a_full_new_round_of_probes():
    clock = ManualClock()
    config = BreakerConfig(window_size=10, min_calls=5, open_for=10, half_open_probes=3)
    breaker = Breaker("payments", config, clock=clock)
    for _ in range(5):
        assert breaker.allow()
        breaker.record(False)
    assert breaker.state == OPEN
    clock.advance(11)
    for _ in range(2):  # two of the three probes pass
        assert breaker.allow()
        breaker.record(True)
    assert breaker.state == HALF_OPEN
    breaker.configure(BreakerConfig(window_size=10, min_calls=5, open_for=10, half_open_probes=3, slow_call=30))
    probes = 0
    while breaker.state == HALF_OPEN and probes < 10:
        assert breaker.allow(), "half-open, yet no probe admitted: stuck for good"
        breaker.record(True)
        probes += 1
    assert breaker.state != HALF_OPEN and probes == 3  # the new probe window got a whole round
