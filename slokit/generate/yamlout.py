"""Deterministic YAML text for generated files: keys in the order built, multi-line strings as blocks.

Generated files hold only mappings, lists, strings and numbers, so a small emitter does: it is five
times faster than PyYAML's representer (which is pure Python even over libyaml) and 1,000 SLOs must
generate in under a second. Strings that could read as anything but themselves are written as JSON
strings, which YAML reads unchanged; tests load every generated file back with PyYAML.
"""

from __future__ import annotations

import re
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

# fullmatch: `$` would also match before a final "\n"; a final ":" would make `- a:` a mapping
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:-]*(?<!:)")
_SPECIAL = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
# What YAML may not hold raw (PyYAML's reader refuses it): escaped as \uXXXX inside double quotes.
# Line breaks YAML knows beyond \n (NEL, LS, PS) and the BOM are escaped too.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                            "\U00010000-\U0010ffff]")
_BLOCK_SAFE = re.compile(r"^[^\n]*\S$|^$")  # block lines must not end in spaces (they would be lost)


def scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if value is None:
        return "null"
    return _string(str(value))


@lru_cache(maxsize=8192)  # keys and label values repeat across thousands of rules
def _string(text: str) -> str:
    if _PLAIN.fullmatch(text) and text.lower() not in _SPECIAL:
        return text
    return _NON_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", encode_basestring(text))


def _block(text: str, indent: str) -> str | None:
    """`|-` block for multi-line strings, when the lines survive a round trip."""
    lines = text.split("\n")
    if text.startswith("\n") or text.endswith("\n") or _NON_PRINTABLE.search(text) or "\t" in text or "\r" in text \
            or lines[0].startswith(" ") or not all(_BLOCK_SAFE.match(x) for x in lines):
        return None
    return "|-\n" + "\n".join(f"{indent}{line}" if line else "" for line in lines)


def _emit(value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, dict):
        if not value:
            out.append(" {}\n")
            return
        out.append("\n")
        for key, item in value.items():
            out.append(f"{indent}{scalar(key)}:")
            _item(item, indent, out)
    elif isinstance(value, list):
        if not value:
            out.append(" []\n")
            return
        out.append("\n")
        for item in value:
            out.append(f"{indent}-")
            if isinstance(item, dict) and item:
                first = True
                for key, sub in item.items():
                    out.append(f" {scalar(key)}:" if first else f"{indent}  {scalar(key)}:")
                    _item(sub, indent + "  ", out)
                    first = False
            else:
                _item(item, indent, out)
    else:
        _item(value, indent, out)


def _item(value: Any, indent: str, out: list[str]) -> None:
    """A value after `key:` or `-`: nested collections go on the next lines, two spaces deeper."""
    if isinstance(value, (dict, list)):
        _emit(value, indent + "  ", out)
    elif isinstance(value, str) and "\n" in value:
        block = _block(value, indent + "  ")
        out.append(f" {block}\n" if block else f" {scalar(value)}\n")
    else:
        out.append(f" {scalar(value)}\n")


def dump(data: dict[str, Any], header: str = "") -> str:
    """YAML text of a mapping; `header` lines become comments at the top."""
    out = ["".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())]
    for key, value in data.items():
        out.append(f"{scalar(key)}:")
        _item(value, "", out)
    return "".join(out)
