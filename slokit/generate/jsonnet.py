"""Running the dashboards' jsonnet entry fast, with the bytes one evaluation per service and `json.dumps`
gave (bench/generate.py and docs/benchmarks.md have the measurements behind each choice):

- the fastest installed engine: rjsonnet (Rust) evaluates the library about 8x faster than gojsonnet
  and 60x faster than the C++ reference; all three take the same Python API and language;
- services in batches: the library is parsed once per batch, not once per service, and a dashboard
  every service returns (the overview) is evaluated once per batch, by its first service;
- batches in short-lived forked workers on every core: rjsonnet's cycle collector, most of its run time,
  stays off there, and the memory it keeps is returned when the worker exits;
- orjson for parsing and rendering, except for numbers it prints unlike `json.dumps` (1e-05 as
  0.00001, 1e+16 as 1e16), where `json` renders the batch as before.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from slokit.errors import ConfigError
from slokit.generate import workers as workers_

ENGINES = ("rjsonnet", "_gojsonnet", "_jsonnet")  # fastest first; `pip install 'slokit[dashboards]'`
BATCH = 20  # services per evaluation: past ~20 the shared parse is paid off and memory only grows


class DashboardError(ConfigError):
    """The jsonnet library failed to evaluate or returned something that is not a list of dashboards."""


def installed() -> str | None:
    """The fastest installed engine's module name, None without any."""
    return next((name for name in ENGINES if importlib.util.find_spec(name) is not None), None)


def engine(name: str | None = None) -> ModuleType:
    name = name or installed()
    if name is None:
        raise DashboardError("no jsonnet engine installed: pip install 'slokit[dashboards]'")
    return importlib.import_module(name)


def run(module: ModuleType, path: Path, jpath: Sequence[Path], tla: dict[str, str], code: str | None = None,
        keep: bool = False) -> str:
    """Evaluate `path` (or `code` in its place) with top-level arguments given as JSON text.

    keep: skip rjsonnet's cycle collector (the caller's process exits soon and takes the memory along)."""
    kwargs: dict[str, Any] = {"jpathdir": [str(p) for p in jpath], "tla_codes": tla}
    if keep and module.__name__ == "rjsonnet":
        kwargs["gc"] = False
    try:
        if code is None:
            return str(module.evaluate_file(str(path), **kwargs))
        return str(module.evaluate_snippet(str(path), code, **kwargs))
    except RuntimeError as exc:
        raise DashboardError(f"{path}: {exc}") from None


# The entry once per service of a batch, over a model holding that service alone (as one evaluation per
# service would see it). Dashboards whose uid the batch's first service also returned are left out for
# the others (a field is only evaluated when read, so reading a uid costs nothing) and named instead.
_BATCH_CODE = """
local entry = import %s;
function(shared, services)
  local run(s) = entry(shared { services: [s], slos: s.slos });
  local uid(d) = if std.isObject(d) && std.objectHas(d, 'uid') then d.uid else null;
  local first = run(services[0]);
  local seen = if std.isArray(first) then std.filter(function(u) u != null, std.map(uid, first)) else [];
  local rest(out) = if !std.isArray(out) then { own: out, shared: [] } else {
    own: [d for d in out if !std.member(seen, uid(d))],
    shared: [uid(d) for d in out if std.member(seen, uid(d))],
  };
  [{ own: first, shared: [] }] + [rest(run(s)) for s in services[1:]]
"""

Checker = Callable[[Any], list[dict[str, Any]]]  # raises DashboardError unless a list of dashboards
Batch = list[tuple[dict[str, str], list[str]]]  # per service: {uid: text} of its own, uids it shares


def evaluate_batch(engine_name: str | None, path: Path, jpath: Sequence[Path], shared: str,
                   services: list[dict[str, Any]], check: Checker, keep: bool = False,
                   ) -> Batch:
    """Per service: {uid: rendered text} of the dashboards it returned itself, and the uids of those it
    shares with the batch's first service (rendered there)."""
    module = engine(engine_name)
    text = run(module, path, jpath, {"shared": shared, "services": json.dumps(services)},
               code=_BATCH_CODE % json.dumps(str(path)), keep=keep)
    results, fast = parse(text)
    out = []
    for result in results:
        own = check(result["own"])
        out.append(({d["uid"]: render(d, fast) for d in own}, list(result["shared"])))
    return out


def evaluate_batches(engine_name: str | None, path: Path, jpath: Sequence[Path], shared: str,
                     batches: Sequence[list[dict[str, Any]]], check: Checker, workers: int = 1,
                     ) -> Iterator[Batch]:
    """`evaluate_batch` over every batch, in order; in forked worker processes (a fresh one per batch, so
    rjsonnet's collector can stay off) when `workers` > 1 and the platform forks. They start at once."""
    keep = workers_.forks(workers, len(batches))  # collector off only where the process exits after
    task = functools.partial(evaluate_batch, engine_name, path, jpath, shared, check=check, keep=keep)
    return workers_.imap(task, batches, workers, fresh=True)


try:  # optional (the dashboards extra): 20x faster than json for these documents
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    orjson = None  # type: ignore[assignment]


def parse(text: str) -> tuple[Any, bool]:
    """The engine's JSON output, and whether orjson renders every number in it as `json.dumps` would."""
    if orjson is not None:
        data = orjson.loads(text)
        if _plain(data):
            return data, True
    return json.loads(text), False


def _plain(value: Any) -> bool:
    """No float that orjson prints differently (outside 1e-4 <= |x| < 1e16) and no integer past 64 bits
    (orjson parses those as floats)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float and item != 0 and not 1e-4 <= abs(item) < 1e16:
            return False
        elif kind is int and not -(2 ** 63) <= item < 2 ** 64:
            return False
    return True


def render(dashboard: dict[str, Any], fast: bool | None = None) -> str:
    """JSON as committed: sorted keys, 2-space indent, raw UTF-8, trailing newline (byte-stable).
    fast: whether orjson may render it (None: find out)."""
    if orjson is not None and (fast if fast is not None else _plain(dashboard)):
        try:
            return orjson.dumps(dashboard, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
        except TypeError:  # a lone surrogate in a string: json escapes it
            pass
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
