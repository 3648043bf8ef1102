"""The control plane on PostgreSQL: a connection that runs the control plane's SQLite statements.

`ControlPlane` talks to its engine through the few DB-API calls that sqlite3 has (execute, executemany,
fetchone, fetchall, rowcount, in_transaction; see connection.py). `PostgresConnection` gives those calls
over one psycopg connection, translating every statement once (postgres_dialect.py) and returning rows
that read by index and by name like sqlite3.Row.

Transactions keep SQLite's meaning. `BEGIN IMMEDIATE` (every write transaction of the control plane) takes
one transaction-scoped advisory lock, so that writers queue one at a time as they do on SQLite, and a
read-then-write inside a transaction sees no other writer in between; reads take no lock. A writer waits at
most `lock_timeout` (5 s, as SQLite's busy timeout) and then gets the same 503 as on SQLite.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from airsequel.core.errors import InvalidInput, Unavailable
from airsequel.core.registry.generation import GenerationWatch
from airsequel.core.registry.postgres_dialect import to_postgres

# Any constant works: advisory locks are per database, and only the control plane takes this one.
WRITE_LOCK_KEY = 0x41_69_72_53_65_71  # "AirSeq"
LOCK_TIMEOUT = "5s"
IDLE_IN_TRANSACTION_TIMEOUT = "5s"
CONNECT_TIMEOUT_SECONDS = 5
BUSY = "The server is busy: retry in a moment"
NUL_IN_TEXT = "Text may not contain the NUL character (U+0000)"
Params = Sequence[Any] | Mapping[str, Any]
GENERATION = "SELECT value FROM control_generation WHERE id = 1"
IN_TRANSACTION = (TransactionStatus.ACTIVE, TransactionStatus.INTRANS, TransactionStatus.INERROR)


def is_postgres_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


class Row(tuple[Any, ...]):
    """A row that reads by position and by (case-insensitive) column name, as sqlite3.Row does."""

    _names: dict[str, int]
    _keys: list[str]

    def __new__(cls, values: Iterable[Any], keys: list[str], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._keys = keys
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key.lower()])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return self._keys


def _plain(value: Any) -> Any:
    """PostgreSQL's numeric (sum() of integers, avg()) as the int or float SQLite gives."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _row_factory(cursor: psycopg.Cursor[Any]) -> Callable[[Sequence[Any]], Row]:
    keys = [column.name for column in cursor.description or ()]
    names = {name.lower(): index for index, name in reversed(list(enumerate(keys)))}
    return lambda values: Row((_plain(value) for value in values), keys, names)


def _value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)  # the 0/1 that SQLite stores
    if isinstance(value, str) and "\x00" in value:
        raise InvalidInput(NUL_IN_TEXT)  # PostgreSQL's text cannot hold it (SQLite's can)
    return value


def _bound(params: Params) -> Params | None:
    """Parameters as psycopg takes them (None for none)."""
    if isinstance(params, Mapping):
        return {name: _value(value) for name, value in params.items()} or None
    return [_value(value) for value in params] or None


