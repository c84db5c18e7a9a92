"""Silences for silence groups through Alertmanager's v2 API (/api/v2/silences).

Planning is pure (`plan_add`, `plan_expire` turn a group and the silences Alertmanager already has into
`Action`s), so `--dry-run` prints exactly what would be sent. `Client` sends them through
`slokit.http`: retries with exponential backoff on connection errors, 5xx and 429; a clear error on other
4xx. Credentials come from the environment and never appear in messages or reprs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from slokit.errors import ConfigError, RemoteError
from slokit.http import Retry, http_url, redact, request_json, retrying
from slokit.spec.alertmanager import Group, Matcher

ENV_URL = "SLOKIT_ALERTMANAGER_URL"
ENV_TOKEN = "SLOKIT_ALERTMANAGER_TOKEN"  # bearer token; or ..._TOKEN_FILE with the token in a file
ENV_USER = "SLOKIT_ALERTMANAGER_USER"  # basic auth, with ..._PASSWORD or ..._PASSWORD_FILE
ENV_PASSWORD = "SLOKIT_ALERTMANAGER_PASSWORD"
LIVE_STATES = ("active", "pending")
# A re-run within this much of an existing silence's end reuses it unchanged (re-runs are no-ops).
EXTEND_SLACK = timedelta(minutes=1)


class AlertmanagerError(RemoteError):
    """A request Alertmanager refused or that could not be completed; the message is safe to print."""


@dataclass(frozen=True)
class Action:
    """One request to send (or, in a dry run, to print), and why; method None: nothing to send."""

    method: str | None
    path: str
    body: dict[str, Any] | None
    why: str


@dataclass(repr=False)
class Client:
    url: str  # may hold user:password; shown only through `where`
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    attempts: int = 4
    backoff: float = 0.5  # seconds before the 2nd attempt; doubles each time
    timeout: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    @classmethod
    def from_env(cls, url: str | None = None, env: Mapping[str, str] = os.environ, **kwargs: Any) -> Client:
        """A client for `url` (or $SLOKIT_ALERTMANAGER_URL) with a bearer token or basic auth from env."""
        url = url or env.get(ENV_URL)
        if not url:
            raise ConfigError(f"no Alertmanager URL: pass --url or set {ENV_URL}")
        client = cls(http_url(url, "the Alertmanager URL").rstrip("/"), **kwargs)
        token = _secret(env, ENV_TOKEN)
        user, password = env.get(ENV_USER), _secret(env, ENV_PASSWORD)
        if token and (user or password):
            raise ConfigError(f"set either {ENV_TOKEN} or {ENV_USER}/{ENV_PASSWORD}, not both")
        if token:
            client.session.headers["Authorization"] = f"Bearer {token}"
        elif user or password:
            client.session.auth = (user or "", password or "")
        return client

    @property
    def where(self) -> str:
        return redact(self.url)

    def __repr__(self) -> str:
        return f"Client({self.where!r}, attempts={self.attempts}, backoff={self.backoff}, timeout={self.timeout})"

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """JSON of a successful answer; retries transient failures, raises AlertmanagerError otherwise."""
        return retrying(lambda: request_json(self.session, method, self.url, path, server="Alertmanager", body=body,
                                             timeout=self.timeout, error=AlertmanagerError),
                        Retry(self.attempts, self.backoff, self.sleep))

    def silences(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v2/silences") or []

    def send(self, action: Action) -> Any:
        """Send the action's request (an action without a method has nothing to send: None)."""
        return None if action.method is None else self.request(action.method, action.path, action.body)


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """$NAME, or the contents of the file $NAME_FILE (trailing newline dropped)."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {name}_FILE {path}: {exc.strerror}") from None


def _key(matchers: list[dict[str, Any]]) -> frozenset[tuple[str, str, bool, bool]]:
    return frozenset((m["name"], m["value"], bool(m.get("isRegex")), bool(m.get("isEqual", True))) for m in matchers)


def matching(silences: list[dict[str, Any]], matchers: tuple[Matcher, ...], live_only: bool = True
             ) -> list[dict[str, Any]]:
    """Silences with exactly these matchers (order aside), active or pending unless live_only is off."""
    key = _key([m.api() for m in matchers])
    return [s for s in silences if _key(s.get("matchers", [])) == key
            and (not live_only or s.get("status", {}).get("state") in LIVE_STATES)]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def plan_add(group: Group, existing: list[dict[str, Any]], now: datetime, duration: timedelta, author: str,
             comment: str) -> list[Action]:
    """Silences covering the group's alerts until now+duration; an active identical one is reused or extended."""
    ends = now + duration
    actions = []
    for matchers in group.silences():
        text = ", ".join(m.text() for m in matchers)
        body: dict[str, Any] = {"matchers": [m.api() for m in matchers], "startsAt": _stamp(now),
                                "endsAt": _stamp(ends), "createdBy": author,
                                "comment": f"[slokit silence group {group.name}] {comment}"}
        live = sorted(matching(existing, matchers), key=lambda s: s["endsAt"], reverse=True)
        if live and _time(live[0]["endsAt"]) >= ends - EXTEND_SLACK:
            actions.append(Action(None, "", None, f"{{{text}}}: already silenced by {live[0]['id']} until "
                                                    f"{live[0]['endsAt']}"))
            continue
        if live:  # same matchers: Alertmanager updates it in place, so there is still one silence
            body.update(id=live[0]["id"], startsAt=live[0]["startsAt"])
        why = f"{{{text}}}: extend {live[0]['id']}" if live else f"{{{text}}}: new silence"
        actions.append(Action("POST", "/api/v2/silences", body, f"{why} until {_stamp(ends)}"))
    return actions


def plan_expire(group: Group, existing: list[dict[str, Any]]) -> list[Action]:
    """Expire every active or pending silence with one of the group's matcher sets."""
    return [Action("DELETE", f"/api/v2/silence/{s['id']}", None,
                   f"expire {s['id']} ({', '.join(m.text() for m in matchers)})")
            for matchers in group.silences() for s in matching(existing, matchers)]
