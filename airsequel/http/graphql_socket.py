"""One WebSocket of live queries: the `graphql-transport-ws` protocol's session (its messages, its
subscriptions as tasks, its heartbeat); routes/graphql_ws.py accepts the socket and feeds it messages.
Everything that touches a database or decides access is the core's (core/graphql/live.py), run on the
SQLite lane."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from airsequel.core.errors import CoreError, NotAuthenticated, TooManyRequests, Unavailable
from airsequel.core.graphql.live import Caller, LiveQueries, Operation, Subscription, Target, prepare
from airsequel.core.graphql.live import principal_key as key_of
from airsequel.core.services import Services

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 3.0  # graphql-ws's own default
HEARTBEAT_SECONDS = 15.0  # a ping from the server; a client silent for 3 of them is closed
RETRY_SECONDS = 0.5  # a run refused for a moment (the caller's share full, the file busy)

# The protocol's close codes.
BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_ACCEPTABLE = 4400, 4401, 4403, 4406
INIT_TIMEOUT, ALREADY_SUBSCRIBED, TOO_MANY_INITS = 4408, 4409, 4429
SILENT = 4504  # no message, not even a pong, for three heartbeats


def services_of(websocket: WebSocket) -> Services:
    return cast(Services, websocket.app.state.services)


def live_queries(websocket: WebSocket) -> LiveQueries:
    """This process's live queries, made on first use."""
    state = websocket.app.state
    found = getattr(state, "live_queries", None)
    if found is None:
        found = state.live_queries = LiveQueries(services_of(websocket).graphql, services_of(websocket).principals)
    return cast(LiveQueries, found)


