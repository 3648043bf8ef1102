"""GraphQL over WebSocket (the `graphql-transport-ws` protocol of the graphql-ws client and GraphiQL)
at the GraphQL paths: /dbs/:dbId/graphql and /readonly/:readonlyId/graphql.

`subscription` operations are live queries (core/graphql/live.py): the result at once, then again
whenever a commit changes it. `query` and `mutation` operations are answered once, then completed.
The caller is the `connection_init` payload's `Authorization` ("Bearer <token>"), else the upgrade's
Authorization header, else its session cookie (only from this site's own Origin, as for HTTP).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
from starlette.requests import Request
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from airsequel.core.errors import NotAuthenticated
from airsequel.core.graphql.live import Caller, Target
from airsequel.http.context import from_this_site, presented_secret
from airsequel.http.graphql_socket import BAD_REQUEST, FORBIDDEN, NOT_ACCEPTABLE, PROTOCOL, Connection


async def graphql_socket(websocket: WebSocket) -> None:
    # The Host check and the catch-up with other workers ran already, as for every request (edge.py).
    try:
        secret, from_cookie = presented_secret(cast(Request, websocket))  # reads headers and cookies only
    except NotAuthenticated:
        await websocket.close(FORBIDDEN)
        return
    if from_cookie and secret is not None and not _same_origin(websocket):
        await websocket.close(FORBIDDEN)  # a cross-site page must not subscribe with the visitor's cookie
        return
    if PROTOCOL not in websocket.scope.get("subprotocols", []):
        await websocket.accept()
        await websocket.close(NOT_ACCEPTABLE, "Subprotocol not acceptable")
        return
    await websocket.accept(subprotocol=PROTOCOL)
    params = websocket.path_params
    target = Target(database_id=params.get("db_id"), readonly_id=params.get("readonly_id"))
    connection = Connection(websocket, target, Caller(secret, websocket.client.host if websocket.client else "?"))
    background = [asyncio.create_task(connection.heartbeat()), asyncio.create_task(connection.init_timeout())]
    try:
        while True:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                return
            connection.last_heard = asyncio.get_running_loop().time()
            message = _parsed(received.get("text"))
            if message is None:
                await connection.close(BAD_REQUEST, "Invalid message received")
                return
            await connection.handle(message)
            if websocket.application_state != WebSocketState.CONNECTED:
                return
    except WebSocketDisconnect:
        return
    finally:
        for task in [*background, *connection.tasks.values()]:
            task.cancel()
        await asyncio.gather(*background, *connection.tasks.values(), return_exceptions=True)


def _parsed(text: str | None) -> dict[str, Any] | None:
    """A protocol message: a JSON object with a string `type`; None for anything else."""
    if text is None:
        return None
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return message if isinstance(message, dict) and isinstance(message.get("type"), str) else None


def _same_origin(websocket: WebSocket) -> bool:
    """The Origin is this server (scheme http for ws, https for wss, and the same host[:port])."""
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return from_this_site(websocket.headers.get("origin"), websocket.headers.get("host", ""), scheme)


routes = [
    WebSocketRoute("/dbs/{db_id}/graphql", graphql_socket),
    WebSocketRoute("/readonly/{readonly_id}/graphql", graphql_socket),
]
