"""Read spec files and folders into the model; the format is detected per YAML document."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path as FilePath

from slokit.errors import Problem, SpecError
from slokit.spec import alertmanager, native, openslo, options, policy, pyrra, sloth, tables
from slokit.spec.model import SLO, Spec
from slokit.spec.source import Doc, read_documents

SPEC_SUFFIXES = (".yml", ".yaml")
FORMATS = ("slokit/v1", sloth.PROMETHEUS_V1, sloth.CRD_VERSION, pyrra.VERSION, *openslo.VERSIONS)
Reader = Callable[[Doc], list[SLO]]
CRDS: dict[str, dict[str, Reader]] = {
    sloth.CRD_VERSION: {sloth.CRD_KIND: sloth.read_crd, tables.ALERT_WINDOWS_KIND: tables.among_specs},
    pyrra.VERSION: {pyrra.KIND: pyrra.read},
}


def spec_files(paths: Iterable[str]) -> list[str]:
    """The files named, and every .yml/.yaml under the folders named, sorted for stable output."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files.extend(os.path.join(root, n) for n in sorted(names) if n.endswith(SPEC_SUFFIXES))
        elif os.path.exists(path):
            files.append(path)
        else:
            raise SpecError([Problem(path, 0, "", "no such file or folder")])
    return files


def _format(doc: Doc) -> str | None:
    data = doc.data[0] if isinstance(doc.data, list) and doc.data and isinstance(doc.data[0], dict) else doc.data
    if not isinstance(data, dict):
        return None
    return str(data.get("version") or data.get("apiVersion") or "")


def load(paths: Iterable[str], with_options: options.Options | None = None) -> Spec:
    """Every SLO in the paths, or SpecError with every problem found (warnings ride along on success).
    `with_options`: Sloth's generate flags (default period, window catalog, extra labels)."""
    docs: list[Doc] = []
    problems: list[Problem] = []
    for file in spec_files(paths):
        try:
            text = FilePath(file).read_text(encoding="utf-8")
            docs.extend(read_documents(file, text))
        except SpecError as exc:
            problems.extend(exc.problems)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(file, 0, "", f"cannot read: {exc}"))
    slos: list[SLO] = []
    open_items: list[openslo.Item] = []
    policy_sections: list[policy.Section] = []  # read once every SLO is known: a rule may name any SLO
    for doc in docs:
        kind = _format(doc)
        doc.lenient = kind != "slokit/v1"  # other tools ignore fields they do not know: a warning
        if kind == "slokit/v1":
            slos.extend(native.read_slokit(doc))
            policy_sections.extend(policy.sections(doc))
        elif kind and kind.startswith("slokit/") and kind.count("/") == 2:
            continue  # another slokit document (e.g. slokit/policy/v1) beside the specs: not an SLO

        elif kind == sloth.PROMETHEUS_V1:
            slos.extend(sloth.read_prometheus_v1(doc))
        elif kind in CRDS:
            slos.extend(_crd(doc, CRDS[kind]))
        elif kind is not None and (kind.startswith(("openslo/", "openslo.com/")) or isinstance(doc.data, list)):
            open_items.extend(openslo.items(doc))
        elif kind:
            key = "version" if isinstance(doc.data, dict) and "version" in doc.data else "apiVersion"
            doc.error((key,), f"unsupported {kind!r}: expected one of {', '.join(FORMATS)}")
        else:
            doc.error((), "not an SLO spec: needs `version: slokit/v1` or `prometheus/v1`, or an OpenSLO `apiVersion`")
    slos.extend(openslo.read(open_items))
    slos, option_problems = options.apply(slos, with_options or options.Options())
    problems.extend(option_problems)
    spec_policy = policy.read_sections(policy_sections, slos)  # its problems go to the documents
    for doc in docs:
        problems.extend(doc.problems)
    problems.extend(_duplicates(slos))
    silence_groups, group_problems = alertmanager.groups(slos)
    problems.extend(group_problems)
    problems.sort(key=lambda p: (p.file, p.line))
    if any(not p.warning for p in problems):
        raise SpecError(problems)
    return Spec(tuple(slos), tuple(str(p) for p in problems), silence_groups, policy=spec_policy)


def _crd(doc: Doc, readers: dict[str, Reader]) -> list[SLO]:
    """Another tool's Kubernetes object: its apiVersion names the tool, its kind the reader."""
    kind = doc.data.get("kind")
    if isinstance(kind, str) and kind in readers:
        return readers[kind](doc)
    doc.error(("kind",), f"unsupported {kind!r} for {doc.data.get('apiVersion')}: expected {', '.join(readers)}")
    return []


def _duplicates(slos: list[SLO]) -> list[Problem]:
    seen: dict[tuple[str, str], SLO] = {}
    out = []
    for slo in slos:
        first = seen.setdefault(slo.key, slo)
        if first is not slo and slo.source and first.source:
            out.append(Problem(slo.source.file, slo.source.line, "name",
                               f"duplicate SLO {slo.name!r} of service {slo.service!r}: first defined at "
                               f"{first.source.file}:{first.source.line}"))
    return out
