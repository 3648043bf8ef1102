"""Forwarding one WebSocket (GraphQL live queries) to the node that owns its database.

The receiving node opens its own WebSocket to the owner (websockets' asyncio client) with the client's
path, query, subprotocols, Host, Cookie, Authorization and Origin, plus the signed forwarding headers of
forwarding.py; it accepts the client's socket only once the owner accepted its own, with the subprotocol
the owner chose, and then pumps messages both ways until either side closes, passing the close code and
reason on to the other side.
"""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import orjson
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.http11 import Request

from airsequel.http.forwarding import ForwardingSignature, client_headers, forwarded_facts, raw_target
from airsequel.http.responses import error_body

PASSED_ON = frozenset({b"cookie", b"authorization", b"origin", b"user-agent", b"x-forwarded-for"})
POLICY_VIOLATION = 1008  # what a refused upgrade becomes when the client's server cannot send a status
INTERNAL_ERROR = 1011
# Codes that describe a close without being sendable in a close frame (RFC 6455 7.4.1).
NO_STATUS, ABNORMAL = 1005, 1006


def socket_url(target: str, path: bytes) -> str:
    scheme, _, rest = target.rstrip("/").partition("://")
    return f"{ {'https': 'wss'}.get(scheme, 'ws') }://{rest}{path.decode('latin-1')}"


def sendable(code: int | None) -> int:
    """A close code to send on, for one that was received: 1005 (no code) is a normal close, 1006 (the
    connection dropped) a peer going away."""
    if code is None or code == NO_STATUS:
        return 1000
    if code == ABNORMAL:
        return 1001
    return code


def _connection_keeping(host: bytes | None) -> type[ClientConnection]:
    """A ClientConnection whose upgrade request carries `host` (the client's Host) instead of the owner's
    address: the owner checks Host (allowed hosts) and compares Origin with it, as for a direct call."""

    class KeepingHost(ClientConnection):
        async def handshake(self, *args: Any, **kwargs: Any) -> None:
            if host:
                build = self.protocol.connect

                def connect_with_host() -> Request:
                    request = build()
                    del request.headers["Host"]
                    request.headers["Host"] = host.decode("latin-1")
                    return request

                self.protocol.connect = connect_with_host  # type: ignore[method-assign]
            await super().handshake(*args, **kwargs)

    return KeepingHost


async def _refuse(scope: Scope, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """Refuse the client's upgrade: with the owner's status and body when its server can send them (the
    websocket.http.response extension), else a close before accepting (the client then sees a 403)."""
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body, "more_body": False})
    else:
        await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": ""})


async def forward_websocket(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    target: str,
    signature: ForwardingSignature,
    node_id: str,
    connect_timeout: float = 5.0,
) -> None:
    """Proxy one WebSocket to `target` (a base URL like http://127.0.0.1:4186)."""
    first = await receive()
    if first["type"] != "websocket.connect":
        return
    path = raw_target(scope)
    headers = client_headers(scope, keep=PASSED_ON)
    headers += signature.headers(node_id, "GET", path, forwarded_facts(scope))
    host = next((value for name, value in scope.get("headers", []) if name.lower() == b"host"), None)
    offered = list(scope.get("subprotocols") or [])
    try:
        upstream = await connect(
            socket_url(target, path),
            additional_headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers],
            user_agent_header=None,
            subprotocols=offered or None,
            compression=None,  # between nodes: the CPU costs more than the bytes
            max_size=None,  # the owner caps what it sends; the client's server caps what the client sends
            open_timeout=connect_timeout,
            create_connection=_connection_keeping(host),
        )
    except InvalidStatus as refusal:
        response = refusal.response
        kept = [
            (k.lower().encode(), v.encode()) for k, v in response.headers.raw_items() if k.lower() == "content-type"
        ]
        await _refuse(scope, send, response.status_code, kept, bytes(response.body or b""))
        return
    except (OSError, TimeoutError, InvalidHandshake) as error:
        body = orjson.dumps(error_body([f"Node {target} did not answer: {str(error) or type(error).__name__}"]))
        await _refuse(scope, send, 503, [(b"content-type", b"application/json")], body)
        return
    try:
        await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
        await _pump(receive, send, upstream, target)
    except BaseExceptionGroup as group:  # anyio wraps a pump's error: give the caller its own
        raise (group.exceptions[0] if len(group.exceptions) == 1 else group) from None
    finally:
        with anyio.CancelScope(shield=True):
            await upstream.close()


async def _pump(receive: Receive, send: Send, upstream: ClientConnection, target: str) -> None:
    async with anyio.create_task_group() as group:

        async def from_client() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.receive":
                    data = message.get("text")
                    if data is None:
                        data = message.get("bytes") or b""
                    try:
                        await upstream.send(data)
                    except ConnectionClosed:
                        return  # the owner closed: from_owner passes its close on
                elif message["type"] == "websocket.disconnect":
                    group.cancel_scope.cancel()
                    reason = message.get("reason") or ""
                    with anyio.CancelScope(shield=True), contextlib.suppress(ConnectionClosed):
                        await upstream.close(sendable(message.get("code")), reason)
                    return

        async def from_owner() -> None:
            try:
                async for data in upstream:
                    key = "text" if isinstance(data, str) else "bytes"
                    await send({"type": "websocket.send", key: data})
            except ConnectionClosed:
                pass
            received = upstream.protocol.close_rcvd
            if received is None:
                code, reason = INTERNAL_ERROR, f"Node {target} went away"
            else:
                code, reason = sendable(received.code), received.reason
            group.cancel_scope.cancel()
            with anyio.CancelScope(shield=True), contextlib.suppress(OSError, RuntimeError):
                await send({"type": "websocket.close", "code": code, "reason": reason})

        group.start_soon(from_client)
        group.start_soon(from_owner)
