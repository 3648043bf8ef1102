"""The time limit of work on a hosted file, and the watchdog that enforces it.

Every connection borrowed from the pool carries a `Deadline`, and the `Watchdog` thread calls
`interrupt()` on the connection when it passes. SQLite checks the interrupt flag at jumps and
between rows, so this stops loops and heavy steps (a sort, a big index build, a trigger) alike.
Pooled connections have no progress handler: a Python callback every few thousand steps made many
threads in SQLite queue for the GIL. A connection outside the pool (an upload being checked) gets
the deadline's `progress` as its progress handler instead (see guard.py).

A single VM step is not interruptible (one call of `randomblob(60000000)` runs to its end), so the
caller waiting for the work stops waiting at the deadline too (see http/sqlite_lane.py): the answer
is on time even when the thread is not free yet.

The watchdog also bounds SQLite's temporary files (sorting, grouping, materialized subqueries).
They have no per-statement limit in SQLite, so it sums the sizes of the process's open temp files
(`etilqs_*` in /proc/self/fd) and, past `max_temp_bytes`, interrupts the statement that has been
running longest, the one that has had most time to write them.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("airsequel.watchdog")

PROGRESS_STEPS = 1000
TEMP_CHECK_SECONDS = 0.2
TEMP_FILE_MARK = "etilqs_"  # SQLite's prefix for temporary files (SQLITE_TEMP_FILE_PREFIX)
UNLIMITED = math.inf


@dataclass(eq=False)
class Deadline:
    """The time limit of one borrow of a connection; `stopped_by` says what stopped it, if anything."""

    time_limit: float
    started: float = field(default_factory=time.monotonic)
    stopped_by: str | None = None  # "time" or "temp"
    done: bool = False

    @property
    def expires_at(self) -> float:
        return self.started + self.time_limit

    @property
    def fired(self) -> bool:
        return self.stopped_by is not None

    def progress(self) -> int:
        """The progress handler: non-zero aborts the statement."""
        if self.stopped_by is not None:
            return 1
        if time.monotonic() > self.expires_at:
            self.stopped_by = "time"
            return 1
        return 0

    def describe(self, what: str = "The query") -> str:
        if self.stopped_by == "temp":
            return (
                f"{what} used more temporary disk space (sorting, grouping) than the server allows and was"
                " stopped: add a LIMIT, an index, or select less"
            )
        return f"{what} exceeded the time limit of {self.time_limit:g} s and was aborted"


class HostedConnection(sqlite3.Connection):
    """A connection to a hosted file, carrying the deadline of its current borrow."""

    deadline: Deadline | None = None


class Watchdog:
    """One thread that interrupts borrowed connections at their deadline, and when temp files grow too big."""

    def __init__(self, max_temp_bytes: Callable[[], int] | None = None) -> None:
        self.max_temp_bytes = max_temp_bytes
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._heap: list[tuple[float, int, Deadline, HostedConnection]] = []
        self._active: dict[int, tuple[Deadline, HostedConnection]] = {}
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._temp_checked = 0.0

    # --- borrows ----------------------------------------------------------------------------

    def watch(self, conn: HostedConnection, time_limit: float) -> Deadline:
        """Start the deadline of a borrow: from now on `conn` is stopped at `time_limit` seconds."""
        deadline = Deadline(time_limit)
        conn.deadline = deadline
        with self._lock:
            self._active[id(conn)] = (deadline, conn)
            if time_limit != UNLIMITED:
                entry = (deadline.expires_at, next(self._order), deadline, conn)
                earliest = not self._heap or entry[0] < self._heap[0][0]
                heapq.heappush(self._heap, entry)
                if earliest:
                    self._wake.notify()
            self._ensure_thread()
        return deadline

    def release(self, conn: HostedConnection) -> None:
        """End the borrow: the watchdog no longer touches `conn` (it may be lent to someone else next)."""
        with self._lock:
            active = self._active.pop(id(conn), None)
            if active is not None:
                active[0].done = True
        conn.deadline = None

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=2)

    # --- the thread -------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="airsequel-watchdog", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with self._lock:
            while not self._stopping:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    _, _, deadline, conn = heapq.heappop(self._heap)
                    if not deadline.done:
                        self._interrupt(deadline, conn, "time")
                wait = self._heap[0][0] - now if self._heap else None
                if self._active and self.max_temp_bytes is not None:
                    wait = TEMP_CHECK_SECONDS if wait is None else min(wait, TEMP_CHECK_SECONDS)
                self._wake.wait(timeout=wait)
                if self._active and self.max_temp_bytes is not None:
                    now = time.monotonic()
                    if now - self._temp_checked >= TEMP_CHECK_SECONDS:
                        self._temp_checked = now
                        self._check_temp_space()

    def _interrupt(self, deadline: Deadline, conn: HostedConnection, reason: str) -> None:
        """Called with the lock held, so the borrow cannot end (and the connection be lent) meanwhile."""
        if deadline.stopped_by is None:
            deadline.stopped_by = reason
        try:
            conn.interrupt()
        except sqlite3.ProgrammingError:  # closed meanwhile
            pass

    def _check_temp_space(self) -> None:
        assert self.max_temp_bytes is not None
        limit = self.max_temp_bytes()
        used = temp_bytes_in_use()
        if used <= limit:
            return
        running = [(d.started, id(c), d, c) for d, c in self._active.values() if not d.fired]
        if running:
            _, _, deadline, conn = min(running, key=lambda item: (item[0], item[1]))
            log.warning("temporary files use %d bytes (limit %d): stopping the longest-running statement", used, limit)
            self._interrupt(deadline, conn, "temp")


def temp_bytes_in_use() -> int:
    """Bytes of SQLite temporary files this process has open (0 where /proc is not available)."""
    total = 0
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return 0
    for name in descriptors:
        try:
            if TEMP_FILE_MARK in os.readlink(f"/proc/self/fd/{name}"):
                total += os.fstat(int(name)).st_size
        except (OSError, ValueError):
            continue
    return total
