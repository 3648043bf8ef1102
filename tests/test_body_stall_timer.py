"""body_chunks' stall timer (bodies.py): one timeout moved for every chunk. A client that sends nothing for
body_timeout_seconds is a stall (408); the route's own time with a chunk in hand is not."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request

from airsequel.http.bodies import BodyStalled, body_chunks

TIMEOUT = 0.2


def request_with(messages: list[tuple[float, dict[str, Any]]]) -> Request:
    """A request whose body arrives as `messages`, each after its delay (seconds)."""
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        delay, message = pending.pop(0)
        await asyncio.sleep(delay)
        return message

    app = SimpleNamespace(
        state=SimpleNamespace(services=SimpleNamespace(settings=SimpleNamespace(body_timeout_seconds=TIMEOUT)))
    )
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "app": app}
    return Request(scope, receive)


def chunk(body: bytes, more: bool) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


def test_time_the_caller_spends_on_a_chunk_is_not_a_stall() -> None:
    async def main() -> list[bytes]:
        got = []
        async for part in body_chunks(request_with([(0, chunk(b"a", True)), (0.05, chunk(b"b", False))])):
            if part:  # Starlette ends the stream with an empty chunk
                got.append(part)
            await asyncio.sleep(3 * TIMEOUT)  # writing the chunk somewhere slow
        return got

    assert asyncio.run(main()) == [b"a", b"b"]


def test_a_client_silent_for_the_timeout_is_a_stall_even_after_a_slow_caller() -> None:
    async def main() -> list[bytes]:
        got = []
        async for part in body_chunks(request_with([(0, chunk(b"a", True)), (3 * TIMEOUT, chunk(b"b", False))])):
            if part:  # Starlette ends the stream with an empty chunk
                got.append(part)
            await asyncio.sleep(2 * TIMEOUT)
        return got

    with pytest.raises(BodyStalled) as raised:
        asyncio.run(main())
    assert "no bytes arrived for 0.2 s" in str(raised.value)
