"""The watch behind live queries, in-process: a commit from any other connection wakes a file's
watchers, nothing else does, a swapped file counts as a change; a live query runs once per change
whatever the table's size, with one SQL statement per run on the engine's compiled path."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from starlette.testclient import TestClient

from airsequel.core.graphql.live import Caller, LiveQueries, Target, prepare
from tests.helpers import create_db, sql


class Woken:
    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()

    def wait(self, timeout: float = 5) -> bool:
        found = self.event.wait(timeout)
        self.event.clear()
        return found


def make_file(path: Path) -> None:
    """A rollback-journal file: replacing it leaves no -wal of another file beside it."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t(a)")


def test_a_commit_from_another_connection_wakes_the_files_watchers_and_nothing_else_does(tmp_path, services):
    path = tmp_path / "watched.sqlite"
    make_file(path)
    watches = LiveQueries(services.graphql, services.principals, poll_seconds=0.02).watches
    first, second = Woken(), Woken()
    watches.add("k", path, first)
    watches.add("k", path, second)
    assert watches.watched_files() == 1  # one watch connection per file, shared
    polls = watches.polls
    while watches.polls < polls + 5:
        time.sleep(0.01)
    assert first.count == 0 and second.count == 0  # no commit, no wake
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    assert first.wait() and second.wait()
    # A read, or a transaction rolled back, is no commit.
    with sqlite3.connect(path) as conn:
        conn.execute("SELECT * FROM t").fetchall()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (2)")
        conn.rollback()
    assert not first.wait(0.3)
    # A file swapped under its path is a change.
    other = tmp_path / "other.sqlite"
    make_file(other)
    os.replace(other, path)
    assert first.wait()
    with sqlite3.connect(path) as conn:  # and the watch follows the new file
        conn.execute("INSERT INTO t VALUES (3)")
    assert first.wait()
    watches.remove("k", first)
    watches.remove("k", second)
    assert watches.watched_files() == 0
    time.sleep(0.1)
    assert watches._thread is None  # the thread ends with the last watcher


def test_a_live_query_runs_once_per_change_with_one_statement_whatever_the_rows(client: TestClient):
    services = client.app.state.services  # type: ignore[attr-defined]
    db_id = create_db(client, "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT)")
    session = client.headers["Authorization"].removeprefix("Bearer ")
    live = LiveQueries(services.graphql, services.principals, poll_seconds=0.02)
    operation = prepare("subscription { t(order_by: [{id: DESC}], limit: 1) { id a } }", None, 100_000)
    assert operation.is_live and operation.text.startswith("query        {")  # same length: same locations
    record = services.hosting.get(db_id)
    statements: list[str] = []
    for rows in (1, 2_000):
        assert (
            sql(
                client,
                db_id,
                f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) "
                "INSERT INTO t(a) SELECT 'x' || i FROM n",
            ).status_code
            == 200
        )
        woken = Woken()
        subscription = live.open(Caller(session, "127.0.0.1"), Target(database_id=db_id), operation, None, None, woken)
        try:
            with services.hosting.pool.reader(record.file_key, services.hosting.file_path(record)) as conn:
                conn.set_trace_callback(statements.append)  # the pool's reader: the one the run borrows
            first = live.run(subscription)
            assert first.changed and first.result["data"]["t"][0]["a"] == f"x{rows}"
            assert not live.run(subscription).changed  # nothing committed: the same digest
            assert sql(client, db_id, "INSERT INTO t(a) VALUES ('new')").status_code == 200
            assert woken.wait()
            again = live.run(subscription)
            assert again.changed and again.result["data"]["t"][0]["a"] == "new"
        finally:
            live.close(subscription)
            with services.hosting.pool.reader(record.file_key, services.hosting.file_path(record)) as conn:
                conn.set_trace_callback(None)
    # Each run is one statement on the rows (3 runs per size); the rest is the schema's one-time look.
    reads = [s for s in statements if 'FROM "t"' in s and "LIMIT 0" not in s]
    assert len(reads) == 6, statements
    assert live.open_count() == 0


def test_a_commit_of_this_process_wakes_its_live_queries_at_once_without_waiting_for_the_poll(client: TestClient):
    services = client.app.state.services  # type: ignore[attr-defined]
    db_id = create_db(client, "CREATE TABLE t(a)")
    session = client.headers["Authorization"].removeprefix("Bearer ")
    live = LiveQueries(services.graphql, services.principals, poll_seconds=60)  # the poll would take a minute
    operation = prepare("subscription { t_aggregate { count } }", None, 100_000)
    woken = Woken()
    subscription = live.open(Caller(session, "127.0.0.1"), Target(database_id=db_id), operation, None, None, woken)
    try:
        assert live.run(subscription).result == {"data": {"t_aggregate": {"count": 0}}}
        assert not woken.wait(0.2)
        assert sql(client, db_id, "INSERT INTO t VALUES (1)").status_code == 200  # the writer of this process
        assert woken.wait(2)
        assert live.run(subscription).result == {"data": {"t_aggregate": {"count": 1}}}
        mutation = client.post(
            f"/dbs/{db_id}/graphql", json={"query": 'mutation { insert_t(objects: [{a: "2"}]) { affected_rows } }'}
        )
        assert mutation.status_code == 200 and "errors" not in mutation.json(), mutation.text
        assert woken.wait(2)
        assert live.run(subscription).result == {"data": {"t_aggregate": {"count": 2}}}
    finally:
        live.close(subscription)
