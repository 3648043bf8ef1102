"""Checking an uploaded SQLite file before it is hosted.

The file has already been streamed to a private temporary path. It is opened read-only and
immutable (no -wal/-shm created, no locks), with `trusted_schema=OFF`, and must pass:
the 100-byte header, a whole number of pages within the size quota, `PRAGMA quick_check`,
a schema that parses, virtual tables only from allowed modules, and views and triggers that
call no denied function.

A virtual table's module is named by SQLite itself, not found by matching text: the table's
`CREATE VIRTUAL TABLE` statement is prepared again on an empty in-memory database under an authorizer
that records the module name SQLite's parser hands it (SQLITE_CREATE_VTABLE) and denies everything,
so nothing runs. A table named `"a USING fts5 "` therefore cannot pass for an FTS5 table.
`pragma_table_list` says which tables are virtual, whatever their stored text looks like.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from airsequel.core.errors import TooLarge, Unprocessable
from airsequel.core.sql.guard import ALLOWED_VTABLE_MODULES, SqlGuard
from airsequel.core.sql.script import quote_identifier

SQLITE_MAGIC = b"SQLite format 3\x00"
_CREATING_A_TABLE = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_READ}


def looks_like_sqlite(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(16) == SQLITE_MAGIC


def check_sqlite_file(path: Path, *, max_bytes: int) -> None:
    """Raise `Unprocessable` or `TooLarge` with a clear message unless `path` is a sound SQLite file."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or header[:16] != SQLITE_MAGIC:
        raise Unprocessable("The file is not a SQLite database (its header is missing or wrong)")
    page_size = int.from_bytes(header[16:18], "big")
    if page_size == 1:
        page_size = 65536
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise Unprocessable(f"The SQLite header declares an invalid page size ({page_size})")
    if size % page_size:
        raise Unprocessable("The SQLite file is truncated: its size is not a whole number of pages")
    declared_pages = int.from_bytes(header[28:32], "big")
    if header[24:28] == header[92:96] and declared_pages * page_size > max_bytes:
        raise TooLarge(f"The database declares {declared_pages} pages, more than the size limit of {max_bytes} bytes")
    if size > max_bytes:
        raise TooLarge(f"The database is larger than the size limit of {max_bytes} bytes")

    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise Unprocessable(f"The file cannot be opened as a SQLite database: {error}") from error
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        conn.execute("PRAGMA cell_size_check=ON")
        conn.execute("PRAGMA mmap_size=0")
        _check_integrity(conn)
        _check_schema(conn)
    except sqlite3.DatabaseError as error:
        raise Unprocessable(f"The SQLite file is damaged or unreadable: {error}") from error
    finally:
        conn.close()


def _check_integrity(conn: sqlite3.Connection) -> None:
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(20)")]
    if problems != ["ok"]:
        raise Unprocessable("The SQLite file failed its integrity check: " + "; ".join(problems[:5]))


def _check_schema(conn: sqlite3.Connection) -> None:
    objects = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    virtual = {
        row[0] for row in conn.execute("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'virtual'")
    }
    tables_with_triggers: set[str] = set()
    for kind, name, table, sql in objects:
        if kind == "table":
            module = vtable_module(sql)
            if (module is not None or name in virtual) and module not in ALLOWED_VTABLE_MODULES:
                raise Unprocessable(
                    f"The virtual table {name!r} uses the module {module or '?'!r}, which is not allowed "
                    f"(allowed: {', '.join(sorted(ALLOWED_VTABLE_MODULES))})"
                )
        if kind == "trigger":
            tables_with_triggers.add(table)
    # Compile every view and trigger under the authorizer, so a function they call that is denied
    # (load_extension, fts3_tokenizer, ...) is caught now rather than when a user touches them.
    guard = SqlGuard(may_write=True, time_limit=30.0)
    with guard.installed(conn):
        for kind, name, _table, _sql in objects:
            if kind == "view":
                _prepare(conn, guard, f"EXPLAIN SELECT * FROM {quote_identifier(name)}", f"view {name!r}")
        for table in sorted(tables_with_triggers):
            quoted = quote_identifier(table)
            for statement in (
                f"EXPLAIN INSERT INTO {quoted} DEFAULT VALUES",
                f"EXPLAIN DELETE FROM {quoted}",
            ):
                _prepare(conn, guard, statement, f"a trigger on {table!r}")


def _prepare(conn: sqlite3.Connection, guard: SqlGuard, statement: str, what: str) -> None:
    try:
        conn.execute(statement).fetchall()
    except sqlite3.Error as error:
        raise Unprocessable(f"The schema of {what} is not allowed: {guard.explain(error)}") from error


def vtable_module(sql: str | None) -> str | None:
    """The module (lowercase) of a `CREATE VIRTUAL TABLE` statement as SQLite's parser reads it, or None
    when `sql` creates no virtual table. The statement is prepared on an empty in-memory database whose
    authorizer records the module and refuses it there, so no virtual table is ever created."""
    if not sql:
        return None
    modules: list[str] = []

    def authorize(action: int, first: str | None, second: str | None, _db: str | None, _source: str | None) -> int:
        if action == sqlite3.SQLITE_CREATE_VTABLE:
            modules.append((second or "?").lower())
            return sqlite3.SQLITE_DENY
        # What SQLite asks before it reaches the module: writing the new table into the (empty,
        # in-memory) schema. Everything else is denied.
        return sqlite3.SQLITE_OK if action in _CREATING_A_TABLE else sqlite3.SQLITE_DENY

    scratch = sqlite3.connect(":memory:")
    try:
        scratch.set_authorizer(authorize)
        try:
            scratch.execute(sql)
        except sqlite3.Error:
            pass  # denied, as intended (or not a statement SQLite parses: then it creates no virtual table here)
    finally:
        scratch.close()
    return modules[0] if modules else None
