"""Routes whose path parameters may hold a "/" sent as %2F (a table named "a/b").

The server decodes the path before routing: `/api/dbs/x/tables/a%2Fb/export` reaches the router as
`/api/dbs/x/tables/a/b/export`, where `{table}` matches no route (and `{table:path}` could not tell
the table "a/b" from a route's own segments). An `EncodedSlashRoute` matches such a request on the
path as it was sent instead: there a "/" always separates segments and a "%2F" is always part of a
name, so the match is never ambiguous; each parameter is then decoded. A path without "%2F" is
matched as every route matches it, so nothing else changes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.routing import Match, Route
from starlette.types import Scope


def _sent_path(scope: Scope) -> str | None:
    """The path as the client sent it (still percent-encoded), when it holds an encoded "/"; else None."""
    raw = scope.get("raw_path")
    if not isinstance(raw, bytes) or b"%2f" not in raw.lower():
        return None
    path = raw.split(b"?", 1)[0].decode("latin-1")  # some clients' raw_path carries the query
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path


class EncodedSlashRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = _sent_path(scope) if scope["type"] == "http" else None
        if path is None:
            return super().matches(scope)
        match = self.path_regex.match(path)
        if not match:
            return Match.NONE, {}
        params: dict[str, Any] = dict(scope.get("path_params", {}))
        for key, value in match.groupdict().items():
            params[key] = self.param_convertors[key].convert(unquote(value))
        child_scope = {"endpoint": self.endpoint, "path_params": params}
        if self.methods and scope["method"] not in self.methods:
            return Match.PARTIAL, child_scope
        return Match.FULL, child_scope
