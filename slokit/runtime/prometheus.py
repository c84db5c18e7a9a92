"""Burn rates read from the recorded rules through any Prometheus-compatible HTTP API.

Prometheus, Thanos, Mimir and VictoriaMetrics all answer `/api/v1/query`; one instant query per poll reads
every `slo:sli_error:ratio_rate<window>` series of the SLOs. A failed poll (down, slow, garbage) never
raises: it is counted (`slokit_runtime_source_errors_total{reason}`) and logged, and the last good answer
is held for `stale_after` seconds. After that `burn_rates()` answers None and each rule falls back to its
configured safe state, so a lost source neither crashes the app nor makes it flap.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence

import requests

from slokit import names, promql, queries
from slokit.http import new_session, redact
from slokit.promapi import QueryError, Sample, instant_query
from slokit.runtime.clock import Clock, system_clock
from slokit.runtime.decisions import Decisions
from slokit.runtime.periodic import Periodic
from slokit.spec.model import SLO
from slokit.spec.policy import SourceConfig

log = logging.getLogger("slokit.runtime")


class PrometheusSource:
    def __init__(self, config: SourceConfig, slos: Sequence[SLO], clock: Clock = system_clock,
                 decisions: Decisions | None = None, environ: Mapping[str, str] = os.environ,
                 session: requests.Session | None = None):
        self.config, self.clock = config, clock
        self.decisions = decisions or Decisions()
        self.slos = {(s.service, s.name): s for s in slos}
        self.session = session or new_session()
        self.headers: dict[str, str] = {}
        if config.auth_header_env and environ.get(config.auth_header_env):
            self.headers["Authorization"] = environ[config.auth_header_env]
        self.query = queries.all_recorded_ratios([s.service for s in slos])
        self._answer: dict[tuple[str, str], dict[int, float]] = {}
        self._answered_at: float | None = None
        self._stale_reported = False
        self._loop = Periodic("prometheus-source", self.poll, lambda: self.config.poll, first=True)

    def poll(self) -> bool:
        """Ask once; True if the answer was usable. Never raises for source faults."""
        try:
            answer = self._fetch()
        except QueryError as exc:
            self.decisions.source_error(exc.reason, f"{redact(self.config.url)}: {exc}")
            return False
        self._answer, self._answered_at, self._stale_reported = answer, self.clock(), False
        return True

    def _fetch(self) -> dict[tuple[str, str], dict[int, float]]:
        result = instant_query(self.config.url, self.query, self.config.timeout, self.headers, self.session)
        try:
            return self._parse(result)
        except ValueError as exc:
            raise QueryError("garbage", f"unusable answer: {exc}") from None

    def _parse(self, result: list[Sample]) -> dict[tuple[str, str], dict[int, float]]:
        """Burn rates per SLO and window; ValueError for a series no recorded rule can have written (a
        missing or bad window, a negative or infinite ratio): one such series makes the whole answer
        suspect, so the poll fails and the last good answer holds."""
        out: dict[tuple[str, str], dict[int, float]] = {key: {} for key in self.slos}
        for sample in result:
            labels = sample.labels
            slo = self.slos.get((labels.get(names.SERVICE, ""), labels.get(names.NAME, "")))
            if slo is None:
                continue
            window = promql.parse_duration(labels.get(names.WINDOW, ""))
            ratio = sample.value
            if math.isnan(ratio):  # 0/0: no traffic in the window; no burn, as the alerts see it
                continue
            if not 0 <= ratio < math.inf:
                raise ValueError(f"error ratio {ratio:g} for {slo.id} over {labels[names.WINDOW]}")
            burns = out[slo.key]  # a grouped SLO has a series per group: the worst group decides
            burns[window] = max(burns.get(window, 0.0), ratio / slo.error_budget)
        return out

    @property
    def age(self) -> float | None:
        """Seconds since the last usable answer (None: never answered)."""
        return None if self._answered_at is None else self.clock() - self._answered_at

    def burn_rates(self, key: tuple[str, str]) -> dict[int, float] | None:
        """The last answer while it is younger than `stale_after`; None after (the rules' safe state)."""
        age = self.age
        if age is None or age > self.config.stale_after:
            if not self._stale_reported:
                self._stale_reported = True
                log.warning("slokit source %s has no answer younger than %ss: rules fall back to their safe state",
                            redact(self.config.url), self.config.stale_after,
                            extra={"slokit": {"source_stale": redact(self.config.url), "age": age}})
            return None
        return self._answer.get(key, {})

    def start(self) -> None:
        """Poll now and then every `poll` seconds in a daemon thread until `stop()`."""
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop(self.config.timeout + 5)

    @property
    def running(self) -> bool:
        return self._loop.running
