"""The control plane: the server's own SQLite file holding the registry of hosted databases.

Only the server opens it. One connection, guarded by a lock; every call is short.
Schema changes are numbered migrations keyed on `PRAGMA user_version`.
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
from airsequel.core.registry.generation import BUMP, GENERATION_ROW, GenerationWatch
from airsequel.core.registry.records import DatabaseRecord as DatabaseRecord
from airsequel.core.registry.records import FileFacts as FileFacts
from airsequel.core.registry.token_id_migration import TOKEN_IDS_NEVER_REUSED
from airsequel.core.sql.connections import is_busy

MIGRATIONS: list[str] = [
    # 1: the database registry
    """
    CREATE TABLE databases (
        file_key TEXT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        readonly_id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        description TEXT,
        owner TEXT,
        created_by TEXT,
        created_utc TEXT NOT NULL,
        ownership_utc TEXT NOT NULL,
        last_modified_utc TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        schema_version INTEGER NOT NULL DEFAULT 0,
        user_version INTEGER NOT NULL DEFAULT 0,
        tables_json TEXT NOT NULL DEFAULT '[]',
        visibility TEXT NOT NULL DEFAULT 'private',
        schema_locked INTEGER NOT NULL DEFAULT 0,
        views_tab INTEGER NOT NULL DEFAULT 0,
        auditing INTEGER NOT NULL DEFAULT 0,
        environment TEXT,
        file_format TEXT NOT NULL DEFAULT 'sqlite',
        file_name TEXT NOT NULL DEFAULT 'database.sqlite'
    ) STRICT;
    CREATE INDEX databases_owner ON databases(owner);
    """,
    # 2: accounts, teams, sessions, API tokens
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        server_admin INTEGER NOT NULL DEFAULT 0,
        created_utc TEXT NOT NULL
    ) STRICT;
    CREATE TABLE teams (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_utc TEXT NOT NULL,
        billing_email TEXT,
        billing_plan TEXT,
        billing_subscription_id INTEGER
    ) STRICT;
    CREATE TABLE memberships (
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('Admin', 'Editor', 'Viewer')),
        PRIMARY KEY (team_id, user_id, role)
    ) STRICT;
    CREATE INDEX memberships_user ON memberships(user_id);
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_utc TEXT NOT NULL,
        expires_utc TEXT NOT NULL
    ) STRICT;
    CREATE TABLE password_resets (
        key_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        expires_utc TEXT NOT NULL
    ) STRICT;
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT,
        token_hash TEXT NOT NULL UNIQUE,
        masked_body TEXT NOT NULL,
        created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        created_utc TEXT NOT NULL,
        expiration_utc TEXT,
        last_used_utc TEXT
    ) STRICT;
    CREATE TABLE token_permissions (
        token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
        db_file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        permission TEXT NOT NULL CHECK (permission IN ('read', 'write', 'insert')),
        PRIMARY KEY (token_id, db_file_key)
    ) STRICT;
    """,
    # 3: descriptions and ordering of tables and columns, kept outside the hosted file
    """
    CREATE TABLE table_meta (
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        table_name TEXT NOT NULL,
        description TEXT,
        position REAL,
        PRIMARY KEY (file_key, table_name)
    ) STRICT;
    CREATE TABLE column_meta (
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        table_name TEXT NOT NULL,
        column_name TEXT NOT NULL,
        description TEXT,
        PRIMARY KEY (file_key, table_name, column_name)
    ) STRICT;
    """,
    # 4: export jobs and assets
    """
    CREATE TABLE export_jobs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
        token_id INTEGER REFERENCES tokens(id) ON DELETE CASCADE,
        team TEXT NOT NULL,
        request_json TEXT NOT NULL,
        status TEXT NOT NULL,
        rows_done INTEGER NOT NULL DEFAULT 0,
        rows_total INTEGER,
        artifact_name TEXT,
        error TEXT,
        created_utc TEXT NOT NULL,
        finished_utc TEXT,
        expires_utc TEXT
    ) STRICT;
    CREATE INDEX export_jobs_queue ON export_jobs(status, created_utc);
    CREATE TABLE assets (
        id TEXT PRIMARY KEY,
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        filename TEXT NOT NULL,
        is_uploaded INTEGER NOT NULL DEFAULT 0,
        size INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    """,
    # 5: server settings, environment variables, audit log
    """
    CREATE TABLE server_settings (
        key TEXT PRIMARY KEY,
        value_json TEXT NOT NULL
    ) STRICT;
    CREATE TABLE env_vars (
        scope TEXT NOT NULL,  -- 'server' or a database file key
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        created_utc TEXT NOT NULL,
        PRIMARY KEY (scope, name)
    ) STRICT;
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        at_utc TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        statement TEXT,
        affected_tables_json TEXT NOT NULL,
        rows INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX audit_log_database ON audit_log(file_key, id);
    """,
    # 6: charts and dashboards
    """
    CREATE TABLE charts (
        ulid TEXT PRIMARY KEY,
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        definition_json TEXT NOT NULL
    ) STRICT;
    CREATE TABLE dashboards (
        ulid TEXT PRIMARY KEY,
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        definition_json TEXT NOT NULL
    ) STRICT;
    """,
    # 7: listing pages of databases without sorting them all
    """
    CREATE INDEX databases_created ON databases(created_utc, id);
    """,
    # 8: the read-only link is off until a manager turns it on (issue 16). Existing databases come
    # out of the upgrade with their link off: ids shown before to insert-only tokens, readers and
    # former members stop working; a manager turns the link on again with a fresh id.
    """
    ALTER TABLE databases ADD COLUMN readonly_enabled INTEGER NOT NULL DEFAULT 0;
    """,
    # 9: API token ids are never reused (issue 17): the audit actor `token:<id>` names one token
    TOKEN_IDS_NEVER_REUSED,
    # 10: across worker processes (issue 18): an export job is claimed with a lease that its runner
    # renews (another worker takes over a job whose lease ran out, up to a bounded number of
    # attempts), and failed logins are counted here rather than in one process's memory.
    """
    ALTER TABLE export_jobs ADD COLUMN claimed_by TEXT;
    ALTER TABLE export_jobs ADD COLUMN lease_until REAL;
    ALTER TABLE export_jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE login_failures (
        key TEXT NOT NULL,
        at REAL NOT NULL
    ) STRICT;
    CREATE INDEX login_failures_key ON login_failures(key, at);
    """,
    # 11: the generation every process's caches are checked against, bumped by every write (issue 18)
    GENERATION_ROW,
]


