"""The one pure-ASGI layer in front of Starlette's own: what every HTTP request (and WebSocket) goes through first.

In order: bring this process up to what other workers changed (shared_state.py), refuse a Host header
this server does not answer (host_check.py), and give every answer, that refusal included, the security
headers (security_headers.py). One layer, not three: each layer cost a coroutine call per request and,
for the headers, a wrapper around every `send`. Then, on a node of a cluster, send the request where
its database is (cluster_routing.py); on one server with backups on, hold the answer to a write to a
database set to `durability: "replicated"` until it was shipped (replicated_writes.py)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airsequel.core.errors import CoreError
from airsequel.core.services import Services
from airsequel.http.cluster_routing import ClusterRouting, route_of
from airsequel.http.host_check import host_refusal_response
from airsequel.http.replicated_writes import READS, held_until_shipped, may_write
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
        answer: Send = send_with_headers
        if self.services.replication is not None and scope.get("method") not in READS:
            answer = await self._replicated(scope, send_with_headers)
        await self.app(scope, receive, answer)

    async def _replicated(self, scope: Scope, send: Send) -> Send:
        """On one server with backups on: a write to a database set to `durability: "replicated"` is
        answered once it was shipped (replicated_writes.py); any other request as it is."""
        route = route_of(scope)
        if route is None or route[0] not in ("database", "readonly"):
            return send
        hosting = self.services.hosting
        try:
            record = hosting.cached(route[1]) if route[0] == "database" else None
            if record is None:
                lookup = hosting.get if route[0] == "database" else hosting.get_by_readonly_id
                record = await run_in_threadpool(lookup, route[1])
        except CoreError:
            return send  # the route answers the bad id itself
        if not may_write(scope, record):
            return send
        assert self.services.replication is not None
        return held_until_shipped(send, self.services.replication, record, hosting.file_path(record))

    async def _with_headers(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The application, its answers with the security headers (a forwarded answer has its owner's)."""

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(message)
            await send(message)

        await self.app(scope, receive, send_with_headers)
