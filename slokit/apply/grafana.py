"""Upload dashboards to Grafana with grafana-client, and post annotations for runtime decisions.

Only changed dashboards are written (compared by uid with what Grafana holds), so `apply` can run on
every deploy without bumping dashboard versions. The URL and token come from GRAFANA_URL and
GRAFANA_TOKEN; the token is never printed, and user:password in the URL is masked in messages.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException, GrafanaServerError, GrafanaTimeoutError

from slokit.generate.dashboards import TAG, render

log = logging.getLogger(__name__)

DEFAULT_FOLDER = "SLOs"
DEFAULT_FOLDER_UID = "slokit"
STATUSES = ("created", "updated", "unchanged", "failed")
_VOLATILE = ("id", "version")  # Grafana assigns these; they never mean the content changed


class ApplyError(Exception):
    """A problem that stops the whole run (no URL, token rejected, folder unusable)."""


class GrafanaError(Exception):
    """One request failed; the message says what to do about it."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Retry:
    """Retries for 5xx answers, timeouts and refused connections, with exponential backoff."""

    attempts: int = 3
    backoff: float = 0.5  # seconds before the 2nd attempt; doubled each time
    sleep: Callable[[float], None] = time.sleep


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


def mask_url(url: str) -> str:
    """The URL without user:password, for messages."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"***@{host}:{parts.port}" if parts.port else f"***@{host}"
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def connect(url: str | None = None, token: str | None = None, timeout: float = 10.0) -> GrafanaApi:
    """A client for GRAFANA_URL with GRAFANA_TOKEN (a service account token), unless given."""
    url = url or os.environ.get("GRAFANA_URL")
    token = token or os.environ.get("GRAFANA_TOKEN") or None
    if not url:
        raise ApplyError("GRAFANA_URL is not set (e.g. export GRAFANA_URL=https://grafana.example.com)")
    if not urlsplit(url).scheme.startswith("http"):
        raise ApplyError(f"GRAFANA_URL must start with http:// or https://, not {mask_url(url)!r}")
    if not urlsplit(url).path.endswith("/"):
        url += "/"  # grafana-client appends "api" to the path: a sub-path needs its slash
    return GrafanaApi.from_url(url, credential=token, timeout=timeout)


def _explain(exc: GrafanaException, what: str) -> GrafanaError:
    status = exc.status_code
    if status == 401:
        return GrafanaError(f"{what}: 401 Unauthorized: Grafana rejected the credentials; check GRAFANA_TOKEN", 401)
    if status == 403:
        return GrafanaError(f"{what}: 403 Forbidden: the token lacks permission (it needs the Editor role or "
                            f"dashboards:write and folders:create)", 403)
    if status == 404:
        return GrafanaError(f"{what}: 404 Not Found: is GRAFANA_URL Grafana's root URL, with its sub-path?", 404)
    return GrafanaError(f"{what}: {exc.message}", status)


def call(what: str, fn: Callable[..., Any], *args: Any, retry: Retry = Retry()) -> Any:
    """Run one grafana-client call; retry 5xx/timeouts/connection errors, turn failures into GrafanaError."""
    for attempt in range(1, retry.attempts + 1):
        try:
            return fn(*args)
        except (GrafanaServerError, GrafanaTimeoutError, OSError) as exc:  # OSError: refused, reset, DNS
            if attempt == retry.attempts:
                reason = exc.message if isinstance(exc, GrafanaException) else (
                    f"cannot reach Grafana ({type(exc).__name__}); is GRAFANA_URL right and Grafana up?")
                status = getattr(exc, "status_code", 0) or 0
                raise GrafanaError(f"{what}: {reason} (gave up after {attempt} attempts)", status) from None
            retry.sleep(retry.backoff * 2 ** (attempt - 1))
        except GrafanaException as exc:
            raise _explain(exc, what) from None
    raise AssertionError("unreachable")


def _missing(exc: GrafanaError) -> bool:
    return exc.status == 404


def ensure_folder(api: GrafanaApi, title: str, uid: str, dry_run: bool = False,
                  retry: Retry = Retry()) -> tuple[str, str]:
    """(folder uid, what happened): found by uid, else by title, else created (not in a dry run)."""
    try:
        return call(f"GET folder {uid}", api.folder.get_folder, uid, retry=retry)["uid"], "exists"
    except GrafanaError as exc:
        if not _missing(exc):
            raise ApplyError(str(exc)) from None
    try:
        folders = call("GET folders", api.folder.get_all_folders, retry=retry)
        same = [f for f in folders if f.get("title") == title]
        if same:
            return same[0]["uid"], "exists"
        if dry_run:
            return uid, "would create"
        return call(f"POST folder {title!r}", api.folder.create_folder, title, uid, retry=retry)["uid"], "created"
    except GrafanaError as exc:
        raise ApplyError(str(exc)) from None


def comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The dashboard without what Grafana assigns on save."""
    return {k: v for k, v in dashboard.items() if k not in _VOLATILE}


