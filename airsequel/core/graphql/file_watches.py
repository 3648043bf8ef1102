"""Which watched files changed: one watch connection per file per process, polled by one thread.

`PRAGMA data_version` answers a different number whenever another connection (of this process or any
other, the server's or not) committed to the file since this connection last asked. The statement
reads no table and takes no lock that a writer waits for (busy_timeout 0: a file locked right now is
asked again at the next poll), so it needs no deadline. A file swapped under its path (an upload that
replaced it, a restore) is a new inode: the watch opens the new file and counts the swap as a change;
a file gone (the database deleted) counts as one too, and its subscriptions then end on their own run.

The same thread asks the control plane's generation (`check_generation`): when it moved, every
watcher is woken, since each run resolves its caller again (a revoked token ends its subscriptions).
The thread runs while anything is watched and stops with the last watcher.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from airsequel.core.sql.file_swaps import fresh_open
from airsequel.core.sql.opening import open_connection

Wake = Callable[[], None]


@dataclass
class _Watch:
    key: str
    path: Path
    wakes: list[Wake] = field(default_factory=list)
    conn: sqlite3.Connection | None = None
    inode: tuple[int, int] | None = None
    data_version: int | None = None


class FileWatches:
    def __init__(self, check_generation: Callable[[], int], *, poll_seconds: float = 0.15) -> None:
        self.check_generation = check_generation
        self.poll_seconds = poll_seconds
        self._watches: dict[str, _Watch] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._generation: int | None = None
        self.polls = 0  # tests read it

    def add(self, key: str, path: Path, wake: Wake) -> None:
        with self._lock:
            watch = self._watches.get(key)
            if watch is None:
                watch = self._watches[key] = _Watch(key, path)
                _open(watch)
            watch.wakes.append(wake)
            if self._thread is None:
                # The baseline before the subscription's first run: a change after it wakes it.
                self._generation = self.check_generation()
                self._thread = threading.Thread(target=self._poll_while_watched, name="live-queries", daemon=True)
                self._thread.start()

    def remove(self, key: str, wake: Wake) -> None:
        with self._lock:
            watch = self._watches.get(key)
            if watch is None or wake not in watch.wakes:
                return
            watch.wakes.remove(wake)
            if not watch.wakes:
                del self._watches[key]
                _close(watch)

    def watched_files(self) -> int:
        with self._lock:
            return len(self._watches)

    def nudge(self, key: str) -> None:
        """This process committed to the file: wake its watchers now, not at the next poll. The watch
        takes the commit as seen (the runs this wakes start after it), so the poll does not wake them
        for it a second time."""
        with self._lock:
            watch = self._watches.get(key)
            if watch is None:
                return
            _changed(watch)
            wakes = list(watch.wakes)
        _wake_all(wakes)

    def _poll_while_watched(self) -> None:
        while True:
            time.sleep(self.poll_seconds)
            with self._lock:
                if not self._watches:
                    self._thread = None
                    return
                watches = list(self._watches.values())
            self.polls += 1
            generation: int | None
            try:
                generation = self.check_generation()
            except Exception:  # the control plane busy or gone for a moment: asked again next poll
                generation = self._generation
            everyone = generation != self._generation
            self._generation = generation
            to_wake: list[Wake] = []
            for watch in watches:
                with self._lock:
                    if self._watches.get(watch.key) is not watch:
                        continue  # removed meanwhile (its connection is closed)
                    changed = _changed(watch)
                    if changed or everyone:
                        to_wake.extend(watch.wakes)
            _wake_all(to_wake)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _open(watch: _Watch) -> None:
    watch.inode = _inode(watch.path)
    watch.conn = None
    watch.data_version = None
    if watch.inode is None:
        return
    try:
        # Opened as the pool opens a reader (read-only, the server's settings) and, like it, opened
        # and first read under the file's shared swap lock: never paired with another file's -wal.
        with fresh_open(watch.path):
            conn = open_connection(watch.path, readonly=True)
            try:
                conn.execute("PRAGMA busy_timeout=0")
                watch.data_version = conn.execute("PRAGMA data_version").fetchone()[0]
            except BaseException:
                conn.close()
                raise
        watch.conn = conn
    except sqlite3.Error:
        watch.conn = None


def _close(watch: _Watch) -> None:
    if watch.conn is not None:
        watch.conn.close()
        watch.conn = None


def _changed(watch: _Watch) -> bool:
    """Whether the file was committed to, swapped or removed since the last look (under the lock)."""
    inode = _inode(watch.path)
    if inode != watch.inode or watch.conn is None:
        had_file = watch.inode is not None
        _close(watch)
        _open(watch)
        return had_file or watch.inode is not None
    try:
        version = watch.conn.execute("PRAGMA data_version").fetchone()[0]
    except sqlite3.Error:  # locked right now: asked again at the next poll
        return False
    changed = version != watch.data_version
    watch.data_version = version
    return changed


def _wake_all(wakes: list[Wake]) -> None:
    for wake in wakes:
        try:
            wake()
        except Exception:  # a watcher whose loop is closed: it is being removed
            pass
