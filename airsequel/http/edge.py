"""The one pure-ASGI layer in front of Starlette's own: what every HTTP request (and WebSocket) goes through first.

In order: bring this process up to what other workers changed (shared_state.py), refuse a Host header
this server does not answer (host_check.py), and give every answer, that refusal included, the security
headers (security_headers.py). One layer, not three: each layer cost a coroutine call per request and,
for the headers, a wrapper around every `send`."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airsequel.core.errors import CoreError
from airsequel.core.services import Services
from airsequel.http.cluster_routing import ClusterRouting
from airsequel.http.host_check import host_refusal_response
from airsequel.http.responses import error_response
from airsequel.http.security_headers import add_headers
from airsequel.http.shared_state import catch_up


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services
        # In a cluster: where each request runs, here or on its database's owner (cluster_routing.py).
        self.routing = ClusterRouting(services, services.cluster) if services.cluster is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # A WebSocket (GraphQL live queries) gets the same catch-up and Host check (a page of another
            # site could otherwise reach this server through DNS rebinding); refused before it is
            # accepted, which the client sees as a 403.
            try:
                await catch_up(self.services)
            except CoreError as error:
                await send({"type": "websocket.close", "code": 1013, "reason": str(error)[:120]})
                return
            if host_refusal_response(scope, self.services) is not None:
                await send({"type": "websocket.close", "code": 1008, "reason": "Host not allowed"})
                return
            if self.routing is not None:
                await self.routing(scope, receive, send, self.app)
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(message)
            await send(message)

        # First of all: what another worker process changed counts for this request too.
        try:
            await catch_up(self.services)
        except CoreError as error:  # e.g. the settings could not be read again: a clear answer, not a 500
            await error_response(error.status, *error.messages)(scope, receive, send_with_headers)
            return

        refused = host_refusal_response(scope, self.services)
        if refused is not None:
            await refused(scope, receive, send_with_headers)
            return
        if self.routing is not None:
            try:
                await self.routing(scope, receive, send, self._with_headers)
            except CoreError as error:  # raised before anything was sent: where the request goes is unknown
                await error_response(error.status, *error.messages)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    async def _with_headers(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The application, its answers with the security headers (a forwarded answer has its owner's)."""

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(message)
            await send(message)

        await self.app(scope, receive, send_with_headers)
