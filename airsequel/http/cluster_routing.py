"""Where a request runs in a cluster: on this node, or forwarded to the node that owns its database.

Called by edge.py for every request of a cluster node, after the Host check. A request that names a
database (by id, read-only id, export job, or the Medable organisation that is a database) runs on
the database's owner; a new database goes to the least-loaded live node; a drain goes to the node it
names; everything else (logins, listings, settings: the shared control plane) runs here.

On the owner a request first passes the database's gate (held back while a planned move runs, then
sent on to the new owner), then the node's fence (its lease must hold) and the file must be held at
its epoch (restored first when it has just been given to this node). Its answer is checked against
the fence again when it starts: a write that finished after the lease ran out is not acknowledged.
A database set to `durability: "replicated"` gets its write shipped by Litestream before the answer.
A forwarded request for a database this node does not own gets 421: the forwarding node reads the
map again and retries once.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airsequel.core.cluster.node import ClusterNode
from airsequel.core.errors import CoreError
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.services import Services
from airsequel.http.forwarding import Forwarder, ForwardingSignature, adopt_forwarded_client
from airsequel.http.replicated_writes import file_state, json_error, may_write, shipped_or_problem
from airsequel.http.shared_state import catch_up
from airsequel.http.socket_forwarding import forward_websocket

NODE_HEADER = b"x-airsequel-node"
PLACE_HERE = "x-airsequel-place-here"  # signed: the forwarding node chose this node for a new database
GATE_WAIT_SECONDS = 60.0  # how long a request waits for a planned move of its database

_DATABASE = re.compile(r"^/(?:api/)?dbs/([^/]+)(?:/|$)")
_MOVE = re.compile(r"^/api/cluster/databases/([^/]+)/move$")
_PIXIEBRIX = re.compile(r"^/api/databases/([^/]+)/records/?$")
_READONLY = re.compile(r"^/readonly/([^/]+)(?:/|$)")
_JOB = re.compile(r"^/api/(?:databases/records/jobs|exports)/([^/]+)(?:/|$)")
_MEDABLE = re.compile(r"^/([^/]+)/v2/exports(?:/|$)")
_NODE = re.compile(r"^/api/cluster/nodes/([^/]+)/drain$")
_CREATE = frozenset({"/api/dbs", "/dbs"})

Route = tuple[str, str]  # (kind, key): database | readonly | job | node | create


def route_of(scope: Scope) -> Route | None:
    path: str = scope["path"]
    for kind, pattern in (
        ("database", _DATABASE),
        ("move", _MOVE),
        ("database", _PIXIEBRIX),
        ("readonly", _READONLY),
        ("job", _JOB),
        ("database", _MEDABLE),
        ("node", _NODE),
    ):
        found = pattern.match(path)
        if found and found.group(1) != "records":
            return kind, found.group(1)
    if path in _CREATE and scope.get("method") == "POST":
        return "create", ""
    return None


_json_answer = json_error


class ClusterRouting:
    def __init__(self, services: Services, cluster: ClusterNode) -> None:
        self.services = services
        self.cluster = cluster
        self.signature = ForwardingSignature(services.settings.secret_key)
        self.forwarder = Forwarder(node_id=cluster.node_id, signature=self.signature, spool_dir=services.layout.tmp_dir)
        self.node_header = (NODE_HEADER, cluster.node_id.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        forwarded_by = self.signature.verify(scope)
        if forwarded_by is not None:
            adopt_forwarded_client(scope)
        route = route_of(scope)
        if route is None:
            await app(scope, receive, self._marked(send))
            return
        kind, key = route
        if kind == "create":
            await self._create(scope, receive, send, app, forwarded_by)
            return
        if kind in ("job", "node"):
            node = await run_in_threadpool(self._node_for, kind, key)
            if node is None or node == self.cluster.node_id or forwarded_by is not None:
                await app(scope, receive, self._marked(send))
                return
            url = await run_in_threadpool(self.cluster.node_url, node)
            if url is None:
                await app(scope, receive, self._marked(send))
                return
            await self._forward(scope, receive, send, url, lambda: self._same(url))
            return
        record = await self._record(kind, key)
        if record is None:  # no such database (or a bad id): this node answers as any would
            await app(scope, receive, self._marked(send))
            return
        if kind == "move":  # runs on the owner, outside the gate it closes
            if record.node is None or self.cluster.is_local(record):
                await app(scope, receive, self._marked(send))
            else:
                await self._remote(scope, receive, send, kind, key, record, forwarded_by)
            return
        if record.node is None:  # hosted before the server became a cluster: a takeover places it
            await self._answer(send, 503, f"Database {key} is being placed on a node of the cluster: retry in a moment")
            return
        if self.cluster.is_local(record):
            await self._local(scope, receive, send, app, kind, key, record, forwarded_by)
            return
        await self._remote(scope, receive, send, kind, key, record, forwarded_by)

    # --- where -----------------------------------------------------------------------------------

    def _node_for(self, kind: str, key: str) -> str | None:
        if kind == "job":
            return self.services.exports.node_of(key)
        return key

    async def _record(self, kind: str, key: str) -> DatabaseRecord | None:
        hosting = self.services.hosting
        try:
            if kind in ("database", "move"):
                cached = hosting.cached(key)
                return cached if cached is not None else await run_in_threadpool(hosting.get, key)
            return await run_in_threadpool(hosting.get_by_readonly_id, key)
        except CoreError:
            return None

    async def _same(self, url: str) -> str | None:
        return url

    # --- here --------------------------------------------------------------------------------

    async def _local(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        app: ASGIApp,
        kind: str,
        key: str,
        record: DatabaseRecord,
        forwarded_by: str | None,
    ) -> None:
        if scope["type"] == "websocket":
            if not self.cluster.lease.serving:
                await send({"type": "websocket.close", "code": 1013, "reason": "lease ran out: try again"})
                return
            try:
                await run_in_threadpool(self.cluster.serve, record)
            except CoreError as error:
                await send({"type": "websocket.close", "code": 1013, "reason": str(error)[:120]})
                return
            await app(scope, receive, self._fenced_socket(send, record, self.cluster.tenure(record)))
            return
        gates, file_key = self.cluster.gates, record.file_key
        if not gates.try_enter(file_key):
            if not await run_in_threadpool(gates.enter, file_key, GATE_WAIT_SECONDS):
                await self._answer(send, 503, f"Database {record.id} is moving: try again in a moment")
                return
            # Let in after a move: it may be somewhere else now.
            gates.leave(file_key)
            await catch_up(self.services)
            moved = await self._record(kind, key)
            if moved is None or not self.cluster.is_local(moved):
                if moved is None:
                    await app(scope, receive, self._marked(send))
                else:
                    await self._remote(scope, receive, send, kind, key, moved, forwarded_by)
                return
            record = moved
            if not gates.try_enter(file_key):
                await self._answer(send, 503, f"Database {record.id} is moving: try again in a moment")
                return
        try:
            if not (self.cluster.lease.serving and self.cluster.adoption.holds(record)):
                try:
                    await run_in_threadpool(self.cluster.serve, record)
                except CoreError as error:
                    await self._answer(send, error.status, str(error))
                    return
            tenure = self.cluster.tenure(record)
            path = self.services.hosting.file_path(record)
            before = file_state(path) if may_write(scope, record) else None
            await app(scope, receive, self._fenced(send, record, before, tenure))
        finally:
            gates.leave(file_key)

    def _fenced(
        self, send: Send, record: DatabaseRecord, before: tuple[int, int] | None, tenure: tuple[int, int]
    ) -> Send:
        """`send`, with the answer refused (503) unless this node still serves the file as it did when
        the request began (its lease, incarnation and epoch: ClusterNode.still_serving), and held until
        the write was shipped for a replicated database."""
        refused = False

        async def send_checked(message: Message) -> None:
            nonlocal refused
            if refused:
                return
            if message["type"] == "http.response.start":
                problem = None
                if before is not None and message["status"] < 400:
                    problem = await self._ship(record, before)
                if problem is None and not self.cluster.still_serving(record, tenure):
                    problem = (
                        "This node stopped serving the database before the answer (its lease ran out, or the"
                        " database moved): the request is not acknowledged; retry it"
                    )
                if problem is not None:
                    refused = True
                    start, body = _json_answer(503, problem)
                    start["headers"].append(self.node_header)
                    await send(start)
                    await send(body)
                    return
                message["headers"] = [*message.get("headers", []), self.node_header]
            await send(message)

        return send_checked

    def _fenced_socket(self, send: Send, record: DatabaseRecord, tenure: tuple[int, int]) -> Send:
        """A live-query socket's `send` (its results, mutations' included): each message goes out only
        while this node still serves the file as when the socket opened, after the file's writes were
        shipped for a replicated database; otherwise the socket closes (1012), and the client connects
        again, through the routing, to the owner."""
        replicated = record.durability == "replicated"
        path = self.services.hosting.file_path(record)
        state = [file_state(path)]
        closed = False

        async def send_checked(message: Message) -> None:
            nonlocal closed
            if closed:
                return
            if message["type"] == "websocket.send":
                problem = None
                if replicated:
                    problem = await self._ship(record, state[0])
                    state[0] = file_state(path)
                if problem is None and not self.cluster.still_serving(record, tenure):
                    problem = "this node no longer serves the database: connect again"
                if problem is not None:
                    closed = True
                    await send({"type": "websocket.close", "code": 1012, "reason": problem[:120]})
                    return
            await send(message)

        return send_checked

    async def _ship(self, record: DatabaseRecord, before: tuple[int, int]) -> str | None:
        replication = self.services.replication
        assert replication is not None
        return await shipped_or_problem(replication, record, self.services.hosting.file_path(record), before)

    def _marked(self, send: Send) -> Send:
        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.node_header]
            await send(message)

        return send_marked

    async def _answer(self, send: Send, status: int, message: str) -> None:
        start, body = _json_answer(status, message)
        start["headers"].append(self.node_header)
        await send(start)
        await send(body)

    # --- elsewhere ---------------------------------------------------------------------------

    async def _remote(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        kind: str,
        key: str,
        record: DatabaseRecord,
        forwarded_by: str | None,
    ) -> None:
        if forwarded_by is not None:  # sent here by a node whose map is behind: it reads it again
            message = f"Node {self.cluster.node_id} does not own database {key}: node {record.node} does"
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1013, "reason": message[:120]})
            else:
                await self._answer(send, 421, message)
            return
        assert record.node is not None
        url = await run_in_threadpool(self.cluster.node_url, record.node)
        if url is None:
            await self._answer(send, 503, f"Node {record.node}, which owns database {key}, is not in the cluster")
            return

        async def retarget() -> str | None:
            await catch_up(self.services)
            fresh = await self._record(kind, key)
            if fresh is None or fresh.node is None:
                return None
            if self.cluster.is_local(fresh):
                return self.cluster.url
            return await run_in_threadpool(self.cluster.node_url, fresh.node)

        await self._forward(scope, receive, send, url, retarget)

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        url: str,
        retarget: Callable[[], Awaitable[str | None]],
        extra: dict[str, str] | None = None,
    ) -> None:
        if scope["type"] == "websocket":
            await forward_websocket(
                scope, receive, send, target=url, signature=self.signature, node_id=self.cluster.node_id
            )
            return
        await self.forwarder.forward(scope, receive, send, target=url, retarget=retarget, extra_headers=extra)

    async def _create(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp, forwarded_by: str | None) -> None:
        headers = dict(scope.get("headers", []))
        if forwarded_by is not None and headers.get(PLACE_HERE.encode()) == b"1":
            url = None
        else:
            url = await run_in_threadpool(self.cluster.placement)
        if url is None:
            if not self.cluster.lease.serving:
                await self._answer(send, 503, "This node's lease in the cluster ran out: try again")
                return
            await app(scope, receive, self._marked(send))
            return
        await self._forward(scope, receive, send, url, lambda: self._same(url), {PLACE_HERE: "1"})

    async def aclose(self) -> None:
        await self.forwarder.aclose()
