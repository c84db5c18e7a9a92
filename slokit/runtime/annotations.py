"""Grafana annotations for decisions, posted off the decision path.

A transition happens under a breaker's or the runtime's lock; Grafana may be slow or down. So transitions
go into a bounded queue and one daemon thread posts them; when the queue is full they are dropped and
counted (the log line and the metrics still have them). Posting is one JSON request to Grafana's
`/api/annotations` through slokit.http, so the runtime needs neither grafana-client nor slokit.apply.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests

from slokit import names
from slokit.errors import ConfigError, RemoteError
from slokit.http import Retry, http_url, request_json, retrying
from slokit.runtime.decisions import Decisions, Transition

log = logging.getLogger("slokit.runtime")

Annotator = Callable[[Transition], bool]  # posts one transition; True if it was posted, never raises
QUICK = Retry(attempts=2, backoff=0.2)  # an annotation is worth one more try, not a long wait


def annotation(t: Transition, dashboard_uid: str | None = None) -> dict[str, Any]:
    """The /api/annotations body for a transition: tagged so slokit's dashboards show it."""
    kind, _, name = t.target.partition(":")
    burn = ", ".join(f"{w} {b:g}x" for w, b in t.burn.items())
    text = f"{t.target}: {t.from_state} -> {t.to_state}"
    text += "".join(f"<br>{part}" for part in (f"SLO {t.slo}" if t.slo else "", t.reason,
                                                 f"burn {burn}" if burn else "") if part)
    tags = [names.GRAFANA_TAG, kind, name or kind, t.to_state] + ([t.slo] if t.slo else [])
    body: dict[str, Any] = {"time": int(t.time * 1000), "tags": tags, "text": text}
    if dashboard_uid:
        body["dashboardUID"] = dashboard_uid
    return body


def annotate(session: requests.Session, url: str, t: Transition, dashboard_uid: str | None = None,
             timeout: float = 2.0, retry: Retry = QUICK) -> int:
    """Post one transition to the Grafana at `url`; the annotation's id. Raises RemoteError."""
    answer = retrying(lambda: request_json(session, "POST", url.rstrip("/"), "/api/annotations", server="Grafana",
                                           body=annotation(t, dashboard_uid), timeout=timeout), retry)
    return int(answer.get("id", 0)) if isinstance(answer, dict) else 0


def grafana_annotator(url: str, token: str | None = None, dashboard_uid: str | None = None,
                      timeout: float = 2.0, retry: Retry = QUICK) -> Annotator:
    """A callback for the runtime: posts each transition and never raises (Grafana down must not hurt the app).
    `token` is a Grafana service account token; user:password in `url` works too."""
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"

    def post(t: Transition) -> bool:
        try:
            annotate(session, url, t, dashboard_uid, timeout, retry)
            return True
        except RemoteError as exc:
            log.warning("grafana annotation for %s failed: %s", t.target, exc)
            return False

    return post


def annotator_from_env(environ: Mapping[str, str] = os.environ) -> Annotator | None:
    """The runtime's hook when SLOKIT_GRAFANA_ANNOTATIONS=1 and GRAFANA_URL (with GRAFANA_TOKEN) are set, else None."""
    if environ.get("SLOKIT_GRAFANA_ANNOTATIONS", "").lower() not in ("1", "true", "yes"):
        return None
    try:
        url = http_url(environ.get("GRAFANA_URL", ""), "GRAFANA_URL")
    except ConfigError as exc:
        log.warning("grafana annotations disabled: %s", exc)
        return None
    return grafana_annotator(url, environ.get("GRAFANA_TOKEN") or None)


class Annotations:
    def __init__(self, post: Annotator, maxsize: int = 100):
        self.post = post
        self.dropped = 0
        self.posted = 0
        self._queue: queue.Queue[Transition | None] = queue.Queue(maxsize)
        self._thread = threading.Thread(target=self._run, name="slokit-annotations", daemon=True)
        self._thread.start()

    def __call__(self, t: Transition) -> None:
        try:
            self._queue.put_nowait(t)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while (t := self._queue.get()) is not None:
            try:
                if self.post(t):
                    self.posted += 1
            except Exception:  # the annotator should not raise; if it does, the loop must go on
                log.exception("slokit annotation failed")

    def close(self, timeout: float = 5.0) -> None:
        """Post what is queued (within `timeout`), then stop the thread."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(timeout=timeout)


def attach_grafana(decisions: Decisions, post: Annotator | None = None) -> Annotations | None:
    """Annotate every transition in Grafana: with `post` (e.g. `grafana_annotator(url, token)`), or when
    SLOKIT_GRAFANA_ANNOTATIONS=1 and GRAFANA_URL/GRAFANA_TOKEN are set. None when not configured."""
    if post is None:
        post = annotator_from_env()
        if post is None:
            return None
    annotations = Annotations(post)
    decisions.listeners.append(annotations)
    return annotations