def diff(old: dict[str, Any] | None, new: dict[str, Any], uid: str) -> str:
    """A unified diff of the JSON (empty when equal)."""
    before = render(comparable(old)).splitlines(keepends=True) if old is not None else []
    after = render(comparable(new)).splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, f"grafana/{uid}", f"local/{uid}"))


def apply_one(api: GrafanaApi, dashboard: dict[str, Any], folder_uid: str, dry_run: bool = False,
              retry: Retry = Retry()) -> Result:
    """Create or overwrite one dashboard by uid, only when its content or folder changed."""
    uid, title = dashboard["uid"], dashboard.get("title", "")
    try:
        try:
            found = call(f"GET dashboard {uid}", api.dashboard.get_dashboard, uid, retry=retry)
        except GrafanaError as exc:
            if not _missing(exc):
                raise
            found = None
        old = found["dashboard"] if found else None
        changes = diff(old, dashboard, uid)
        moved = found is not None and found.get("meta", {}).get("folderUid", "") != folder_uid
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
            raise ApplyError(str(exc)) from None
        return Result(uid, title, "failed", str(exc), dry_run=dry_run)


def load(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Dashboards from JSON files and folders of them (`*.json`, not recursive), in name order."""
    files: list[Path] = []
    for path in map(Path, paths):
        files += sorted(path.glob("*.json")) if path.is_dir() else [path]
    dashboards = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ApplyError(f"{file}: not a dashboard JSON file: {exc}") from None
        if not isinstance(data, dict) or not data.get("uid"):
            raise ApplyError(f"{file}: a dashboard needs a uid (generate it with `slokit generate`)")
        dashboards.append(data)
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
          folder_uid: str = DEFAULT_FOLDER_UID, dry_run: bool = False, retry: Retry = Retry(),
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


# ---------------------------------------------------------------- annotations for runtime decisions


@dataclass(frozen=True)
class Decision:
    """A runtime transition worth marking on dashboards (breaker opened, switch degraded, ...)."""

    target: str  # "breaker:payments", "switch:recommendations"
    from_state: str
    to_state: str
    time: float  # Unix seconds
    slo: str = ""  # SLO id that drove it, e.g. "checkout-availability"
    reason: str = ""
    burn: dict[str, float] = field(default_factory=dict)  # window -> burn rate


def annotation(decision: Decision, dashboard_uid: str | None = None) -> dict[str, Any]:
    """The /api/annotations body for a decision: tagged so slokit's dashboards show it."""
    kind, _, name = decision.target.partition(":")
    burn = ", ".join(f"{w} {b:g}x" for w, b in decision.burn.items())
    text = f"{decision.target}: {decision.from_state} -> {decision.to_state}"
    text += "".join(f"<br>{part}" for part in (f"SLO {decision.slo}" if decision.slo else "",
                                                 decision.reason, f"burn {burn}" if burn else "") if part)
    tags = [TAG, kind, name or kind, decision.to_state] + ([decision.slo] if decision.slo else [])
    body: dict[str, Any] = {"time": int(decision.time * 1000), "tags": tags, "text": text}
    if dashboard_uid:
        body["dashboardUID"] = dashboard_uid
    return body


def annotate(api: GrafanaApi, decision: Decision, dashboard_uid: str | None = None,
             retry: Retry = Retry()) -> int:
    """Post one decision; returns the annotation id. Raises GrafanaError."""
    body = annotation(decision, dashboard_uid)
    answer = call("POST annotation", lambda: api.annotations.add_annotation(
        dashboard_uid=body.get("dashboardUID"), time_from=body["time"], tags=body["tags"], text=body["text"]),
        retry=retry)
    return int(answer.get("id", 0))


def make_annotator(api: GrafanaApi, dashboard_uid: str | None = None,
                   retry: Retry = Retry(attempts=2, backoff=0.2)) -> Callable[[Decision], bool]:
    """A callback for the runtime: posts each decision and never raises (Grafana down must not hurt the app)."""

    def post(decision: Decision) -> bool:
        try:
            annotate(api, decision, dashboard_uid, retry)
            return True
        except (GrafanaError, GrafanaException, OSError) as exc:
            log.warning("grafana annotation for %s failed: %s", decision.target, exc)
            return False

    return post


def annotator_from_env() -> Callable[[Decision], bool] | None:
    """The runtime's hook when SLOKIT_GRAFANA_ANNOTATIONS=1 and GRAFANA_URL are set, else None."""
    if os.environ.get("SLOKIT_GRAFANA_ANNOTATIONS", "").lower() not in ("1", "true", "yes"):
        return None
    try:
        return make_annotator(connect(timeout=2.0))
    except ApplyError as exc:
        log.warning("grafana annotations disabled: %s", exc)
        return None
