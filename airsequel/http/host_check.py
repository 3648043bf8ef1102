"""Refuse requests whose Host header this server does not answer (DNS rebinding defence): not in
allowedHosts, not a loopback name on a loopback connection while allowedHosts is empty, or not a plain
host[:port] (see ServerSettings.host_refusal)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Scope

from airsequel.core.services import Services
from airsequel.http.responses import error_response


def host_refusal_response(scope: Scope, services: Services) -> Response | None:
    """The 403 for an HTTP request whose Host header this server does not answer, or None (see edge.py)."""
    host = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"host"), "")
    server = scope.get("server")
    refusal = services.server_settings.host_refusal(host, local_address=server[0] if server else None)
    return None if refusal is None else error_response(403, refusal)
