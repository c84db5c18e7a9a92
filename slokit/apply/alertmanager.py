"""Silences for silence groups through Alertmanager's v2 API (/api/v2/silences).

Planning is pure (`plan_add`, `plan_expire` turn a group and the silences Alertmanager already has into
`Action`s), so `--dry-run` prints exactly what would be sent. `Client` sends them through
`slokit.http` (a total deadline per request, bounded answers, redirects of a POST reported, not followed):
GET and DELETE retried with exponential backoff on connection errors, timeouts, 5xx and 429; a clear
error on other 4xx. A POST creates a silence, so it is never sent again blindly: Alertmanager may have
stored it and lost only the answer, so after a failure the silences are read again and one that already
covers the matchers until the end is the answer. Every silence read is checked for the fields planning
uses. Credentials come from the environment and never appear in messages or reprs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from slokit.errors import ConfigError, RemoteError
from slokit.http import Retry, http_url, new_session, printable, redact, request_json, retrying
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
    session: requests.Session = field(default_factory=new_session, repr=False)
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

    def _once(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return request_json(self.session, method, self.url, path, server="Alertmanager", body=body,
                            timeout=self.timeout, error=AlertmanagerError)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """JSON of a successful answer; a GET or DELETE is retried on transient failures, a POST is sent
        once (see `create`). AlertmanagerError otherwise."""
        if method == "POST":
            return self._once(method, path, body)
        return retrying(lambda: self._once(method, path, body), Retry(self.attempts, self.backoff, self.sleep))

    def silences(self) -> list[dict[str, Any]]:
        """Every silence Alertmanager has; AlertmanagerError if any lacks what planning reads."""
        answer = self.request("GET", "/api/v2/silences")
        if answer is None:
            return []
        problem = _not_silences(answer)
        if problem:
            raise AlertmanagerError(f"GET /api/v2/silences: Alertmanager at {self.where} answered something that "
                                    f"is not a list of silences: {problem}")
        return list(answer)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST a silence, and never store it twice: after a failure that may have stored it (5xx, timeout,
        a dropped connection) read the silences again; one covering the body's matchers until its end is
        the answer ({"silenceID": ..., "recovered": True}), else POST again, at most `attempts` times."""
        retry = Retry(self.attempts, self.backoff, self.sleep)
        for attempt in range(1, retry.attempts + 1):
            try:
                answer = self._once("POST", "/api/v2/silences", body)
                return answer if isinstance(answer, dict) else {}
            except AlertmanagerError as exc:
                if not exc.transient or attempt == retry.attempts:
                    if exc.transient:
                        exc.args = (f"{exc} (gave up after {attempt} attempts)",)
                    raise
                retry.sleep(retry.backoff * 2 ** (attempt - 1))
                stored = [s for s in self.silences() if covers(s, body)]
                if stored:
                    return {"silenceID": stored[0]["id"], "recovered": True}
        raise AssertionError("attempts must be at least 1")

    def send(self, action: Action) -> Any:
        """Send the action's request (an action without a method has nothing to send: None)."""
        if action.method is None:
            return None
        if action.method == "POST" and action.body is not None:
            return self.create(action.body)
        return self.request(action.method, action.path, action.body)


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


def _not_silences(answer: Any) -> str:
    """What is wrong with a GET /api/v2/silences answer, for the fields planning reads ("" when nothing)."""
    if not isinstance(answer, list):
        return f"a JSON {type(answer).__name__}"
    for i, s in enumerate(answer):
        if not isinstance(s, dict) or not isinstance(s.get("id"), str):
            return f"item {i} has no id"
        matchers, status = s.get("matchers"), s.get("status")
        if not isinstance(matchers, list) or not all(
                isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("value"), str)
                for m in matchers):
            return f"silence {printable(s['id'], 40)!r} has no list of name/value matchers"
        if not isinstance(status, dict) or not isinstance(status.get("state"), str):
            return f"silence {printable(s['id'], 40)!r} has no status.state"
        for when in ("startsAt", "endsAt"):
            try:
                _time(s.get(when))
            except ValueError:
                return f"silence {printable(s['id'], 40)!r} has no {when} time with a zone"
    return ""


def _key(matchers: list[dict[str, Any]]) -> frozenset[tuple[str, str, bool, bool]]:
    return frozenset((m["name"], m["value"], bool(m.get("isRegex")), bool(m.get("isEqual", True))) for m in matchers)


def matching(silences: list[dict[str, Any]], matchers: tuple[Matcher, ...], live_only: bool = True
             ) -> list[dict[str, Any]]:
    """Silences with exactly these matchers (order aside), active or pending unless live_only is off."""
    key = _key([m.api() for m in matchers])
    return [s for s in silences if _key(s.get("matchers", [])) == key
            and (not live_only or s.get("status", {}).get("state") in LIVE_STATES)]


def _time(text: Any) -> datetime:
    """An Alertmanager time (RFC 3339); ValueError unless it is one, with its zone."""
    if not isinstance(text, str):
        raise ValueError("not a time")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a time without a zone")
    return moment


def covers(silence: dict[str, Any], body: dict[str, Any]) -> bool:
    """Does this live silence already do what `body` asks: the same matchers until (nearly) its end?"""
    return (silence.get("status", {}).get("state") in LIVE_STATES
            and _key(silence["matchers"]) == _key(body["matchers"])
            and _time(silence["endsAt"]) >= _time(body["endsAt"]) - EXTEND_SLACK)


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
        live = sorted(matching(existing, matchers), key=lambda s: _time(s["endsAt"]), reverse=True)
        if live and covers(live[0], body):
            actions.append(Action(None, "", None, f"{{{text}}}: already silenced by {printable(live[0]['id'], 80)} "
                                                    f"until {printable(live[0]['endsAt'], 40)}"))
            continue
        if live:  # same matchers: Alertmanager updates it in place, so there is still one silence
            body.update(id=live[0]["id"], startsAt=live[0]["startsAt"])
        why = f"{{{text}}}: extend {printable(live[0]['id'], 80)}" if live else f"{{{text}}}: new silence"
        actions.append(Action("POST", "/api/v2/silences", body, f"{why} until {_stamp(ends)}"))
    return actions


def plan_expire(group: Group, existing: list[dict[str, Any]]) -> list[Action]:
    """Expire every active or pending silence with one of the group's matcher sets."""
    return [Action("DELETE", f"/api/v2/silence/{quote(s['id'], safe='')}", None,
                   f"expire {printable(s['id'], 80)} ({', '.join(m.text() for m in matchers)})")
            for matchers in group.silences() for s in matching(existing, matchers)]
