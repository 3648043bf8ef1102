"""A forwarded request's body: read from ASGI `receive` as it arrives, and teed into a spool while the
forwarding node may still have to send it again (after a 421, to the database's new owner)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import anyio
from starlette.types import Receive, Scope

SPOOL_MEMORY_BYTES = 1 << 20  # a body up to 1 MiB stays in memory; past that the spool is a temporary file
REPLAY_CHUNK_BYTES = 1 << 16


class ClientGone(Exception):
    """The client disconnected while its body was being forwarded."""


class Spool:
    """What has arrived of a request body, for a replay: in memory up to SPOOL_MEMORY_BYTES, then in an
    unnamed temporary file in `directory` (gone with its descriptor, whatever happens to the process)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.memory = bytearray()
        self.file: IO[bytes] | None = None
        self.size = 0

    def write(self, chunk: bytes) -> None:
        # Written on the event loop, as uploads.py writes an upload: a chunk to the page cache is quick.
        self.size += len(chunk)
        if self.file is None and len(self.memory) + len(chunk) <= SPOOL_MEMORY_BYTES:
            self.memory += chunk
            return
        if self.file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.file = tempfile.TemporaryFile(dir=self.directory)
            self.file.write(self.memory)
            self.memory = bytearray()
        self.file.write(chunk)

    async def chunks(self) -> AsyncIterator[bytes]:
        if self.file is None:
            if self.memory:
                yield bytes(self.memory)
            return
        self.file.flush()
        self.file.seek(0)
        while chunk := await anyio.to_thread.run_sync(self.file.read, REPLAY_CHUNK_BYTES):
            yield chunk

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.memory = bytearray()


class RequestBody:
    """The client's body as it arrives from ASGI `receive`, teed into a spool while a replay may follow."""

    def __init__(self, scope: Scope, receive: Receive, spool_dir: Path) -> None:
        self.receive = receive
        self.spool = Spool(spool_dir)
        headers = {name.lower() for name, _ in scope.get("headers", [])}
        self.present = b"content-length" in headers or b"transfer-encoding" in headers
        self.finished = False
        self.spooling = True
        self.done = anyio.Event()  # set when nobody else reads `receive`: the body is all in, or left unread
        if not self.present:
            self.release()

    def release(self) -> None:
        """From now on no one reads the body (it is all in, or the owner answered without it)."""
        self.finished = True
        self.spooling = False
        self.done.set()

    async def _next(self) -> bytes:
        message = await self.receive()
        if message["type"] == "http.disconnect":
            self.release()
            raise ClientGone()
        if not message.get("more_body", False):
            self.finished = True
            self.done.set()
        return bytes(message.get("body", b""))

    async def chunks(self, *, replay: bool) -> AsyncIterator[bytes]:
        if replay:
            async for chunk in self.spool.chunks():
                yield chunk
        while not self.finished:
            chunk = await self._next()
            if chunk:
                if self.spooling:
                    self.spool.write(chunk)
                yield chunk

    async def until_disconnect(self) -> None:
        """Wait for the client to go away (reading and dropping any body the owner did not want)."""
        await self.done.wait()
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                return

    def close(self) -> None:
        self.spool.close()
