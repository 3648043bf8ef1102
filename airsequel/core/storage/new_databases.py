"""What a new hosted database starts from: its registry record (checked name and description, new
ids) and its file, checked or built from an upload, ready to be renamed into place."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from airsequel.core import ids
from airsequel.core.clock import utc_now_iso
from airsequel.core.durability import fsync_directory, fsync_file
from airsequel.core.errors import InvalidInput
from airsequel.core.imports.csv_import import import_csv, table_name_for
from airsequel.core.imports.sqlite_upload import check_sqlite_file
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.sql.connections import remove_wal_files
from airsequel.core.sql.server_tables import drop_server_tables, has_server_tables
from airsequel.core.storage.disk_space import DiskSpace
from airsequel.core.storage.hosted_files import open_connection_creating, remove_path
from airsequel.core.storage.uploaded_bytes import UploadedBytes

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 10_000


def new_record(
    name: str, *, owner: str | None, description: str | None = None, created_by: str | None
) -> DatabaseRecord:
    now = utc_now_iso()
    return DatabaseRecord(
        file_key=ids.new_file_key(),
        id=ids.new_database_id(),
        readonly_id=ids.new_readonly_id(),
        name=checked_name(name),
        description=checked_description(description),
        owner=owner,
        created_by=created_by,
        created_utc=now,
        ownership_utc=now,
        last_modified_utc=now,
        size=0,
        schema_version=0,
        user_version=0,
    )


def checked_upload(
    disk: DiskSpace,
    upload: Path,
    filename: str | None,
    target: Path,
    max_database_bytes: int,
    check_quota: Callable[[int], None],
    what: str,
) -> tuple[Path, UploadedBytes | None]:
    """The upload checked against the team's quota (`check_quota(its size)`) and the free disk, then
    prepared as a SQLite file (`prepare_upload`); with what an uploaded SQLite file is (its size,
    header and hash), to give it back byte for byte while it is unchanged. A file built from a CSV
    is not what was uploaded: None. The upload is removed when refused."""
    try:
        size = upload.stat().st_size
        check_quota(size)
        # A CSV is built into a new file about its size; a SQLite file is only renamed into place.
        disk.check_room(size if is_csv_name(filename) else 0, what=what)
    except BaseException:
        remove_path(upload)
        raise
    with disk.full_disk_as_507(what):
        prepared = prepare_upload(upload, filename, target, max_database_bytes)
    if is_csv_name(filename):
        return prepared, None
    try:
        return prepared, UploadedBytes.of(prepared)
    except BaseException:
        remove_path(prepared)
        raise


def prepare_upload(upload: Path, filename: str | None, target: Path, max_database_bytes: int) -> Path:
    """Check an uploaded SQLite file, or build one at `target` from a CSV; return the file to host.
    The upload is removed when it is not the returned file, and on any failure."""
    if is_csv_name(filename):
        try:
            conn = open_connection_creating(target, fast=True)
            try:
                import_csv(conn, upload, table_name_for(filename))
                conn.execute("PRAGMA journal_mode=DELETE")
            finally:
                conn.close()
            fsync_file(target)
        except BaseException:
            remove_path(target)
            remove_wal_files(target)
            raise
        finally:
            remove_path(upload)
        return target
    try:
        check_sqlite_file(upload, max_bytes=max_database_bytes)
        without_server_tables(upload)
        fsync_file(upload)
    except BaseException:
        remove_path(upload)
        raise
    return upload


def without_server_tables(path: Path) -> None:
    """Drop Litestream's tables from a file to be hosted (a restored copy has them; they are not the
    user's). A file without them is not opened for writing, so it stays byte for byte as uploaded."""
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        present = has_server_tables(conn)
    finally:
        conn.close()
    if not present:
        return
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        drop_server_tables(conn)
    finally:
        conn.close()


def moved_from(source: Path) -> Callable[[Path], None]:
    """A `put_file` that renames a finished file from tmp/ into place, durably."""

    def move(path: Path) -> None:
        os.replace(source, path)
        fsync_directory(path.parent)

    return move


def is_csv_name(filename: str | None) -> bool:
    return bool(filename) and str(filename).lower().endswith(".csv")


def checked_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("A database needs a non-empty name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"The name is longer than {MAX_NAME_LENGTH} characters")
    return name.strip()


def checked_description(description: str | None) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str):
        raise InvalidInput("description must be a string")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(f"The description is longer than {MAX_DESCRIPTION_LENGTH} characters")
    return description
