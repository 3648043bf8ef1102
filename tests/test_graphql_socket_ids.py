"""A subscription id used again at once: `complete` then `subscribe` with the same id, both handled before the
first task ended. The new task must stay tracked (so that its own `complete`, and the socket's close, end it),
and parsing must not run on the event loop. In-process, on the socket's own Connection, with the SQLite lane
replaced by a stand-in that runs parsing and holds every query open."""

from __future__ import annotations

import asyncio
from typing import Any

from airsequel.core.graphql.live import prepare
from airsequel.http import graphql_socket


class _Settings:
    graphql_max_query_chars = 100_000


class _Services:
    class hosting:  # noqa: N801
        class live:  # noqa: N801
            current = _Settings()


def test_a_reused_id_keeps_its_new_task_tracked_and_cancellable(monkeypatch):
    monkeypatch.setattr(graphql_socket, "services_of", lambda websocket: _Services)
    sent: list[dict[str, Any]] = []
    on_the_lane: list[object] = []

    async def main() -> tuple[bool, bool, bool]:
        connection = graphql_socket.Connection.__new__(graphql_socket.Connection)
        connection.tasks = {}
        connection.websocket = None
        connection.acknowledged = True

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def blocking(function: Any, *args: Any, tenant: str | None = None) -> Any:
            on_the_lane.append(function)
            if function is prepare:
                return function(*args)
            await asyncio.sleep(30)  # a query that runs until it is cancelled

        connection.send = send  # type: ignore[method-assign]
        connection.blocking = blocking  # type: ignore[method-assign]
        connection.live = type("Live", (), {"run_once": None})()  # never called: `blocking` stands in
        connection.caller = connection.target = None
        subscribe = {"type": "subscribe", "id": "1", "payload": {"query": "query { a }"}}
        await connection.handle(subscribe)
        await asyncio.sleep(0)
        await connection.handle({"type": "complete", "id": "1"})
        await connection.handle(subscribe)  # before the first task's cleanup ran
        second = connection.tasks["1"]
        await asyncio.sleep(0.05)
        tracked = connection.tasks.get("1") is second
        await connection.handle({"type": "complete", "id": "1"})
        await asyncio.sleep(0.05)
        return tracked, second.done(), "1" not in connection.tasks

    tracked, ended, freed = asyncio.run(main())
    assert tracked, "the new subscription fell out of the connection's tasks"
    assert ended and freed
    assert on_the_lane.count(prepare) == 2  # both documents were parsed on the lane, not on the loop
