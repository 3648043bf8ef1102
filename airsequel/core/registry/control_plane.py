"""The control plane: the server's own database of the registry of hosted databases, users, teams,
tokens, settings, audit, export jobs, assets and charts.

It lives in a SQLite file in the data directory (the default: nothing to install), or in a PostgreSQL
database (`--control-plane postgresql://...`, postgres_engine.py). Its statements are written once, in
SQLite's SQL, and go through the calls of connection.py; on PostgreSQL each is translated once.
Only the server opens it. One connection, guarded by a lock; every call is short.
Schema changes are numbered migrations (migrations.py).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from airsequel.core.errors import Unavailable
from airsequel.core.registry.connection import ControlConnection, ControlRow
from airsequel.core.registry.generation import BUMP, GenerationWatch, SqliteGenerationWatch
from airsequel.core.registry.migrations import MIGRATIONS as MIGRATIONS
from airsequel.core.registry.migrations import postgresql_migrations
from airsequel.core.registry.postgres_engine import (
    PostgresConnection,
    PostgresGenerationWatch,
    is_postgres_url,
    migrate,
)
from airsequel.core.registry.records import DatabaseRecord as DatabaseRecord
from airsequel.core.registry.records import FileFacts as FileFacts
from airsequel.core.sql.connections import is_busy


class ControlPlane:
    """Registry of hosted databases, and everything the server keeps about its users."""

    def __init__(self, location: Path | str) -> None:
        """`location`: the SQLite file's path, or a postgresql:// URL."""
        self._lock = threading.RLock()
        self._conn: ControlConnection
        self._generation: GenerationWatch
        if is_postgres_url(location):
            url = str(location)
            self.path: Path | None = None
            self.engine = "postgresql"
            postgres = PostgresConnection(url)
            self._conn = postgres
            self._close = postgres.close
            migrate(postgres, postgresql_migrations())
            self._generation = PostgresGenerationWatch(url)
            return
        path = Path(location)
        self.path = path
        self.engine = "sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self._conn = conn
        self._close = conn.close
        self._migrate(conn)
        self._generation = SqliteGenerationWatch(path)

    @property
    def generation(self) -> int:
        """Bumped by every write of any process: caches of what the control plane says are valid
        while it is unchanged. As found by the last `check_generation` (each request's first step)
        or this process's last commit, at most a second ago (see generation.py)."""
        return self._generation.recent()

    @property
    def check_waits_for_a_server(self) -> bool:
        """`check_generation` asks another server (PostgreSQL): callers on an event loop run it on a thread."""
        return self.engine == "postgresql"

    def check_generation(self) -> int:
        """Look whether any process changed the control plane: at the start of every request."""
        return self._generation.current()

    def query_committed(self, sql: str) -> list[tuple[Any, ...]]:
        """`sql` read on a connection of its own, without this control plane's lock: for a cache
        reloading under its own lock (taking both in either order could deadlock)."""
        rows = self._generation.query(sql)
        return rows if rows is not None else [tuple(row) for row in self.query(sql)]

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _statements(script):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={number}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        with self._lock:
            self._close()
        self._generation.close()

    @contextmanager
    def transaction(self, *, bump: bool = True) -> Iterator[ControlConnection]:
        """Run several statements atomically. `bump=False`: a write no cached answer depends on (login
        failures, job leases and progress), which leaves every process's caches as they are."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if is_busy(error):  # another worker process kept its write open past the busy timeout
                    raise Unavailable("The server is busy: retry in a moment") from error
                raise
            try:
                yield self._conn
                # In the same transaction: every process sees the change with it.
                generation = self._conn.execute(BUMP).fetchone()[0] if bump else None
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            if generation is not None:
                self._generation.saw(generation)  # this process's own change counts at once

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[ControlRow]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = (), *, bump: bool = True) -> int:
        """Run one writing statement in its own transaction; return the number of changed rows.
        `bump`: as for `transaction`."""
        with self._lock:
            if self._conn.in_transaction:  # inside this thread's transaction(), which decides the bump
                return self._conn.execute(sql, params).rowcount
            with self.transaction(bump=bump) as conn:
                return conn.execute(sql, params).rowcount

    def execute_alone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """One writing statement that needs no other writer kept out (it is atomic by itself, such as an
        UPDATE of one row by its key): on PostgreSQL it takes only its row's lock, not the write lock of
        `transaction`, so a writer stuck holding that lock (a process paused mid-transaction) does not
        hold it up. Bumps nothing. Returns the number of changed rows."""
        with self._lock:
            if self._conn.in_transaction:
                return self._conn.execute(sql, params).rowcount
            if self.engine == "sqlite":
                try:
                    return self._conn.execute(sql, params).rowcount
                except sqlite3.OperationalError as error:
                    if is_busy(error):
                        raise Unavailable("The server is busy: retry in a moment") from error
                    raise
            return self._conn.execute(sql, params).rowcount

    # --- the database registry -------------------------------------------------------------

    def insert_database(self, record: DatabaseRecord) -> None:
        values = {**record.__dict__, "tables_json": orjson.dumps(record.tables).decode()}
        del values["tables"]
        columns = ", ".join(values)
        placeholders = ", ".join(f":{name}" for name in values)
        self.execute(f"INSERT INTO databases ({columns}) VALUES ({placeholders})", values)

    def database_by(self, column: str, value: str) -> DatabaseRecord | None:
        if column not in ("id", "readonly_id", "file_key"):
            raise ValueError(column)
        rows = self.query(f"SELECT * FROM databases WHERE {column} = ?", (value,))
        return DatabaseRecord.from_row(rows[0]) if rows else None

    def list_databases(
        self,
        owners: Sequence[str] | None = None,
        file_keys: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[DatabaseRecord], int]:
        """A page of databases (all, or those owned by one of `owners`, or with one of `file_keys`),
        newest first, and how many there are in all."""
        where, params = self._database_filter(owners, file_keys)
        total = self.query(f"SELECT count(*) FROM databases{where}", params)[0][0]
        page = (
            f" LIMIT {int(limit)} OFFSET {int(offset)}"
            if limit is not None
            else (f" LIMIT -1 OFFSET {int(offset)}" if offset else "")  # -1: no limit (translated too)
        )
        rows = self.query(f"SELECT * FROM databases{where} ORDER BY created_utc DESC, id DESC{page}", params)
        return [DatabaseRecord.from_row(row) for row in rows], total

    @staticmethod
    def _database_filter(owners: Sequence[str] | None, file_keys: Sequence[str] | None) -> tuple[str, list[str]]:
        clauses: list[str] = []
        params: list[str] = []
        if owners is not None:
            clauses.append(f"owner COLLATE NOCASE IN ({', '.join('?' for _ in owners)})")
            params.extend(owners)
        if file_keys is not None:
            clauses.append(f"file_key IN ({', '.join('?' for _ in file_keys)})")
            params.extend(file_keys)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def count_databases(self) -> int:
        return self.query("SELECT count(*) FROM databases")[0][0]

    def update_database(self, file_key: str, **changes: Any) -> None:
        if changes:
            with self.transaction() as conn:
                write_database_changes(conn, file_key, changes)

    def delete_database(self, file_key: str) -> bool:
        return self.execute("DELETE FROM databases WHERE file_key = ?", (file_key,)) > 0


UPDATABLE = frozenset(
    {
        "id",
        "readonly_id",
        "readonly_enabled",
        "name",
        "description",
        "owner",
        "ownership_utc",
        "visibility",
        "schema_locked",
        "views_tab",
        "auditing",
        "environment",
        "file_name",
        "file_format",
        "durability",
    }
)


def write_database_changes(conn: ControlConnection, file_key: str, changes: dict[str, Any]) -> None:
    """Change columns of a database's registry row, inside the caller's transaction.

    Making a public database private turns its read-only link off (whoever changes the visibility):
    anonymous access ends with it, and a manager turns the link on again explicitly."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    if changes:
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        if changes.get("visibility") == "private" and "readonly_enabled" not in changes:
            assignments += ", readonly_enabled = CASE WHEN visibility <> 'private' THEN 0 ELSE readonly_enabled END"
        conn.execute(
            f"UPDATE databases SET {assignments} WHERE file_key = :file_key", {**changes, "file_key": file_key}
        )


def write_file_facts(conn: ControlConnection, file_key: str, facts: FileFacts) -> None:
    """A hosted file's size, schema and modification time, inside the caller's transaction."""
    conn.execute(
        "UPDATE databases SET size = ?, schema_version = ?, user_version = ?, tables_json = ?,"
        " last_modified_utc = ? WHERE file_key = ?",
        (
            facts.size,
            facts.schema_version,
            facts.user_version,
            orjson.dumps(facts.tables).decode(),
            facts.last_modified_utc,
            file_key,
        ),
    )


def _statements(script: str) -> Iterator[str]:
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()
