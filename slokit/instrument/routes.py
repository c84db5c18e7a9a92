"""Route templates for the `route` label: what the framework matched, never the raw path.

The label's cardinality is the number of routes the app declares, plus one (`names.UNMATCHED_ROUTE`) for
every path no route matched: a scanner probing random URLs adds no series.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from slokit import names

_FLASK_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def starlette_route(scope: dict[str, Any], root_path: str = "") -> str | None:
    """The template Starlette/FastAPI's router stored in the scope (`/users/{id}`), or None if unmatched.

    Starlette's router sets `scope["route"]` in place after matching, so a middleware reads it once the app
    returns, without matching again. Under a `Mount` the route's path is relative to the mount, so the
    mount's prefix (what Starlette appended to `root_path`, given here as it was before the call) is put in
    front; a mounted app that is not a router (static files, a sub-app) is labelled `<mount>/{path}`.
    Mount paths with parameters (`/tenants/{tenant}`) would put raw values in the label: avoid them, or
    pass your own `route=` resolver.
    """
    route = scope.get("route")
    if route is None:
        return None
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return None
    prefix: str = scope.get("root_path", "")
    if prefix == root_path:
        return path
    prefix = prefix[len(root_path):] if prefix.startswith(root_path) else prefix
    if type(route).__name__ == "Mount":
        return prefix + "/{path}"
    return prefix + path


def flask_rule(rule: str) -> str:
    """Flask/werkzeug's `/users/<int:id>` as the framework-neutral template `/users/{id}`."""
    return _FLASK_PARAM.sub(r"{\1}", rule)


_flask_templates: dict[str, str] = {}  # rule -> template; bounded by the app's rules


def werkzeug_route(environ: dict[str, Any]) -> str | None:
    """The URL rule a Flask/werkzeug app matched, read from the request it left in the environ."""
    rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
    if rule is None:
        return None
    template = _flask_templates.get(rule.rule)
    if template is None:
        template = _flask_templates[rule.rule] = flask_rule(rule.rule)
    return template


class Templates:
    """Route resolver for plain ASGI/WSGI apps that have no router to ask: match paths against templates.

    >>> Templates(["/users/{id}", "/health"]).match("/users/42")
    '/users/{id}'
    """

    def __init__(self, templates: Iterable[str]) -> None:
        self._exact: dict[str, str] = {}
        patterns = []
        for template in templates:
            if "{" not in template:
                self._exact[template] = template
                continue
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            patterns.append((re.compile(regex + r"\Z"), template))
        self._patterns = tuple(patterns)

    def match(self, path: str) -> str:
        exact = self._exact.get(path)
        if exact is not None:
            return exact
        for regex, template in self._patterns:
            if regex.match(path):
                return template
        return names.UNMATCHED_ROUTE

    def asgi(self) -> Callable[[dict[str, Any]], str]:
        return lambda scope: self.match(scope["path"])

    def wsgi(self) -> Callable[[dict[str, Any]], str]:
        return lambda environ: self.match(environ.get("PATH_INFO", ""))
