"""Checking an uploaded SQLite file before it is hosted.

The file has already been streamed to a private temporary path. It is opened read-only and
immutable (no -wal/-shm created, no locks), with `trusted_schema=OFF`, and must pass:
the 100-byte header, a whole number of pages within the size quota, `PRAGMA quick_check`,
a schema that parses, virtual tables only from allowed modules, and views and triggers that
call no denied function.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from airsequel.core.errors import TooLarge, Unprocessable
from airsequel.core.sql.guard import ALLOWED_VTABLE_MODULES, SqlGuard
from airsequel.core.sql.script import quote_identifier

SQLITE_MAGIC = b"SQLite format 3\x00"
_VTABLE_MODULE = re.compile(r"\bUSING\s+([A-Za-z0-9_]+)", re.IGNORECASE)


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
    tables_with_triggers: set[str] = set()
    for kind, name, table, sql in objects:
        if kind == "table" and sql and sql.upper().startswith("CREATE VIRTUAL TABLE"):
            match = _VTABLE_MODULE.search(sql)
            module = match.group(1).lower() if match else "?"
            if module not in ALLOWED_VTABLE_MODULES:
                raise Unprocessable(f"The virtual table {name!r} uses the module {module!r}, which is not allowed")
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