class ControlPlane:
    """Registry of hosted databases (and, later, users, teams and tokens)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._migrate()
        self._generation = GenerationWatch(path)

    @property
    def generation(self) -> int:
        """Bumped by every write of any process: caches of what the control plane says are valid
        while it is unchanged. As found by the last `check_generation` (each request's first step)
        or this process's last commit, at most a second ago (see generation.py)."""
        return self._generation.recent()

    def check_generation(self) -> int:
        """Look whether any process changed the control plane: at the start of every request."""
        return self._generation.current()

    def query_committed(self, sql: str) -> list[tuple[Any, ...]]:
        """`sql` read on a connection of its own, without this control plane's lock: for a cache
        reloading under its own lock (taking both in either order could deadlock)."""
        rows = self._generation.query(sql)
        return rows if rows is not None else [tuple(row) for row in self.query(sql)]

    def _migrate(self) -> None:
        with self._lock:
            current = self._conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _statements(script):
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version={number}")
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        self._generation.close()

    @contextmanager
    def transaction(self, *, bump: bool = True) -> Iterator[sqlite3.Connection]:
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

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
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
            else (f" LIMIT -1 OFFSET {int(offset)}" if offset else "")
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
    }
)


def write_database_changes(conn: sqlite3.Connection, file_key: str, changes: dict[str, Any]) -> None:
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


def write_file_facts(conn: sqlite3.Connection, file_key: str, facts: FileFacts) -> None:
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
