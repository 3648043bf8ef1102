"""Refuse requests whose Host header is not in the server's allowedHosts (DNS rebinding defence)."""

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
            if not services.server_settings.host_allowed(host):
                response = error_response(403, f"The host {host!r} is not in this server's allowedHosts")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
