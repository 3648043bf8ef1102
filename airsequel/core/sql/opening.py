"""How a hosted file is opened: the server's safety settings and limits on every connection, how
long a writer waits for another process's write, SQLite's busy errors, and the file's companions.
(`connections.py`, the pool, is where the rest of the server gets these.)"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from airsequel.core.sql.deadline import HostedConnection
from airsequel.core.sql.regexp import register as register_regexp

BUSY_TIMEOUT_MS = 10_000
BUSY_MESSAGE = "The database is busy: another write to it did not finish in time. Retry in a moment"

# Limits on every connection that runs user SQL (see docs/security.md).
CONNECTION_LIMITS = {
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,
    sqlite3.SQLITE_LIMIT_LENGTH: 64 * 1024 * 1024,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 1_000_000,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 200,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 50,
    sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH: 100,
}


def open_connection(
    path: Path,
    *,
    readonly: bool,
    max_bytes: int | None = None,
    factory: type[HostedConnection] = HostedConnection,
    checkpoints: bool = True,
) -> HostedConnection:
    """Open a hosted file with the server's safety settings. Autocommit mode: callers BEGIN themselves.
    `checkpoints=False`: this connection never checkpoints the WAL (Litestream, which replicates the
    file, does): a checkpoint of SQLite's own that races Litestream's reading of the WAL makes it miss
    frames, and its replica then restores into a file that fails integrity_check (Litestream 0.5.17,
    its issue #1164; reproduced by tests/test_cluster_replicas.py and docs/cluster.md)."""
    mode = "ro" if readonly else "rw"
    conn = sqlite3.connect(
        f"{path.as_uri()}?mode={mode}",
        uri=True,
        isolation_level=None,
        check_same_thread=False,
        factory=factory,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA trusted_schema=OFF")
        conn.execute("PRAGMA cell_size_check=ON")
        conn.execute("PRAGMA mmap_size=0")
        conn.execute("PRAGMA foreign_keys=ON")
        for limit, value in CONNECTION_LIMITS.items():
            conn.setlimit(limit, value)
        register_regexp(conn)  # REGEXP with RE2: linear time, see sql/regexp.py
        if not readonly:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            if not checkpoints:
                conn.execute("PRAGMA wal_autocheckpoint=0")
            if max_bytes:
                page_size = conn.execute("PRAGMA page_size").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count={max(1, max_bytes // page_size)}")
    except BaseException:
        conn.close()
        raise
    return conn


def busy_timeout_ms(time_limit: float) -> int:
    """How long a writer waits for another process's write: BUSY_TIMEOUT_MS, or nine tenths of a
    shorter time limit."""
    return max(1, int(min(BUSY_TIMEOUT_MS, time_limit * 900)))


def is_busy(error: sqlite3.Error) -> bool:
    """SQLITE_BUSY in any of its forms: another connection (here, another worker process) held the
    lock past the busy timeout, or a snapshot went stale under a write."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def remove_wal_files(path: Path) -> None:
    """Remove a closed file's `-wal` and `-shm` companions."""
    for suffix in ("-wal", "-shm", "-journal"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass
