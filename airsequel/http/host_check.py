"""Refuse requests whose Host header this server does not answer (DNS rebinding defence): not in
allowedHosts, not a loopback name on a loopback connection while allowedHosts is empty, or not a plain
host[:port] (see ServerSettings.host_refusal)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from airsequel.http.responses import error_response


class AllowedHostsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            services = scope["app"].state.services
            host = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"host"), "")
            server = scope.get("server")
            local_address = server[0] if server else None
            refusal = services.server_settings.host_refusal(host, local_address=local_address)
            if refusal is not None:
                response = error_response(403, refusal)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
