"""The SQLite files the server hosts, as files: creating one, reading its facts (size, versions,
tables), folding its WAL into it, removing what a failed step left behind."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from airsequel.core.clock import iso_from_timestamp, utc_now_iso
from airsequel.core.errors import CoreError
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord, FileFacts, write_file_facts
from airsequel.core.sql.connections import ConnectionPool, open_connection
from airsequel.core.sql.introspection import listed_tables, may_list_shadow_tables


def read_file_facts(conn: sqlite3.Connection, path: Path, known: DatabaseRecord | None = None) -> FileFacts:
    """Size, versions and tables of an open hosted file. The table list is read again only when
    the schema version differs from the one `known` has."""
    page_count = conn.execute("PRAGMA page_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    schema_version = conn.execute("PRAGMA schema_version").fetchone()[0]
    user_version = conn.execute("PRAGMA user_version").fetchone()[0]
    if known is not None and known.schema_version == schema_version:
        tables = known.tables
    else:
        tables = listed_tables(conn)  # no shadow tables; "Table", "View" or "VirtualTable"
    return FileFacts(
        size=page_count * page_size,
        schema_version=schema_version,
        user_version=user_version,
        tables=tables,
        last_modified_utc=utc_now_iso() if known is not None else iso_from_timestamp(path.stat().st_mtime),
    )


def relist_shadow_tables(
    control: ControlPlane, pool: ConnectionPool, file_path: Callable[[DatabaseRecord], Path]
) -> None:
    """At start-up: read again the table lists an older server stored with the shadow tables of FTS
    and R-tree tables in them (and such a table as "Table"). Only files whose list looks so are opened;
    nothing else of their facts changes."""
    for record in control.list_databases()[0]:
        if not may_list_shadow_tables(record.tables):
            continue
        try:
            with pool.reader(record.file_key, file_path(record)) as conn:
                tables = listed_tables(conn)
        except (sqlite3.Error, CoreError) as error:
            logging.getLogger("airsequel.hosting").warning("%s: table list not read again: %s", record.file_key, error)
            continue
        if tables != record.tables:
            facts = FileFacts(record.size, record.schema_version, record.user_version, tables, record.last_modified_utc)
            with control.transaction() as conn:
                write_file_facts(conn, record.file_key, facts)


def open_connection_creating(path: Path, *, fast: bool = False) -> sqlite3.Connection:
    """Create a new SQLite file. `fast` is for a private file built before it is hosted (fsynced after)."""
    conn = sqlite3.connect(path, isolation_level=None)
    if fast:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
    else:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    return conn


def checkpoint_and_close(path: Path) -> None:
    """Fold the WAL into the main file so nothing committed is lost when the companions go.
    PASSIVE: the caller may hold the file's write lock (`ConnectionPool.swapping`), which the other
    modes would wait for; with the lock held no frame is added meanwhile."""
    if not os.path.exists(f"{path}-wal"):
        return
    conn = open_connection(path, readonly=False)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()


def wal_state(path: Path) -> tuple[int, int]:
    """What changes when a transaction commits to the file: its WAL's size and modification time."""
    try:
        stat = Path(f"{path}-wal").stat()
    except OSError:
        return (0, 0)
    return (stat.st_size, stat.st_mtime_ns)


def remove_path(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
