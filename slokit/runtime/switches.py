"""Degrade switches: named features the app reads (`if switches.enabled("recommendations")`).

A switch is off while any policy rule that targets it is active, unless a manual override says otherwise;
when the rule recovers it ramps back (a growing share of users, by a stable hash of the key the app passes).
Overrides come from the environment (`SLOKIT_SWITCH_RECOMMENDATIONS=off`), a file (name: on|off|auto,
re-read by the reloader) or the admin HTTP endpoint (only with a token). `enabled()` is a dict lookup and a
comparison (a hash of the key only while ramping).
"""

from __future__ import annotations

import hmac
import json
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from slokit.names import OFF, ON, RAMP
from slokit.runtime.clock import Clock, system_clock
from slokit.runtime.decisions import Decisions, Transition, UnknownTarget
from slokit.runtime.ramp import Stepper
from slokit.spec.policy import Ramp, parse_override

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
        self._ramps: dict[str, Ramp] = {}  # name -> how it comes back after the policy let go
        self._ramping: dict[str, Stepper] = {}  # switches on their way back
        self._share: dict[str, float] = {}  # the answer: 1 on, 0 off, between while ramping; recomputed on change
        for name, on in (defaults or {}).items():
            self.add(name, on)
        self.read_env(environ)

    def add(self, name: str, default: bool = True, ramp: Ramp | None = None) -> None:
        with self._lock:
            self._default[name] = default
            self._policy_off.setdefault(name, False)
            if ramp is not None:
                self._ramps[name] = ramp
            self._share[name] = self._compute(name)
        if self.decisions:
            self.decisions.initial(f"switch:{name}", ON if self._share[name] else OFF)

    def set_ramp(self, name: str, ramp: Ramp) -> None:
        self._ramps[name] = ramp

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._default))

    def policy_held(self, name: str) -> bool:
        """Is the policy holding this switch off (whatever the overrides say)?"""
        return self._policy_off.get(name, False)

    def enabled(self, name: str, key: object | None = None) -> bool:
        """Is the feature on (for this user)? While a switch ramps back, a stable hash of `key` decides, so a
        user keeps one experience; without a key, calls are let in evenly. A name the policy does not know
        raises UnknownTarget (a typo must not go unseen)."""
        try:
            share = self._share[name]
        except KeyError:
            raise UnknownTarget("switch", name, self._default) from None
        if share >= 1.0:
            return True
        if share <= 0.0:
            return False
        ramp = self._ramping.get(name)
        return ramp.admits(key) if ramp is not None else True

    def _compute(self, name: str) -> float:
        if name in self._override:
            return 1.0 if self._override[name][0] else 0.0
        if not self._default.get(name, True) or self._policy_off.get(name, False):
            return 0.0
        ramp = self._ramping.get(name)
        return ramp.share if ramp is not None else 1.0

    def _update(self, name: str, reason: str, **why: Any) -> None:
        """Recompute one switch (lock held) and report a change."""
        old = self._share.get(name, 1.0)
        new = self._compute(name)
        self._share[name] = new
        if new != old and self.decisions:
            if new not in (0.0, 1.0):
                why["detail"] = {**why.get("detail", {}), "admit_percent": round(new * 100, 6)}
            self.decisions.transition(Transition(self.clock(), f"switch:{name}", _state(old), _state(new), reason,
                                                 **why))

    def policy_off(self, name: str, slo: str | None = None, burn: dict[str, float] | None = None,
                   threshold: float | None = None, reason: str = "policy",
                   detail: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._default.setdefault(name, True)
            self._policy_off[name] = True
            self._ramping.pop(name, None)
            self._update(name, reason, slo=slo, burn=burn or {}, threshold=threshold, detail=detail or {})

    def policy_on(self, name: str, slo: str | None = None, burn: dict[str, float] | None = None,
                  threshold: float | None = None, reason: str = "policy_recovered",
                  detail: dict[str, Any] | None = None) -> None:
        """The rule recovered: the switch ramps back (or comes straight on, without ramp steps)."""
        with self._lock:
            ramp = self._ramps.get(name)
            if self._policy_off.get(name) and ramp is not None and ramp.steps:
                self._ramping[name] = Stepper(ramp, self.clock())
            self._policy_off[name] = False
            self._update(name, reason, slo=slo, burn=burn or {}, threshold=threshold, detail=detail or {})

    def tick(self) -> None:
        """Move ramps on whose step is over (the runtime calls this at every evaluation)."""
        if not self._ramping:
            return
        with self._lock:
            now = self.clock()
            for name, ramp in list(self._ramping.items()):
                if now < ramp.until:
                    continue
                if ramp.step(now):
                    if self._share.get(name) not in (0.0, 1.0):
                        self._share[name] = self._compute(name)
                        self._report_step(name, ramp)
                else:
                    del self._ramping[name]
                    self._update(name, "ramp_done")

    def _report_step(self, name: str, ramp: Stepper) -> None:
        if self.decisions:
            self.decisions.transition(Transition(self.clock(), f"switch:{name}", RAMP, RAMP, "ramp_step",
                                                 detail={"admit_percent": ramp.percent}))

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
            return {n: {"enabled": self._share[n] > 0, "share": self._share[n], "state": _state(self._share[n]),
                        "policy_off": self._policy_off.get(n, False),
                        "override": self._override.get(n, (None, None))[0],
                        "override_from": self._override.get(n, (None, None))[1]} for n in sorted(self._default)}


def _state(share: float) -> str:
    return ON if share >= 1.0 else OFF if share <= 0.0 else RAMP


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
