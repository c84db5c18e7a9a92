"""Alert label and annotation values are Go templates in Prometheus: check the part slokit can.

`promtool check rules` refuses a rule whose template does not parse (`{{` never closed, `{{ $x }}` with
`$x` undefined, an unknown function, an `if` without `end`). slokit has no Go template parser, so it
reads actions with a small lexer and accepts what Prometheus's alert templates are made of: its
variables, field chains, its functions and Go's builtins, strings, numbers, pipelines and the control
keywords. Anything else is refused with the action named, rather than written and refused later.
"""

from __future__ import annotations

import re

# Variables Prometheus defines in alert templates (rules/alerting.go), and `$` itself.
VARIABLES = {"$", "$labels", "$value", "$externalLabels", "$externalURL"}
# Go's text/template builtins and Prometheus's template functions (template/template.go).
FUNCTIONS = {
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge",
    "html", "js", "urlquery", "call",
    "query", "first", "label", "value", "strvalue", "args", "reReplaceAll", "safeHtml", "match", "title",
    "toUpper", "toLower", "graphLink", "tableLink", "sortByLabel", "humanize", "humanize1024",
    "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toTime", "toDuration", "now", "pathPrefix",
    "externalURL", "parseDuration", "stripPort", "stripDomain", "tmpl",
}
OPENERS = {"if", "range", "with", "define", "block"}
_SEPARATED = re.compile(r"\s|[)|,]|-?}}")  # what may follow a name, a number or a string in an action
KEYWORDS = OPENERS | {"else", "end", "template", "break", "continue", "nil", "true", "false"}

_TOKEN = re.compile(r"""
    \s+ | (?P<string>"(?:[^"\\\n]|\\(?:[abfnrtv\\"']|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[0-7]{3}))*" | `[^`]*`
           | '(?:[^'\\\n]|\\(?:[abfnrtv\\"']|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[0-7]{3}))') | (?P<close>-?}})
    | (?P<declare>\$[A-Za-z_][A-Za-z0-9_]*\s*:?=) | (?P<variable>\$[A-Za-z0-9_]*)
    | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*) | (?P<number>[-+]?[0-9][0-9a-fA-FxXoObB_.eEpP+-]*) | (?P<punct>[|(),])
""", re.VERBOSE)


def problem(text: str) -> str | None:
    """Why Prometheus would refuse `text` as an alert template, or None."""
    if "{{" not in text:
        return None
    declared: set[str] = set()
    blocks: list[str] = []  # the open if/range/with/define/block actions
    at = 0
    while (start := text.find("{{", at)) != -1:
        at = start + 2
        if text.startswith("-", at) and text[at + 1: at + 2].isspace():
            at += 1
        comment = re.match(r"\s*/\*.*?\*/\s*-?}}", text[at:], re.DOTALL)
        if comment:
            at += comment.end()
            continue
        words: list[str] = []
        used: list[str] = []  # variables read; `range $k, $v := ...` declares those before its `:=`
        declared_here = False
        while True:
            token = _TOKEN.match(text, at)
            if token is None:
                shown = text[start: start + 40]
                return (f"the template action {shown!r} does not parse (an unclosed {{{{, or a character Go "
                        "templates do not take)")
            at = token.end()
            kind = token.lastgroup
            if kind == "close":
                if words and words[-1].endswith("="):
                    return "the template declares a variable with no value"
                break
            value = token.group().strip()
            if kind in ("string", "word", "number", "field", "variable") and not _SEPARATED.match(text, at) and not (
                    kind == "variable" and re.match(r"\.[A-Za-z_]", text[at:at + 2])):
                return f"the template action {text[start:start + 40]!r} does not parse (missing space after {value!r})"
            if value == "," and (words[:1] != ["range"] or declared_here):
                return "the template has a ',' outside `range $k, $v := ...`"
            if kind == "declare":
                declared_here = True
                declared.update(used + [value.rstrip(":=").strip()])
                used = []
            elif kind == "variable":
                used.append(value)
            elif kind == "word" and value not in KEYWORDS | FUNCTIONS:
                return f"the template calls {value!r}, which is not a Prometheus template function"
            if kind is not None:
                words.append(value)
        if not words:
            return "the template has an empty action {{}}"
        unknown = next((v for v in used if v not in VARIABLES | declared), None)
        if unknown:
            return f"the template uses {unknown}, which Prometheus does not define (use $labels or $value)"
        wrong = _structure(words, blocks)
        if wrong:
            return wrong
    if blocks:
        return f"the template has a {{{{{blocks[-1]}}}}} without its {{{{end}}}}"
    return None


def _structure(words: list[str], blocks: list[str]) -> str | None:
    """What Go's parser refuses in one action's words: control keywords out of place, pipes and
    parentheses that do not pair; `blocks` is updated as the action opens or ends one."""
    first = words[0]
    if first in OPENERS:
        if len(words) < 2:
            return f"the template's {{{{{first}}}}} has no value"
        blocks.append(first)
    elif first == "end":
        if not blocks:
            return "the template has an {{end}} without an if, range or with"
        blocks.pop()
    elif first == "else" and not (blocks and blocks[-1] in ("if", "range", "with")):
        return "the template has an {{else}} outside an if, range or with"
    elif first in ("break", "continue") and "range" not in blocks:
        return f"the template has a {{{{{first}}}}} outside a range"
    depth, previous = 0, "("
    for word in words:
        if word == "|" and previous in ("(", "|"):
            return "the template has a | with nothing before it"
        depth += (word == "(") - (word == ")")
        if depth < 0:
            return "the template has a ) without its ("
        previous = word
    return "the template has a ( without its )" if depth else None
