"""Design check: small SELECTs through aiosqlite vs through the server's SQLite lane.

The server runs SQLite calls from the hot routes on its own lane (airsequel/http/sqlite_lane.py: anyio worker
threads behind a capacity limiter of AIRSEQUEL_SQLITE_THREADS, default 1) with connections from its pool
(airsequel/core/sql/connections.py), and answers reads that finish within a few milliseconds on the event loop
itself. aiosqlite gives each connection a thread of its own and passes every call through a queue.

This script runs 2,000 primary-key SELECTs against one WAL file of 1,000 rows, one at a time and from 16
concurrent tasks, in two shapes:
- bare query: only the SELECT. aiosqlite: one connection, `await db.execute_fetchall(...)` (one hand-off);
  lane: `await lane.run(f)` where f borrows a pooled read-only connection and runs the query;
- guarded request: what POST /sql does around a read (the SqlGuard authorizer and deadline installed, BEGIN,
  the SELECT, ROLLBACK). Through the lane that is still one hand-off; through aiosqlite's API it is seven
  awaits, on a connection borrowed from a pool of 4 (each with its own thread), since the steps of concurrent
  requests must not interleave on one connection;
and, for both shapes, "on the loop": the same function called directly (no thread), as the server does for
reads that finish within a few milliseconds. Every case runs ROUNDS times, in turns; the median round is reported.

aiosqlite is not a project dependency. To run this:
    .venv/bin/pip install aiosqlite
    .venv/bin/python bench/design/sqlite_lane_vs_aiosqlite.py
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

from airsequel.core.sql.connections import ConnectionPool
from airsequel.core.sql.guard import PROGRESS_STEPS, SqlGuard
from airsequel.http.sqlite_lane import SqliteLane

try:
    import aiosqlite
except ImportError:  # pragma: no cover - a measurement-only dependency
    raise SystemExit("aiosqlite is not installed: .venv/bin/pip install aiosqlite") from None

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

QUERIES = 2_000
ROWS = 1_000
CONCURRENCY = 16
AIOSQLITE_POOL = 4
ROUNDS = 5
SQL = "SELECT id, name, n FROM t WHERE id = ?"


def make_file(directory: Path) -> Path:
    path = directory / "main.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)")
    conn.executemany("INSERT INTO t (name, n) VALUES (?, ?)", [(f"name {i}", i * 7) for i in range(ROWS)])
    conn.close()
    return path


async def drive(one: Callable[[int], Awaitable[Any]], ids: list[int], concurrency: int) -> None:
    """Run one query per id, `concurrency` at a time."""
    if concurrency == 1:
        for key in ids:
            await one(key)
        return
    position = 0

    async def worker() -> None:
        nonlocal position
        while position < len(ids):
            key = ids[position]
            position += 1
            await one(key)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def measure(path: Path) -> dict[tuple[str, str, int], list[tuple[float, float]]]:
    pool = ConnectionPool(max_open=64)
    lane = SqliteLane(base=1)

    def bare(key: int) -> list[Any]:
        with pool.reader("bench", path) as conn:
            return conn.execute(SQL, (key,)).fetchall()

    def guarded(key: int) -> list[Any]:
        """What POST /sql does around a read: authorizer and deadline installed, one transaction."""
        with pool.reader("bench", path) as conn:
            guard = SqlGuard(may_write=False, time_limit=10.0)
            conn.execute("BEGIN")
            try:
                with guard.installed(conn):
                    return conn.execute(SQL, (key,)).fetchall()
            finally:
                conn.execute("ROLLBACK")

    uri = f"{path.as_uri()}?mode=ro"
    single = await aiosqlite.connect(uri, uri=True, isolation_level=None)
    # Guarded requests hold a connection through several awaits: a small pool, one thread per connection.
    idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
    for _ in range(AIOSQLITE_POOL):
        idle.put_nowait(await aiosqlite.connect(uri, uri=True, isolation_level=None))

    async def aiosqlite_bare(key: int) -> Any:
        return await single.execute_fetchall(SQL, (key,))

    async def aiosqlite_guarded(key: int) -> Any:
        db = await idle.get()
        try:
            guard = SqlGuard(may_write=False, time_limit=10.0)
            await db.execute("BEGIN")
            try:
                await db.set_authorizer(guard.authorize)
                await db.set_progress_handler(guard.progress, PROGRESS_STEPS)
                try:
                    return await db.execute_fetchall(SQL, (key,))
                finally:
                    await db.set_authorizer(None)
                    await db.set_progress_handler(None, PROGRESS_STEPS)
            finally:
                await db.execute("ROLLBACK")
        finally:
            idle.put_nowait(db)

    def in_lane(function: Callable[[int], list[Any]]) -> Callable[[int], Awaitable[list[Any]]]:
        async def one(key: int) -> list[Any]:
            return await lane.run(function, key)

        return one

    def on_loop(function: Callable[[int], list[Any]]) -> Callable[[int], Awaitable[list[Any]]]:
        async def one(key: int) -> list[Any]:
            return function(key)

        return one

    contestants = {
        ("bare query", "aiosqlite"): aiosqlite_bare,
        ("bare query", "lane"): in_lane(bare),
        ("bare query", "on the loop"): on_loop(bare),
        ("guarded request", "aiosqlite"): aiosqlite_guarded,
        ("guarded request", "lane"): in_lane(guarded),
        ("guarded request", "on the loop"): on_loop(guarded),
    }
    rng = random.Random(7)
    ids = [rng.randrange(1, ROWS + 1) for _ in range(QUERIES)]
    for one in contestants.values():  # warm up: connections opened, threads started, pages cached
        await drive(one, ids[:200], 4)
    results: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    for _ in range(ROUNDS):
        for concurrency in (1, CONCURRENCY):
            for (work, name), one in contestants.items():
                wall, cpu = time.perf_counter(), time.process_time()
                await drive(one, ids, concurrency)
                results.setdefault((work, name, concurrency), []).append(
                    (time.perf_counter() - wall, time.process_time() - cpu)
                )
    await single.close()
    while not idle.empty():
        await idle.get_nowait().close()
    pool.close_all()
    return results


def main() -> None:
    loop_name = "uvloop" if uvloop is not None else "asyncio"
    print(
        f"{date.today()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, aiosqlite {version('aiosqlite')}, {loop_name} event loop"
    )
    print(f"{QUERIES} SELECTs by primary key on one WAL file of {ROWS} rows; median of {ROUNDS} rounds")
    with tempfile.TemporaryDirectory() as directory:
        path = make_file(Path(directory))
        runner = uvloop.run if uvloop is not None else asyncio.run
        results = runner(measure(path))
    for work in ("bare query", "guarded request"):
        for concurrency in (1, CONCURRENCY):
            print(f"  {work}, {'one at a time' if concurrency == 1 else f'{concurrency} concurrent tasks'}:")
            for name in ("aiosqlite", "lane", "on the loop"):
                rounds = results[(work, name, concurrency)]
                wall = statistics.median(r[0] for r in rounds)
                cpu = statistics.median(r[1] for r in rounds)
                print(
                    f"    {name:12} {wall * 1000:6.0f} ms   {wall / QUERIES * 1e6:4.0f} us/query   "
                    f"{QUERIES / wall:7.0f} queries/s   CPU {cpu / QUERIES * 1e6:4.0f} us/query"
                )


if __name__ == "__main__":
    main()
