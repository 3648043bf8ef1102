"""A hosted file swapped (replaced, restored in place, deleted) under connections that other worker
processes hold open to it.

A connection keeps the file it opened (its inode) whatever the path names later. So every
connection remembers the file's (device, inode) from before it was opened, and:
- a borrow whose idle connection no longer matches the path opens a new one (the pool);
- a writer checks again right after its `BEGIN IMMEDIATE` succeeded, while it holds the file's
  write lock: a process that swaps the file holds the old file's write lock until the new file is
  in place (`ConnectionPool.swapping`), so a writer that got the lock on the old file got it after
  the swap, and finds out here (`WriterConnection`);
- idle connections to a file that is gone are closed by a sweep every few seconds (the pool);
- SQLite finds a file's `-wal` and `-shm` by name, when a connection first reads: a connection
  opened in the instant between the old file's companions going and the new file taking its name
  would pair one file with the other's companions. So the pool opens a connection, and makes its
  first read, under a shared lock of a lock file beside the database (`fresh_open`), and the swap
  removes the companions and renames under the exclusive lock (`no_fresh_opens`). flock: per open
  file, so it also excludes threads of one process; released when the process dies.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from airsequel.core.errors import Unavailable
from airsequel.core.sql.deadline import HostedConnection

Identity = tuple[int, int]

REPLACED_MESSAGE = "The database file was replaced while this write waited for it: retry in a moment"


def file_identity(path: Path | str) -> Identity | None:
    """(device, inode) of the file at `path`, None when there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _guard_path(path: Path) -> str:
    return f"{path}-swaplock"


@contextmanager
def _flocked(path: Path, operation: int) -> Iterator[None]:
    try:
        fd = os.open(_guard_path(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:  # no directory (the database is being deleted): nothing to pair up
        yield
        return
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)  # releases the lock


def fresh_open(path: Path) -> AbstractContextManager[None]:
    """Held while a connection to `path` is opened and first reads (shared: opens go on in parallel)."""
    return _flocked(path, fcntl.LOCK_SH)


def no_fresh_opens(path: Path) -> AbstractContextManager[None]:
    """Held while the file's companions are removed and another file takes its name."""
    return _flocked(path, fcntl.LOCK_EX)


def opened_as(conn: sqlite3.Connection) -> Identity | None:
    """The file identity the pool tagged `conn` with when it opened it."""
    found: Identity | None = vars(conn).get("opened_as")
    return found


def tag(conn: sqlite3.Connection, path: Path, identity: Identity | None) -> None:
    """Remember which file `conn` opened: `identity`, stat'ed before the open (a swap in between
    tags the new file as the old one, and the next check opens again; never the other way round)."""
    vars(conn)["opened_as"] = identity
    vars(conn)["path"] = path


def is_current(conn: sqlite3.Connection) -> bool:
    """Whether the path `conn` was opened on still names the file it has open (one stat)."""
    identity = opened_as(conn)
    return identity is not None and identity == file_identity(vars(conn)["path"])


class WriterConnection(HostedConnection):
    """A writer: every `BEGIN IMMEDIATE` on it is checked against a swap of its file.

    The pool begins the borrow's write transaction itself (`begin_checked`), and opens a new
    connection when the file was swapped; the borrower's own `BEGIN IMMEDIATE` (every writer starts
    with one) then joins that transaction instead of failing inside it. Any later `BEGIN IMMEDIATE`
    on the same borrow is checked too, and refused with 503 (rolled back) when the file was swapped."""

    begun_by_pool = False
    swapped_out = False  # found on a file that is no longer hosted: closed when given back

    def begin_checked(self) -> bool:
        """BEGIN IMMEDIATE; False (rolled back) when the file is no longer the one at the path."""
        super().execute("BEGIN IMMEDIATE")
        if is_current(self):
            self.begun_by_pool = True
            return True
        super().execute("ROLLBACK")
        self.swapped_out = True
        return False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "BEGIN IMMEDIATE":
            if self.begun_by_pool and self.in_transaction:
                self.begun_by_pool = False
                return self.cursor()
            self.begun_by_pool = False
            if not self.begin_checked():
                raise Unavailable(REPLACED_MESSAGE)
            self.begun_by_pool = False
            return self.cursor()
        return super().execute(sql, *args)
