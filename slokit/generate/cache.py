"""What each service's generated files were made from, kept beside the output (`OUT/.slokit-cache/`), so
a re-run renders only the services whose inputs changed.

An entry's key is a digest of everything its files are made from: slokit's own code (its version and
source), the service's SLOs, the rules format and, for dashboards, the jsonnet library's source; it names
the files by the digest of their text. The text is the output itself: a file edited or deleted by hand
makes its service's entry a miss, never wrong output. Deleting the folder is always safe: it only costs
the time to render everything again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from slokit.spec.model import SLO

DIR = ".slokit-cache"
_FORMAT = "1"  # of the cache's own layout


@functools.cache
def code_digest() -> str:
    """The digest of slokit's source (its version included, in slokit/__init__.py): any change to the code
    renders everything again."""
    digest = hashlib.sha256(_FORMAT.encode())
    for path in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def files_digest(paths: Iterable[Path]) -> str:
    sha = hashlib.sha256()
    for path in sorted(set(paths)):
        sha.update(f"{path}\0".encode() + path.read_bytes() + b"\0")
    return sha.hexdigest()


def slos_text(slos: Iterable[SLO]) -> str:
    """The SLOs as the generators see them (where they were read from is left out: moving a spec around
    in its file changes no output)."""
    return "\n".join(repr(tuple(getattr(slo, name) for name in _SLO_FIELDS)) for slo in slos)


_SLO_FIELDS = tuple(f.name for f in dataclasses.fields(SLO) if f.name != "source")


def key(*parts: str) -> str:
    return hashlib.sha256("\0".join((code_digest(), *parts)).encode()).hexdigest()


def digest(text: str) -> str:
    """A file's digest, as the index names it."""
    return hashlib.sha256(text.encode()).hexdigest()


class Cache:
    """Which files each key made, by digest, kept in `root/index.json`. A hit is checked against `out`,
    where the files were written: one that is missing there or differs from its digest makes its entry a
    miss, and no copy of the output is kept, in the folder or in memory. `save()` writes the entries this
    run used; the others are dropped, so the index stays the size of one run's output."""

    def __init__(self, root: Path, out: Path) -> None:
        self.root, self.out = root, out
        try:
            index = json.loads((root / "index.json").read_text(encoding="utf-8"))
            self._index: dict[str, Any] = index if isinstance(index, dict) else {}
        except (OSError, ValueError):
            self._index = {}
        self._used: dict[str, dict[str, Any]] = {}
        self._checked: dict[str, str] = {}  # name -> digest found in `out` this run (the overview: once)
        self.hits = self.misses = 0

    def get(self, key: str) -> tuple[dict[str, str], list[str]] | None:
        """{name: digest} of the files stored under `key`, each found in `out` as it was made, and the
        notes; or None."""
        entry = self._index.get(key)
        names = entry.get("files") if isinstance(entry, dict) else None
        notes = entry.get("notes") if isinstance(entry, dict) else None
        if not isinstance(names, dict) or not isinstance(notes, list) \
                or not all(self._found(str(name), str(digest)) for name, digest in names.items()):
            self.misses += 1
            return None
        self._used[key] = {"files": names, "notes": notes}
        self.hits += 1
        return {str(name): str(digest) for name, digest in names.items()}, [str(n) for n in notes]

    def put(self, key: str, files: dict[str, str], notes: Iterable[str] = ()) -> None:
        self._used[key] = {"files": {name: digest(text) for name, text in files.items()}, "notes": list(notes)}

    def _found(self, name: str, expected: str) -> bool:
        if name not in self._checked:
            try:
                self._checked[name] = hashlib.sha256((self.out / name).read_bytes()).hexdigest()
            except OSError:
                self._checked[name] = ""
        return self._checked[name] == expected

    def save(self) -> None:
        """Write the index of this run's entries (after the files they name were written)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / ".gitignore").is_file():  # out of version control wherever OUT is
            _write(self.root / ".gitignore", "# slokit generate's cache: safe to delete\n*\n")
        _write(self.root / "index.json", json.dumps(self._used, sort_keys=True))


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
