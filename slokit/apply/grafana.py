"""Upload dashboards to Grafana with grafana-client.

Only changed dashboards are written (compared by uid with what Grafana holds), so `apply` can run on
every deploy without bumping dashboard versions. The URL and token come from GRAFANA_URL and
GRAFANA_TOKEN; the token is never printed, and user:password in the URL is left out of messages.
grafana-client builds the requests and reads the statuses; slokit.http carries them (`_Transport`), so
Grafana gets the same total deadline, bounded answers and redirect rules as every other server, and each
answer's shape is checked before it is used. (Annotations for runtime decisions are posted by
slokit.runtime.annotations, which needs no grafana-client.)
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaException, GrafanaServerError, GrafanaTimeoutError

from slokit.errors import ConfigError, InputError, Problem, RemoteError
from slokit.generate.dashboards import render
from slokit.http import DEFAULT_RETRY, Answer, Fault, Retry, fetch, http_url, new_session, printable, redact, retrying

DEFAULT_FOLDER = "SLOs"
DEFAULT_FOLDER_UID = "slokit"
STATUSES = ("created", "updated", "unchanged", "failed")
_VOLATILE = ("id", "version")  # Grafana assigns these; they never mean the content changed


class GrafanaError(RemoteError):
    """A request failed; the message says what to do about it. Raised out of `apply` it stops the whole
    run (the folder is unusable, the token was rejected); for one dashboard it only fails that one."""


@dataclass(frozen=True)
class Result:
    uid: str
    title: str
    status: str  # one of STATUSES
    detail: str = ""
    diff: str = ""
    dry_run: bool = False

    def line(self) -> str:
        verb = {"created": "would create", "updated": "would update"}.get(self.status) if self.dry_run else None
        text = f"{verb or self.status:<12} {self.uid}  ({self.title})"
        return f"{text}: {self.detail}" if self.detail else text


def connect(url: str | None = None, token: str | None = None, timeout: float = 10.0) -> GrafanaApi:
    """A client for GRAFANA_URL with GRAFANA_TOKEN (a service account token), unless given."""
    url = url or os.environ.get("GRAFANA_URL")
    token = token or os.environ.get("GRAFANA_TOKEN") or None
    if not url:
        raise ConfigError("GRAFANA_URL is not set (e.g. export GRAFANA_URL=https://grafana.example.com)")
    http_url(url, "GRAFANA_URL")
    if not urlsplit(url).path.endswith("/"):
        url += "/"  # grafana-client appends "api" to the path: a sub-path needs its slash
    api: GrafanaApi = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    api.client.s = _Transport(api.client.s.headers, redact(url))  # type: ignore[assignment]  # duck-typed session
    return api


class _Headers:
    """What grafana-client's auth objects (token, basic) are given: they only set headers."""

    def __init__(self, headers: dict[str, str]):
        self.headers = headers


class _Transport:
    """Stands in for grafana-client's HTTP session: the same `request` call, carried by slokit.http."""

    def __init__(self, headers: Mapping[str, str], where: str):
        self.headers, self.where = dict(headers), where
        self.session = new_session()

    def request(self, method: str, url: str, json: Any = None, data: Any = None, params: Any = None,
                headers: Mapping[str, str] | None = None, auth: Any = None, verify: bool = True,
                timeout: float | tuple[float, float] = 10.0) -> Answer:
        if data is not None:
            raise TypeError("slokit sends Grafana JSON bodies only")
        sent = {**self.headers, **(headers or {})}
        if auth is not None:
            sent = auth(_Headers(sent)).headers
        self.session.verify = verify
        seconds = sum(timeout) if isinstance(timeout, tuple) else timeout
        try:
            return fetch(self.session, method.upper(), url, timeout=seconds, params=params, headers=sent, body=json)
        except Fault as exc:
            verb = "reach" if exc.reason in ("timeout", "connection") else "use"
            raise GrafanaError(f"cannot {verb} Grafana at {self.where}: {exc}", exc.status, exc.transient) from None


def _explain(exc: GrafanaException, what: str) -> GrafanaError:
    status = exc.status_code
    if status == 401:
        return GrafanaError(f"{what}: 401 Unauthorized: Grafana rejected the credentials; check GRAFANA_TOKEN", 401)
    if status == 403:
        return GrafanaError(f"{what}: 403 Forbidden: the token lacks permission (it needs the Editor role or "
                            f"dashboards:write and folders:create)", 403)
    if status == 404:
        return GrafanaError(f"{what}: 404 Not Found: is GRAFANA_URL Grafana's root URL, with its sub-path?", 404)
    return GrafanaError(f"{what}: {printable(str(exc.message), 300)}", status or 0)


def _shaped(answer: Any, what: str, kind: type, key: str | None = None) -> Any:
    """`answer` if it is a `kind` (with a string `key`, for an object); GrafanaError saying it is not."""
    keyed = key is None or (isinstance(answer, dict) and isinstance(answer.get(key), str))
    if not isinstance(answer, kind) or not keyed:
        wanted = f"a JSON {'object' if kind is dict else 'list'}" + (f" with a {key!r}" if key else "")
        raise GrafanaError(f"{what}: Grafana answered something that is not {wanted}")
    return answer


