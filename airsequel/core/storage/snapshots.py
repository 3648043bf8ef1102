"""Whole-file work on a hosted database that is not a change of its content: a copy that leaves the
live file (a download, a duplicate) and VACUUM."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from airsequel.core.errors import Unavailable
from airsequel.core.registry.control_plane import FileFacts
from airsequel.core.sql.connections import ConnectionPool
from airsequel.core.sql.deadline import UNLIMITED
from airsequel.core.sql.file_swaps import is_current
from airsequel.core.sql.server_tables import drop_server_tables
from airsequel.core.storage.disk_space import DiskSpace
from airsequel.core.storage.hosted_files import read_file_facts, remove_path
from airsequel.core.storage.uploaded_bytes import copy_if_unchanged, forget


def take_snapshot(
    pool: ConnectionPool, disk: DiskSpace, key: str, path: Path, size: int, target: Path, what: str
) -> Path:
    """A consistent copy of the live file at `target` (in tmp/; the caller removes it when done).

    A file uploaded and never changed comes back as the very bytes uploaded (`uploaded_bytes`).
    Any other is copied page by page through SQLite's backup API, without the server's own tables,
    in rollback-journal mode like an uploaded file; its header is then this server's SQLite's."""
    disk.check_room(size, what=what)
    with disk.full_disk_as_507(what):
        try:
            if copy_if_unchanged(pool, key, path, target):
                return target
            destination = sqlite3.connect(target, isolation_level=None)
            try:
                # A copy of the pages, no SQL of the file's own runs: no time limit.
                with pool.reader(key, path, time_limit=UNLIMITED) as source:
                    source.backup(destination)
                drop_server_tables(destination)  # Litestream's: not the user's (only when present)
                destination.execute("PRAGMA journal_mode=DELETE")
            finally:
                destination.close()
        except BaseException:
            remove_path(target)
            raise
    return target


def vacuum_file(pool: ConnectionPool, disk: DiskSpace, key: str, path: Path, size: int) -> FileFacts:
    """VACUUM needs room for a copy of the file (the rebuilt pages go through the WAL; SQLite's
    temporary copy may be on the same disk): refused with 507 unless twice its size is free.
    The file's facts afterwards."""
    disk.check_room(2 * size, what="VACUUM")
    forget(path)  # rewritten: no longer the bytes uploaded
    # VACUUM is a write transaction of its own (not inside one the pool begins): it rewrites the
    # pages of the file in place, through the WAL, under the file's write lock like any writer.
    with disk.full_disk_as_507("VACUUM"), pool.writer(key, path, time_limit=UNLIMITED, begin=False) as conn:
        # VACUUM attaches a temporary database internally; user SQL never gets this limit back.
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 1)
        try:
            conn.execute("VACUUM")
        finally:
            conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        if not is_current(conn):  # another worker replaced the file meanwhile: nothing was lost
            raise Unavailable("The database file was replaced while it was vacuumed: vacuum it again")
        return read_file_facts(conn, path)
