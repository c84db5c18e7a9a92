"""Grafana annotations for decisions, through the apply layer, posted off the decision path.

A transition happens under a breaker's or the runtime's lock; Grafana may be slow or down. So transitions
go into a bounded queue and one daemon thread posts them; when the queue is full they are dropped and
counted (the log line and the metrics still have them).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from slokit.runtime.decisions import Decisions, Transition

log = logging.getLogger("slokit.runtime")


class Annotations:
    def __init__(self, post: Callable[[Any], bool], maxsize: int = 100):
        from slokit.apply.grafana import Decision  # needs the `dashboards` extra (grafana-client)

        self._decision = Decision
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
            decision = self._decision(t.target, t.from_state, t.to_state, t.time, t.slo or "", t.reason, dict(t.burn))
            try:
                if self.post(decision):
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


def attach_grafana(decisions: Decisions, post: Callable[[Any], bool] | None = None) -> Annotations | None:
    """Annotate every transition in Grafana: with `post` (slokit.apply.grafana.make_annotator), or when
    SLOKIT_GRAFANA_ANNOTATIONS=1 and GRAFANA_URL/GRAFANA_TOKEN are set. None when not configured."""
    if post is None:
        from slokit.apply.grafana import annotator_from_env

        post = annotator_from_env()
        if post is None:
            return None
    annotations = Annotations(post)
    decisions.listeners.append(annotations)
    return annotations
