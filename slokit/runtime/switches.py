"""Degrade switches: named features the app reads (`if switches.enabled("recommendations")`).

A switch is off while any policy rule that targets it is active, unless a manual override says otherwise.
Overrides come from the environment (`SLOKIT_SWITCH_RECOMMENDATIONS=off`), a file (name: on|off|auto,
re-read by the reloader) or the admin HTTP endpoint (only with a token). `enabled()` is a dict lookup.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from slokit.names import OFF, ON
from slokit.runtime.clock import Clock, system_clock
from slokit.runtime.decisions import Decisions, Transition, UnknownTarget
from slokit.spec.policy import parse_override

ENV_PREFIX = "SLOKIT_SWITCH_"


def env_name(switch: str) -> str:
    return ENV_PREFIX + "".join(c if c.isalnum() else "_" for c in switch).upper()


class Switches:
    def __init__(self, defaults: Mapping[str, bool] | None = None, clock: Clock = system_clock,
                 decisions: Decisions | None = None, environ: Mapping[str, str] = os.environ):
        self.clock, self.decisions = clock, decisions
        self._lock = threading.Lock()
        self._default: dict[str, bool] = {}
        self._policy_off: dict[str, bool] = {}
        self._override: dict[str, tuple[bool, str]] = {}  # name -> (value, where from)
        self._enabled: dict[str, bool] = {}  # the answer, recomputed on every change
        for name, on in (defaults or {}).items():
            self.add(name, on)
        self.read_env(environ)

    def add(self, name: str, default: bool = True) -> None:
        with self._lock:
            self._default[name] = default
            self._policy_off.setdefault(name, False)
            self._enabled[name] = self._compute(name)
        if self.decisions:
            self.decisions.initial(f"switch:{name}", ON if self._enabled[name] else OFF)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._default))

    def policy_held(self, name: str) -> bool:
        """Is the policy holding this switch off (whatever the overrides say)?"""
        return self._policy_off.get(name, False)

    def enabled(self, name: str) -> bool:
        """Is the feature on? A name the policy does not know raises UnknownTarget (a typo must not go unseen)."""
        try:
            return self._enabled[name]
        except KeyError:
            raise UnknownTarget("switch", name, self._default) from None

    def _compute(self, name: str) -> bool:
        if name in self._override:
            return self._override[name][0]
        return self._default.get(name, True) and not self._policy_off.get(name, False)

    def _update(self, name: str, reason: str, **why: Any) -> None:
        """Recompute one switch (lock held) and report a change."""
        old = self._enabled.get(name, True)
        new = self._compute(name)
        self._enabled[name] = new
        if new != old and self.decisions:
            self.decisions.transition(Transition(self.clock(), f"switch:{name}", ON if old else OFF,
                                                 ON if new else OFF, reason, **why))

    def policy_off(self, name: str, slo: str | None = None, burn: dict[str, float] | None = None,
                   threshold: float | None = None, reason: str = "policy") -> None:
        with self._lock:
            self._default.setdefault(name, True)
            self._policy_off[name] = True
            self._update(name, reason, slo=slo, burn=burn or {}, threshold=threshold)

    def policy_on(self, name: str, slo: str | None = None, burn: dict[str, float] | None = None,
                  threshold: float | None = None, reason: str = "policy_recovered") -> None:
        with self._lock:
            self._policy_off[name] = False
            self._update(name, reason, slo=slo, burn=burn or {}, threshold=threshold)

    def override(self, name: str, value: bool | None, where: str = "manual") -> None:
        """Force a switch on/off (None: back to the policy)."""
        with self._lock:
            self._default.setdefault(name, True)
            if value is None:
                self._override.pop(name, None)
            else:
                self._override[name] = (value, where)
            self._update(name, f"override:{where}")

    def read_env(self, environ: Mapping[str, str] = os.environ) -> None:
        for name in list(self._default):
            value = environ.get(env_name(name))
            if value is not None:
                self.override(name, parse_override(value), "env")

    def apply_overrides(self, values: Mapping[str, bool | None], where: str = "file") -> None:
        """Set the overrides from one source (a file): names it no longer lists go back to the policy."""
        for name, (_, source) in list(self._override.items()):
            if source == where and name not in values:
                self.override(name, None, where)
        for name, value in values.items():
            self.override(name, value, where)

    def state(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {n: {"enabled": self._enabled[n], "policy_off": self._policy_off.get(n, False),
                        "override": self._override.get(n, (None, None))[0],
                        "override_from": self._override.get(n, (None, None))[1]} for n in sorted(self._default)}


def admin_app(switches: Switches, token: str) -> Callable[..., Any]:
    """A WSGI app: GET /switches (state), PUT or POST /switches/<name> with body on|off|auto.

    Every request needs `Authorization: Bearer <token>`; without a token there is no endpoint.
    """
    if not token:
        raise ValueError("the admin endpoint needs a token")
    expected = f"Bearer {token}".encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        def answer(status: str, body: Any) -> list[bytes]:
            data = json.dumps(body, sort_keys=True).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return [data]

        given = environ.get("HTTP_AUTHORIZATION", "").encode()
        if not hmac.compare_digest(given, expected):
            return answer("401 Unauthorized", {"error": "missing or wrong token"})
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path in ("/switches", "/switches/") and method == "GET":
            return answer("200 OK", switches.state())
        if path.startswith("/switches/") and method in ("PUT", "POST"):
            name = path[len("/switches/"):]
            if name not in switches.names:
                return answer("404 Not Found", {"error": f"no switch {name!r}"})
            length = environ.get("CONTENT_LENGTH") or "0"
            if not (length.isascii() and length.isdigit()):  # "abc", "-1": the client's mistake, a 400
                return answer("400 Bad Request", {"error": "Content-Length is not a number"})
            body = environ["wsgi.input"].read(min(int(length), 64)).decode(errors="replace")  # never more
            try:
                value = parse_override(body)
            except ValueError as exc:
                return answer("400 Bad Request", {"error": str(exc)})
            switches.override(name, value, "http")
            return answer("200 OK", switches.state()[name])
        return answer("404 Not Found", {"error": "GET /switches or PUT /switches/<name>"})

    return app