class PostgresCursor:
    """The result of one statement: sqlite3.Cursor's reading calls."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount

    def fetchone(self) -> Any:
        return None if self._cursor.description is None else self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return [] if self._cursor.description is None else self._cursor.fetchall()


UNREACHABLE = "The control plane (PostgreSQL) cannot be reached: try again in a moment"


class ControlPlaneUnreachable(Unavailable):
    """The PostgreSQL server did not answer (down, restarting, or the network): 503, never a 500."""


class PostgresConnection:
    """sqlite3.Connection's calls that the control plane makes, on one PostgreSQL connection."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.RLock()
        self._pg = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            connection: psycopg.Connection[Any] = psycopg.connect(
                self._url,
                autocommit=True,
                row_factory=_row_factory,
                application_name="airsequel control plane",
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
            )
            connection.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            # A process that stops mid-transaction (paused, or hung) would hold the write lock, and every
            # other process's writes behind it, for as long as it stays stopped: the server ends it.
            connection.execute(f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_TIMEOUT}'")
        except psycopg.OperationalError as error:
            raise ControlPlaneUnreachable(UNREACHABLE) from error
        return connection

    @property
    def in_transaction(self) -> bool:
        return self._pg.info.transaction_status in IN_TRANSACTION

    def execute(self, sql: str, params: Params = (), /) -> PostgresCursor:
        with self._lock:
            command = sql.strip().upper()
            if command in ("BEGIN", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"):
                return self._begin(write=command != "BEGIN")
            if command in ("COMMIT", "ROLLBACK", "END"):
                try:
                    return PostgresCursor(self._pg.execute(command))
                except psycopg.OperationalError as error:
                    if self._pg.closed or self._pg.broken:
                        raise ControlPlaneUnreachable(UNREACHABLE) from error
                    raise
            bound = _bound(params)
            text = to_postgres(sql, bound=bound is not None)
            return self._run(lambda cursor: cursor.execute(text, bound))

    def execute_native(self, sql: str, params: Sequence[Any] = ()) -> PostgresCursor:
        """A statement in PostgreSQL's own SQL (%s parameters), run as it is: for what only
        PostgreSQL has (extensions, sequences)."""
        with self._lock:
            return self._run(lambda cursor: cursor.execute(sql, list(params) or None))

    def executemany(self, sql: str, seq_of_params: Iterable[Params], /) -> PostgresCursor:
        with self._lock:
            rows = [_bound(params) or () for params in seq_of_params]
            text = to_postgres(sql, bound=True)
            return self._run(lambda cursor: cursor.executemany(text, rows))

    def close(self) -> None:
        with self._lock:
            self._pg.close()

    def _begin(self, *, write: bool) -> PostgresCursor:
        self._reconnect_if_broken()
        try:
            cursor = self._pg.execute("BEGIN")
        except psycopg.OperationalError as error:
            if self._pg.closed or self._pg.broken:
                raise ControlPlaneUnreachable(UNREACHABLE) from error
            raise
        if write:
            try:
                self._pg.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            except pg_errors.LockNotAvailable as error:
                self._pg.execute("ROLLBACK")
                raise Unavailable(BUSY) from error
        return PostgresCursor(cursor)

    def _run(self, run: Callable[[psycopg.Cursor[Any]], object]) -> PostgresCursor:
        if not self.in_transaction:
            self._reconnect_if_broken()
        cursor = self._pg.cursor()
        try:
            run(cursor)
        except pg_errors.LockNotAvailable as error:
            raise Unavailable(BUSY) from error
        except psycopg.OperationalError as error:
            if self._pg.closed or self._pg.broken:  # the server went away under the statement
                raise ControlPlaneUnreachable(UNREACHABLE) from error
            raise
        return PostgresCursor(cursor)

    def _reconnect_if_broken(self) -> None:
        """A connection the server closed (restarted, or idle too long): open a new one, between
        transactions only (a transaction in flight fails as it should)."""
        if self._pg.closed or self._pg.broken:
            self._pg = self._connect()


def migrate(connection: PostgresConnection, migrations: Sequence[str]) -> None:
    """Bring the schema to the last migration, in one transaction under the write lock: processes that
    start together migrate once. The version is kept in a table (PRAGMA user_version on SQLite)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute_native("CREATE EXTENSION IF NOT EXISTS citext")  # COLLATE NOCASE columns
        connection.execute("CREATE TABLE IF NOT EXISTS control_plane_version (version INTEGER NOT NULL)")
        row = connection.execute("SELECT version FROM control_plane_version").fetchone()
        current = 0 if row is None else row[0]
        if row is None:
            connection.execute("INSERT INTO control_plane_version(version) VALUES (0)")
        for number, script in enumerate(migrations[current:], start=current + 1):
            if script.strip():
                connection.execute(script)
            connection.execute("UPDATE control_plane_version SET version = ?", (number,))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


class PostgresGenerationWatch(GenerationWatch):
    """The control plane's generation (generation.py), read from its row on a connection of its own:
    one round trip a request, which sees every commit of every process that came before it."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._conn = PostgresConnection(url)

    def _read(self) -> int | None:
        try:
            row = self._conn.execute(GENERATION).fetchone()
        except (psycopg.OperationalError, ControlPlaneUnreachable):  # the connection ended: a read, so ask again
            try:
                row = self._conn.execute(GENERATION).fetchone()
            except ControlPlaneUnreachable:
                # PostgreSQL is away: nothing can change there meanwhile, so what this process read last
                # holds (its caches keep answering; what needs PostgreSQL itself answers 503).
                return None
        value: int = row[0]
        return value

    def query(self, sql: str) -> list[tuple[object, ...]] | None:
        with self._lock:
            return [tuple(row) for row in self._conn.execute(sql).fetchall()]

    def _close(self) -> None:
        self._conn.close()