def call(what: str, fn: Callable[..., Any], *args: Any, retry: Retry = DEFAULT_RETRY) -> Any:
    """Run one grafana-client call; retry 5xx/timeouts/connection errors, turn failures into GrafanaError."""

    def once() -> Any:
        try:
            return fn(*args)
        except GrafanaError as exc:  # from _Transport: no complete answer
            hint = "; is GRAFANA_URL right and Grafana up?" if exc.transient else ""
            raise GrafanaError(f"{what}: {exc}{hint}", exc.status, exc.transient) from None
        except (GrafanaServerError, GrafanaTimeoutError, OSError) as exc:  # OSError: refused, reset, DNS
            reason = printable(exc.message, 300) if isinstance(exc, GrafanaException) else (
                f"cannot reach Grafana ({type(exc).__name__}); is GRAFANA_URL right and Grafana up?")
            status = getattr(exc, "status_code", 0) or 0
            raise GrafanaError(f"{what}: {reason}", status, transient=True) from None
        except GrafanaException as exc:
            raise _explain(exc, what) from None
        except ValueError:  # grafana-client reading an answer that is not JSON
            raise GrafanaError(f"{what}: Grafana answered something that is not JSON") from None

    return retrying(once, retry)


def ensure_folder(api: GrafanaApi, title: str, uid: str, dry_run: bool = False,
                  retry: Retry = DEFAULT_RETRY) -> tuple[str, str]:
    """(folder uid, what happened): found by uid, else by title, else created (not in a dry run).
    Raises GrafanaError when the folder cannot be used: the run stops."""
    what = f"GET folder {uid}"
    try:
        return _shaped(call(what, api.folder.get_folder, uid, retry=retry), what, dict, "uid")["uid"], "exists"
    except GrafanaError as exc:
        if exc.status != 404:
            raise
    folders = _shaped(call("GET folders", api.folder.get_all_folders, retry=retry), "GET folders", list)
    same = [f for f in folders if isinstance(f, dict) and f.get("title") == title and isinstance(f.get("uid"), str)]
    if same:
        return same[0]["uid"], "exists"
    if dry_run:
        return uid, "would create"
    what = f"POST folder {title!r}"
    return _shaped(call(what, api.folder.create_folder, title, uid, retry=retry), what, dict, "uid")["uid"], "created"


def comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The dashboard without what Grafana assigns on save."""
    return {k: v for k, v in dashboard.items() if k not in _VOLATILE}


def diff(old: dict[str, Any] | None, new: dict[str, Any], uid: str) -> str:
    """A unified diff of the JSON (empty when equal)."""
    before = render(comparable(old)).splitlines(keepends=True) if old is not None else []
    after = render(comparable(new)).splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, f"grafana/{uid}", f"local/{uid}"))


def apply_one(api: GrafanaApi, dashboard: dict[str, Any], folder_uid: str, dry_run: bool = False,
              retry: Retry = DEFAULT_RETRY) -> Result:
    """Create or overwrite one dashboard by uid, only when its content or folder changed.
    A failure is that dashboard's result, except a rejected token: that GrafanaError stops the run."""
    uid, title = dashboard["uid"], dashboard.get("title", "")
    try:
        what = f"GET dashboard {uid}"
        try:
            found = _shaped(call(what, api.dashboard.get_dashboard, uid, retry=retry), what, dict)
            old = _shaped(found.get("dashboard"), what + " .dashboard", dict)
            meta = found.get("meta") if isinstance(found.get("meta"), dict) else {}
        except GrafanaError as exc:
            if exc.status != 404:
                raise
            found, old, meta = None, None, {}
        changes = diff(old, dashboard, uid)
        moved = found is not None and meta.get("folderUid", "") != folder_uid
        if old is not None and not changes and not moved:
            return Result(uid, title, "unchanged", dry_run=dry_run)
        status = "created" if old is None else "updated"
        detail = "moved into the folder" if moved and not changes else ""
        if not dry_run:
            payload = {"dashboard": {**dashboard, "id": None}, "folderUid": folder_uid, "overwrite": True,
                       "message": "slokit apply"}
            call(f"POST dashboard {uid}", api.dashboard.update_dashboard, payload, retry=retry)
        return Result(uid, title, status, detail, changes, dry_run)
    except GrafanaError as exc:
        if exc.status == 401:
            raise
        return Result(uid, title, "failed", str(exc), dry_run=dry_run)


def load(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Dashboards from JSON files and folders of them (`*.json`, not recursive), in name order;
    InputError naming each file that is not a dashboard."""
    files: list[Path] = []
    for path in map(Path, paths):
        files += sorted(path.glob("*.json")) if path.is_dir() else [path]
    dashboards, problems = [], []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(file), exc.lineno, "", f"not a dashboard JSON file: {exc.msg}"))
            continue
        except (OSError, ValueError) as exc:
            problems.append(Problem(str(file), 0, "", f"not a dashboard JSON file: {exc}"))
            continue
        if not isinstance(data, dict) or not data.get("uid"):
            problems.append(Problem(str(file), 0, "", "a dashboard needs a uid (generate it with `slokit generate`)"))
            continue
        dashboards.append(data)
    if problems:
        raise InputError(problems)
    return dashboards


@dataclass
class Run:
    """The outcome of one apply: folder state and one result per dashboard."""

    folder: str
    results: list[Result] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.results if r.status == s) for s in STATUSES}

    def summary(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        return f"{'dry run: ' if self.results and self.results[0].dry_run else ''}{counts}"


def apply(api: GrafanaApi, dashboards: list[dict[str, Any]], folder: str = DEFAULT_FOLDER,
          folder_uid: str = DEFAULT_FOLDER_UID, dry_run: bool = False, retry: Retry = DEFAULT_RETRY,
          report: Callable[[int, int, Result], None] | None = None) -> Run:
    """Put every dashboard into the folder; `report(i, n, result)` is called as each one finishes."""
    uid, folder_state = ensure_folder(api, folder, folder_uid, dry_run, retry)
    run = Run(f"{folder} ({uid}): {folder_state}")
    for i, dashboard in enumerate(dashboards, 1):
        result = apply_one(api, dashboard, uid, dry_run, retry)
        run.results.append(result)
        if report:
            report(i, len(dashboards), result)
    return run
