"""Hot reload of the policy file (and its switch-overrides file): a bad file keeps the old policy.

`check()` re-reads the files when their content changed. A policy with errors is not applied: the running
policy stays, the problems (file:line: field: message) are logged and kept in `errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path as FilePath

import yaml

from slokit.errors import SpecError
from slokit.runtime.periodic import Periodic
from slokit.runtime.runtime import Runtime
from slokit.spec.model import SLO
from slokit.spec.policy import load_policy, parse_override

log = logging.getLogger("slokit.runtime")


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return FilePath(path).read_bytes()
    except OSError:
        return None


class PolicyReloader:
    def __init__(self, path: str, slos: Sequence[SLO], runtime: Runtime, interval: float = 5.0):
        self.path, self.slos, self.runtime, self.interval = path, slos, runtime, interval
        self._policy_text = _read(path)
        self._overrides_text: bytes | None = None
        self.errors: list[str] = []
        self._loop = Periodic("policy-reload", self.check, lambda: self.interval)
        self._check_overrides()

    def check(self) -> bool:
        """Reload what changed; True if a new policy was applied."""
        applied = False
        text = _read(self.path)
        if text != self._policy_text:
            self._policy_text = text
            try:
                policy = load_policy(self.path, self.slos)
            except SpecError as exc:
                self.errors = [str(p) for p in exc.problems]
                log.error("slokit policy %s not reloaded, the running policy stays:\n%s", self.path,
                          "\n".join(self.errors), extra={"slokit": {"policy_errors": self.errors}})
            else:
                self.errors = []
                self.runtime.set_policy(policy)
                log.info("slokit policy %s reloaded: %d rule(s)", self.path, len(policy.rules))
                for warning in policy.warnings:  # a policy that can lock the service out: applied, but said
                    log.warning("slokit policy: %s", warning)
                applied = True
        self._check_overrides()
        return applied

    def _check_overrides(self) -> None:
        path = self.runtime.policy.overrides_file
        text = _read(path)
        if path is None or text == self._overrides_text:
            return
        self._overrides_text = text
        try:
            data = yaml.safe_load(text or b"") or {}
            if not isinstance(data, dict):
                raise ValueError("must be a mapping of switch name to on, off or auto")
            values = {str(k): parse_override(v) for k, v in data.items()}
        except (yaml.YAMLError, ValueError) as exc:
            self.errors = [f"{path}: {exc}"]
            log.error("slokit switch overrides %s not applied: %s", path, exc)
            return
        self.runtime.switches.apply_overrides(values, "file")

    def start(self) -> None:
        """Check every `interval` seconds in a daemon thread until `stop()`."""
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
