"""`durability: "replicated"`: a write to such a database is answered only once Litestream shipped it.

The answer of a request that may write (not GET, HEAD or OPTIONS) to such a database is held at its
start: if the file's WAL changed meanwhile (a transaction committed), Litestream is asked to ship the
file and the answer goes out once the replica has it, or becomes a 503 when it could not be shipped in
time (the write is committed on its node, but not acknowledged). A read costs nothing; a request that
changed nothing costs one stat. Used by edge.py on one server and by cluster_routing.py on a node."""

from __future__ import annotations

from pathlib import Path

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Scope, Send

from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.storage.hosted_files import wal_state as file_state
from airsequel.core.storage.replication import Replication
from airsequel.http.responses import error_body
from airsequel.http.security_headers import add_headers

READS = frozenset({"GET", "HEAD", "OPTIONS"})
NOT_SHIPPED = "The write is committed on its node but could not be shipped to the replica in time: retry to be sure"


def may_write(scope: Scope, record: DatabaseRecord) -> bool:
    return record.durability == "replicated" and scope.get("method") not in READS


def json_error(status: int, message: str) -> tuple[Message, Message]:
    """An error answer as ASGI messages, with the security headers every answer has."""
    body = orjson.dumps(error_body([message]))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    start: Message = {"type": "http.response.start", "status": status, "headers": headers}
    add_headers(start)
    return start, {"type": "http.response.body", "body": body}


async def shipped_or_problem(
    replication: Replication, record: DatabaseRecord, path: Path, before: tuple[int, int]
) -> str | None:
    """None when nothing was written or Litestream shipped it; else why the answer must be a 503."""
    if file_state(path) == before:
        return None
    shipped = await run_in_threadpool(replication.sync, record.file_key)
    return None if shipped else NOT_SHIPPED


def held_until_shipped(send: Send, replication: Replication, record: DatabaseRecord, path: Path) -> Send:
    """`send`, with a successful answer held until the write it made was shipped (one server)."""
    before = file_state(path)
    refused = False

    async def send_shipped(message: Message) -> None:
        nonlocal refused
        if refused:
            return
        if message["type"] == "http.response.start" and message["status"] < 400:
            problem = await shipped_or_problem(replication, record, path, before)
            if problem is not None:
                refused = True
                start, body = json_error(503, problem)
                await send(start)
                await send(body)
                return
        await send(message)

    return send_shipped
