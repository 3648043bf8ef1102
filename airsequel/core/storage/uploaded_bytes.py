"""An uploaded SQLite file given back as the very bytes uploaded, for as long as nothing changed it.

Hosting a file changes its first 100 bytes even when no one writes to it: the switch to WAL mode
(bytes 18-19) is a write transaction, which bumps the change counter (24-27 and 92-95), stamps this
server's SQLite version (96-99) and corrects a stale in-header page count (28-31). A copy through
SQLite's backup API changes those and more (the schema format at 44, the schema cookie). So when a
file is hosted, its header and a SHA-256 of the whole file are kept beside it (`uploaded.json` in
the database's directory). A download copies the file itself, puts the kept header back and hashes
the result: only if the hash matches is the copy given out; otherwise the caller makes a snapshot.

Why the file itself is the content: the copy is made inside a read transaction, and only while the
file's `-wal` is empty (or absent). A hosted file that was never written has an empty WAL (readers
write none); with an empty WAL at the moment the read transaction holds, that transaction reads the
main file alone, and no checkpoint can write into the main file until it ends. Every change the server
makes forgets the record first (`forget`, from `Hosting.record_change`), so a change still in the WAL
can never be covered up by an unchanged main file; the hash catches anything else.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from airsequel.core.durability import fsync_directory, fsync_file
from airsequel.core.sql.connections import ConnectionPool
from airsequel.core.sql.deadline import UNLIMITED

RECORD_NAME = "uploaded.json"
HEADER_BYTES = 100
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class UploadedBytes:
    """What a hosted file was when it was uploaded: its size, first 100 bytes and SHA-256."""

    size: int
    header: bytes
    sha256: str

    @classmethod
    def of(cls, path: Path) -> UploadedBytes:
        digest = hashlib.sha256()
        header = b""
        size = 0
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                if not header:
                    header = chunk[:HEADER_BYTES]
                digest.update(chunk)
                size += len(chunk)
        return cls(size, header, digest.hexdigest())


def record_path(hosted: Path) -> Path:
    return hosted.with_name(RECORD_NAME)


def remember(hosted: Path, uploaded: UploadedBytes) -> None:
    """Keep what `hosted` was uploaded as (call after it is in place and the server opened it)."""
    target = record_path(hosted)
    scratch = target.with_name(f".{RECORD_NAME}.tmp")
    scratch.write_text(
        json.dumps({"size": uploaded.size, "header": uploaded.header.hex(), "sha256": uploaded.sha256}),
        encoding="utf-8",
    )
    fsync_file(scratch)
    os.replace(scratch, target)
    fsync_directory(target.parent)


def forget(hosted: Path) -> None:
    """The file is about to change (or did): it is no longer the bytes uploaded."""
    try:
        record_path(hosted).unlink()
    except FileNotFoundError:
        pass


def recalled(hosted: Path) -> UploadedBytes | None:
    try:
        kept = json.loads(record_path(hosted).read_text(encoding="utf-8"))
        return UploadedBytes(int(kept["size"]), bytes.fromhex(kept["header"]), str(kept["sha256"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none kept (a changed, duplicated, built or restored file), or unreadable: make a snapshot


def copy_if_unchanged(pool: ConnectionPool, key: str, hosted: Path, target: Path) -> bool:
    """Write the bytes `hosted` was uploaded as to `target` and say True, when the file still holds
    them; False (and nothing at `target`) when it does not or cannot tell."""
    uploaded = recalled(hosted)
    if uploaded is None:
        return False
    try:
        if hosted.stat().st_size != uploaded.size:
            if recalled(hosted) == uploaded:
                forget(hosted)
            return False
        # A copy of the bytes, no SQL of the file's own runs: no time limit.
        with pool.reader(key, hosted, time_limit=UNLIMITED) as conn:
            conn.execute("BEGIN")
            try:
                conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # the read transaction starts here
                if not _wal_is_empty(hosted):
                    return False
                digest = _copy_with_header(hosted, target, uploaded.header, uploaded.size)
            finally:
                conn.execute("ROLLBACK")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if digest != uploaded.sha256:
        target.unlink(missing_ok=True)
        if recalled(hosted) == uploaded:  # not a record a replacement wrote meanwhile
            forget(hosted)
        return False
    return True


def _wal_is_empty(hosted: Path) -> bool:
    try:
        return os.stat(f"{hosted}-wal").st_size == 0
    except FileNotFoundError:
        return True


def _copy_with_header(source: Path, target: Path, header: bytes, size: int) -> str:
    digest = hashlib.sha256()
    copied = 0
    with open(source, "rb") as reading, open(target, "xb") as writing:
        while copied < size and (chunk := reading.read(min(CHUNK_BYTES, size - copied))):
            if copied == 0:
                chunk = header + chunk[len(header) :]
            digest.update(chunk)
            writing.write(chunk)
            copied += len(chunk)
    return digest.hexdigest()
