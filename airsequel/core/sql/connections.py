"""Connections to hosted SQLite files: how each is opened (`opening.py`), and a bounded pool of them.

- Readers are opened with `mode=ro`: a read-only principal cannot write whatever SQL it sends.
- One writer per file at a time: within a process a lock per file, and across the worker processes
  of `serve --workers N` SQLite's own write lock, taken by `BEGIN IMMEDIATE` at the start of every
  write transaction (a deferred transaction that reads and then writes would fail with
  SQLITE_BUSY_SNAPSHOT when another process committed in between, which no busy timeout retries).
  A writer waits up to `BUSY_TIMEOUT_MS` for the other process's transaction to end, then gets
  `Unavailable` (503) saying the database is busy.
- Idle connections are kept up to `max_open` in all; the least recently used is closed first,
  so a server hosting 10,000 files does not hold 10,000 open files.
- Every borrow runs under a deadline (`deadline.py`): the watchdog interrupts whatever runs on the
  connection at the time limit, and an error that caused leaves the block as `TimedOut` unless the
  code inside explained it already.
- `exclusive()` waits until a file has no connection in use and closes the idle ones, so that
  the file can be renamed or deleted; `swapping()` also holds the file's SQLite write lock, which
  other processes see, until the new file is in place. Connections of other worker processes
  keep the file they opened: `file_swaps.py` says how a borrow, a writer's BEGIN IMMEDIATE and a
  sweep of idle connections notice that the path names another file now (see docs/reliability.md,
  "Replacing a file while another worker has it open").
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from airsequel.core.errors import TimedOut, Unavailable
from airsequel.core.sql.deadline import HostedConnection, Watchdog
from airsequel.core.sql.file_swaps import (
    REPLACED_MESSAGE,
    WriterConnection,
    file_identity,
    fresh_open,
    opened_as,
    tag,
)
from airsequel.core.sql.opening import BUSY_MESSAGE as BUSY_MESSAGE
from airsequel.core.sql.opening import busy_timeout_ms, open_connection
from airsequel.core.sql.opening import is_busy as is_busy
from airsequel.core.sql.opening import remove_wal_files as remove_wal_files

# How often idle connections are checked for a file swapped or deleted by another process.
SWEEP_SECONDS = 2.0


OPEN_RETRY_PAUSES: tuple[float | None, ...] = (0.01, 0.05, 0.15, None)  # then the busy error stands


@dataclass(eq=False)
class _FileSlot:
    """Book-keeping for one hosted file."""

    key: str
    path: Path
    writer_lock: threading.Lock = field(default_factory=threading.Lock)
    idle_readers: list[HostedConnection] = field(default_factory=list)
    idle_writer: HostedConnection | None = None
    in_use: int = 0
    exclusive: bool = False


class ConnectionPool:
    def __init__(
        self,
        *,
        max_open: int = 64,
        max_database_bytes: int | None = None,
        time_limit: Callable[[], float] = lambda: 10.0,
        watchdog: Watchdog | None = None,
        checkpoints: bool = True,
    ) -> None:
        """`checkpoints=False` when Litestream replicates the files: it checkpoints them (opening.py)."""
        self.max_open = max(2, max_open)
        self.checkpoints = checkpoints
        self.max_database_bytes = max_database_bytes
        # Seconds a borrow may last unless the borrower says otherwise (the settings' SQL time limit).
        self.time_limit = time_limit
        self.watchdog = watchdog or Watchdog()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._slots: dict[str, _FileSlot] = {}
        # Idle connections, least recently used first: id(conn) -> (slot, conn).
        self._idle: OrderedDict[int, tuple[_FileSlot, HostedConnection]] = OrderedDict()
        self._open = 0
        self._sweeper: threading.Thread | None = None
        # Called with a file's key after each borrow of its writer (live queries wake at once, not at
        # their next poll: graphql/live.py); a listener must not block.
        self.after_write: list[Callable[[str], None]] = []

    @property
    def open_connections(self) -> int:
        with self._lock:
            return self._open

    # --- borrowing --------------------------------------------------------------------------

    @contextmanager
    def reader(self, key: str, path: Path, *, time_limit: float | None = None) -> Iterator[HostedConnection]:
        """A read-only connection to the file; concurrent readers are fine. `time_limit`: seconds the
        borrow may last (default: the SQL time limit; `deadline.UNLIMITED` for maintenance)."""
        slot, conn = self._borrow(key, path, writer=False)
        try:
            with self._deadline(conn, time_limit):
                yield conn
        finally:
            self._give_back(slot, conn, writer=False)

    @contextmanager
    def writer(
        self,
        key: str,
        path: Path,
        *,
        time_limit: float | None = None,
        begin: bool = True,
        before_begin: Callable[[HostedConnection], None] | None = None,
    ) -> Iterator[HostedConnection]:
        """The file's one read-write connection, held alone for the duration of the block (and no
        longer than `time_limit`, as for `reader`).

        `begin`: the block runs inside a write transaction the pool began (`BEGIN IMMEDIATE`, which
        the block's own `BEGIN IMMEDIATE` joins; the block commits) on the file the path names now:
        when another process swapped the file before the write lock was had, the connection is
        dropped and the transaction begun on a new one, once; a second swap in that time is 503.
        `before_begin` runs on the connection first (a PRAGMA that only works outside a
        transaction). Without `begin` (VACUUM), the block takes the lock itself."""
        slot = self._slot(key, path)
        limit = self.time_limit() if time_limit is None else time_limit
        started = time.monotonic()
        with slot.writer_lock:
            for attempt in range(2):
                slot, conn = self._borrow(key, path, writer=True)
                current = True
                entered = False
                try:
                    # A second attempt (the file was swapped) has what the first left of the limit.
                    remaining = limit if attempt == 0 else max(0.001, limit - (time.monotonic() - started))
                    # Another process's write is waited for within the borrow's time limit, so that the
                    # answer is 503 (busy, retry) rather than 504 (the time limit).
                    conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms(remaining)}")
                    with self._deadline(conn, remaining):
                        if begin:
                            if before_begin is not None:
                                before_begin(conn)
                            assert isinstance(conn, WriterConnection)
                            current = conn.begin_checked()
                        if current:
                            entered = True
                            yield conn
                            return
                finally:
                    # Not entered after `before_begin` ran: the connection may keep what it changed.
                    stale = not current or (before_begin is not None and not entered)
                    self._give_back(slot, conn, writer=True, stale=stale)
                    if entered:
                        for listener in self.after_write:
                            listener(key)
            raise Unavailable(REPLACED_MESSAGE)

    @contextmanager
    def _deadline(self, conn: HostedConnection, time_limit: float | None) -> Iterator[None]:
        deadline = self.watchdog.watch(conn, self.time_limit() if time_limit is None else time_limit)
        try:
            yield
        except sqlite3.Error as error:
            if deadline.fired:
                raise TimedOut(deadline.describe("Reading or writing the database")) from error
            if is_busy(error):
                raise Unavailable(BUSY_MESSAGE) from error
            raise
        finally:
            self.watchdog.release(conn)

    @contextmanager
    def exclusive(self, key: str, path: Path) -> Iterator[None]:
        """No connection to the file is open during the block: swap, move or delete it then."""
        slot = self._slot(key, path)
        with slot.writer_lock:
            with self._lock:
                slot.exclusive = True
                while slot.in_use:
                    self._changed.wait()
                to_close = self._detach_idle(slot)
            for conn in to_close:
                conn.close()
            try:
                yield
            finally:
                with self._lock:
                    slot.exclusive = False
                    self._changed.notify_all()

    @contextmanager
    def swapping(self, key: str, path: Path, *, time_limit: float = 10.0) -> Iterator[None]:
        """`exclusive()`, and for the block the file's write lock held across processes, on a
        connection of its own (waited for as a writer waits: at most `time_limit`, then 503). Swap
        the file inside: a write of another process either committed before the block (the swap is
        ordered after it) or gets the lock only after the new file is in place, and its writer then
        sees that the path names another file (see `writer`)."""
        with self.exclusive(key, path):
            if not path.exists():
                yield
                return
            try:
                holder = open_connection(path, readonly=False, checkpoints=self.checkpoints)
            except sqlite3.Error as error:
                raise Unavailable(f"The database file cannot be opened: {error}") from None
            try:
                holder.execute(f"PRAGMA busy_timeout={busy_timeout_ms(time_limit)}")
                try:
                    holder.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as error:
                    if is_busy(error):
                        raise Unavailable(BUSY_MESSAGE) from error
                    raise
                yield
            finally:
                # Rolled back by the close. Once the file moved, SQLite leaves the names alone
                # (no checkpoint into, no removal of, the new file's companions).
                holder.close()

    def close_swapped_idle(self) -> int:
        """Close the idle connections whose file is no longer the one at their path (swapped or
        deleted by another process): one stat per file with idle connections. How many were closed."""
        with self._lock:
            paths = {slot.path for slot, _ in self._idle.values()}
        identities = {path: file_identity(path) for path in paths}
        with self._lock:
            stale = [(slot, conn) for slot, conn in self._idle.values() if opened_as(conn) != identities[slot.path]]
            for slot, conn in stale:
                self._idle.pop(id(conn), None)
                self._remove_idle(slot, conn)
        for _, conn in stale:
            conn.close()
        return len(stale)

    def forget(self, key: str) -> None:
        """Drop the slot of a deleted file (call inside or after `exclusive`)."""
        with self._lock:
            slot = self._slots.pop(key, None)
            to_close = self._detach_idle(slot) if slot else []
        for conn in to_close:
            conn.close()

    def close_all(self) -> None:
        with self._lock:
            to_close = [conn for _, conn in self._idle.values()]
            for slot in self._slots.values():
                slot.idle_readers.clear()
                slot.idle_writer = None
            self._idle.clear()
            self._open -= len(to_close)
        for conn in to_close:
            conn.close()

    # --- internals ------------------------------------------------------------------------

    def _slot(self, key: str, path: Path) -> _FileSlot:
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _FileSlot(key, path)
            return slot

    def _borrow(self, key: str, path: Path, *, writer: bool) -> tuple[_FileSlot, HostedConnection]:
        to_close: list[HostedConnection] = []
        identity = file_identity(path)
        if self._sweeper is None:
            self._start_sweeper()
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _FileSlot(key, path)
            while slot.exclusive:
                self._changed.wait()
            slot.in_use += 1
            conn = None
            while conn is None and (slot.idle_writer if writer else slot.idle_readers):
                if writer:
                    conn, slot.idle_writer = slot.idle_writer, None
                else:
                    conn = slot.idle_readers.pop()
                assert conn is not None
                self._idle.pop(id(conn), None)
                if opened_as(conn) != identity:  # the file was swapped by another process
                    self._open -= 1
                    to_close.append(conn)
                    conn = None
            if conn is None:
                self._open += 1
                while self._open > self.max_open and self._idle:
                    _, (old_slot, old_conn) = self._idle.popitem(last=False)
                    self._remove_idle(old_slot, old_conn)
                    to_close.append(old_conn)
        for old in to_close:
            old.close()
        if conn is None:
            try:
                conn = self._open_fresh(path, writer=writer)
            except sqlite3.Error as error:
                self._opening_failed(slot)
                if is_busy(error):
                    raise Unavailable(BUSY_MESSAGE) from None
                raise Unavailable(f"The database file cannot be opened: {error}") from None
            except BaseException:
                self._opening_failed(slot)
                raise
        return slot, conn

    def _open_fresh(self, path: Path, *, writer: bool) -> HostedConnection:
        """A new connection to `path`, its first read done. The first read of a file another process
        has just swapped in can meet SQLITE_BUSY that the busy handler does not wait out (the new
        file's WAL being set up): it is tried again, a few times within about 0.2 s."""
        for pause in OPEN_RETRY_PAUSES:
            conn: HostedConnection | None = None
            try:
                with fresh_open(path):  # no swap of the file's companions meanwhile
                    identity = file_identity(path)
                    if identity is None:
                        raise Unavailable("The database file is missing on the server: restore it from a backup")
                    conn = open_connection(
                        path,
                        readonly=not writer,
                        max_bytes=self.max_database_bytes,
                        factory=WriterConnection if writer else HostedConnection,
                        checkpoints=self.checkpoints,
                    )
                    tag(conn, path, identity)  # stat'ed before the open
                    conn.execute("PRAGMA schema_version")  # the first read: -wal and -shm found now
                    return conn
            except sqlite3.Error as error:
                if conn is not None:
                    conn.close()
                if not is_busy(error) or pause is None:
                    raise
            time.sleep(pause)
        raise AssertionError("unreachable")  # the last pause is None

    def _opening_failed(self, slot: _FileSlot) -> None:
        with self._lock:
            self._open -= 1
            slot.in_use -= 1
            self._changed.notify_all()

    def _give_back(self, slot: _FileSlot, conn: HostedConnection, *, writer: bool, stale: bool = False) -> None:
        stale = stale or (isinstance(conn, WriterConnection) and conn.swapped_out)
        healthy = not conn.in_transaction and not stale
        if not healthy and not stale:
            try:
                conn.execute("ROLLBACK")
                healthy = True
            except sqlite3.Error:
                healthy = False
        close = False
        with self._lock:
            slot.in_use -= 1
            keep = healthy and self._open <= self.max_open and not slot.exclusive and self._slots.get(slot.key) is slot
            if keep:
                if writer:
                    slot.idle_writer = conn
                else:
                    slot.idle_readers.append(conn)
                self._idle[id(conn)] = (slot, conn)
            else:
                self._open -= 1
                close = True
            self._changed.notify_all()
        if close:
            conn.close()

    def _start_sweeper(self) -> None:
        with self._lock:
            if self._sweeper is not None:
                return
            self._sweeper = threading.Thread(
                target=_sweep_while_alive, args=(weakref.ref(self),), name="pool-sweeper", daemon=True
            )
        self._sweeper.start()

    def _remove_idle(self, slot: _FileSlot, conn: HostedConnection) -> None:
        self._open -= 1
        if slot.idle_writer is conn:
            slot.idle_writer = None
        elif conn in slot.idle_readers:
            slot.idle_readers.remove(conn)

    def _detach_idle(self, slot: _FileSlot) -> list[HostedConnection]:
        conns = list(slot.idle_readers)
        if slot.idle_writer is not None:
            conns.append(slot.idle_writer)
        for conn in conns:
            self._idle.pop(id(conn), None)
        slot.idle_readers.clear()
        slot.idle_writer = None
        self._open -= len(conns)
        return conns


def _sweep_while_alive(pool_ref: weakref.ref[ConnectionPool]) -> None:
    """The pool's one sweeper thread: `close_swapped_idle` every SWEEP_SECONDS while the pool lives."""
    while True:
        time.sleep(SWEEP_SECONDS)
        pool = pool_ref()
        if pool is None:
            return
        try:
            pool.close_swapped_idle()
        except Exception:  # never let the sweeper die: it only closes what it can
            pass
        del pool