class Connection:
    """One socket: its state, its subscriptions (each a task), and one lock for sending."""

    def __init__(self, websocket: WebSocket, target: Target, caller: Caller) -> None:
        self.websocket = websocket
        self.target = target
        self.caller = caller
        self.live = live_queries(websocket)
        self.tenant = f"address:{caller.address}"
        self.acknowledged = False
        self.initialised = False
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.sending = asyncio.Lock()
        self.last_heard = asyncio.get_running_loop().time()

    async def send(self, message: dict[str, Any]) -> None:
        async with self.sending:
            if self.websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await self.websocket.send_text(orjson.dumps(message).decode())

    async def close(self, code: int, reason: str) -> None:
        async with self.sending:
            if self.websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await self.websocket.close(code, reason.encode()[:120].decode(errors="ignore"))

    async def blocking(self, function: Any, *args: Any, tenant: str | None = None) -> Any:
        """Core work on the SQLite lane, within the caller's share and the time limit."""
        settings = services_of(self.websocket).settings
        return await self.websocket.app.state.sqlite_lane.run(
            function,
            *args,
            tenant=tenant or self.tenant,
            share=settings.tenant_max_concurrent_queries,
            time_limit=settings.sql_time_limit_seconds,
        )

    # --- messages ----------------------------------------------------------------------------

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "connection_init":
            await self.on_init(message.get("payload"))
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            await self.on_subscribe(message)
        elif kind == "complete":
            identifier = message.get("id")
            if not isinstance(identifier, str):
                await self.close(BAD_REQUEST, "Invalid message received: 'complete' needs an 'id'")
                return
            task = self.tasks.pop(identifier, None)
            if task is not None:
                task.cancel()
        else:
            await self.close(BAD_REQUEST, f"Invalid message received: unknown type {kind!r}")

    async def on_init(self, payload: Any) -> None:
        if self.initialised:
            await self.close(TOO_MANY_INITS, "Too many initialisation requests")
            return
        self.initialised = True
        if payload is not None and not isinstance(payload, dict):
            await self.close(BAD_REQUEST, "Invalid message received: 'payload' must be an object")
            return
        given = (payload or {}).get("Authorization", (payload or {}).get("authorization"))
        if given is not None:
            scheme, _, value = given.partition(" ") if isinstance(given, str) else ("", "", "")
            if scheme.lower() != "bearer" or not value.strip():
                await self.close(FORBIDDEN, "Forbidden: use 'Authorization: Bearer <token>'")
                return
            self.caller = Caller(value.strip(), self.caller.address)
        try:
            principal = await self.blocking(self.live.authenticate, self.caller)
        except CoreError as error:
            await self.close(FORBIDDEN, f"Forbidden: {error.messages[0]}")
            return
        self.tenant = key_of(principal, self.caller.address)
        self.acknowledged = True
        await self.send({"type": "connection_ack"})

    async def on_subscribe(self, message: dict[str, Any]) -> None:
        if not self.acknowledged:
            await self.close(UNAUTHORIZED, "Unauthorized")
            return
        identifier, payload = message.get("id"), message.get("payload")
        if not isinstance(identifier, str) or not identifier or not isinstance(payload, dict):
            await self.close(BAD_REQUEST, "Invalid message received: 'subscribe' needs an 'id' and a 'payload'")
            return
        if identifier in self.tasks:
            await self.close(ALREADY_SUBSCRIBED, f"Subscriber for {identifier} already exists")
            return
        query, variables, name = payload.get("query"), payload.get("variables"), payload.get("operationName")
        if not isinstance(query, str) or not query.strip():
            await self.error(identifier, "The payload needs a GraphQL document in 'query'")
            return
        if variables is not None and not isinstance(variables, dict):
            await self.error(identifier, "'variables' must be an object")
            return
        if name is not None and not isinstance(name, str):
            await self.error(identifier, "'operationName' must be a string")
            return
        limit = services_of(self.websocket).hosting.live.current.graphql_max_query_chars
        try:
            # On the lane, as the HTTP route parses: a long document takes graphql-core a while to parse,
            # and the event loop serves every other socket and request of this worker.
            operation = await self.blocking(prepare, query, name, limit)
        except CoreError as error:  # it does not parse (InvalidInput), or the caller is over its share
            await self.error(identifier, *error.messages)
            return
        runner = self.live_query if operation.is_live else self.answer_once
        self.tasks[identifier] = asyncio.create_task(runner(identifier, operation, variables, name))

    async def error(self, identifier: str, *messages: str) -> None:
        await self.send({"type": "error", "id": identifier, "payload": [{"message": m} for m in messages]})

    # --- operations --------------------------------------------------------------------------

    async def answer_once(self, identifier: str, operation: Operation, variables: Any, name: str | None) -> None:
        try:
            result = await self.blocking(self.live.run_once, self.caller, self.target, operation, variables, name)
        except CoreError as error:
            await self.error(identifier, *error.messages)
        else:
            await self.send({"type": "next", "id": identifier, "payload": result})
            await self.send({"type": "complete", "id": identifier})
        finally:
            self.forget(identifier)

    async def live_query(self, identifier: str, operation: Operation, variables: Any, name: str | None) -> None:
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake() -> None:  # from the watch thread
            with contextlib.suppress(RuntimeError):  # the loop is closed: the server is stopping
                loop.call_soon_threadsafe(woken.set)

        subscription: Subscription | None = None
        try:
            subscription = await self.opened(operation, variables, name, wake)
            while True:
                try:
                    outcome = await self.blocking(self.live.run, subscription, tenant=subscription.principal_key)
                except (TooManyRequests, Unavailable) as error:
                    if subscription.runs == 0 and isinstance(error, TooManyRequests) and error.retry_after is None:
                        raise
                    await asyncio.sleep(RETRY_SECONDS)  # over the share or busy for a moment: once more
                    woken.set()
                else:
                    result = outcome.result
                    if subscription.runs == 1 and result.get("data") is None and result.get("errors"):
                        # Refused before it ran (an unknown field, a limit): the operation's error.
                        await self.send({"type": "error", "id": identifier, "payload": result["errors"]})
                        return
                    if outcome.changed:
                        await self.send({"type": "next", "id": identifier, "payload": result})
                await woken.wait()
                woken.clear()
        except CoreError as error:
            await self.error(identifier, *error.messages)
            if isinstance(error, NotAuthenticated):  # the connection's caller is gone: so is the socket
                await self.close(FORBIDDEN, f"Forbidden: {error.messages[0]}")
        finally:
            if subscription is not None:
                self.live.close(subscription)  # no SQL: a lock, and the file's watch connection closed
            self.forget(identifier)

    def forget(self, identifier: str) -> None:
        """This task's id is free again, unless a newer subscription with the same id holds it already
        (a `complete` and a `subscribe` with one id may both be handled before this task ended)."""
        if self.tasks.get(identifier) is asyncio.current_task():
            del self.tasks[identifier]

    async def opened(self, operation: Operation, variables: Any, name: str | None, wake: Any) -> Subscription:
        """A new subscription; one opened after its socket went away (the open was running on its
        thread) is closed again at once, so that it never counts against the bounds."""
        opening = asyncio.ensure_future(
            self.blocking(self.live.open, self.caller, self.target, operation, variables, name, wake)
        )

        def close_late(done: asyncio.Future[Subscription]) -> None:
            if not done.cancelled() and done.exception() is None:
                self.live.close(done.result())

        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(close_late)
            raise

    async def heartbeat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if loop.time() - self.last_heard > 3 * HEARTBEAT_SECONDS:
                await self.close(SILENT, "No message for three heartbeats")
                return
            if self.acknowledged:
                await self.send({"type": "ping"})

    async def init_timeout(self) -> None:
        await asyncio.sleep(INIT_TIMEOUT_SECONDS)
        if not self.acknowledged:
            await self.close(INIT_TIMEOUT, "Connection initialisation timeout")
