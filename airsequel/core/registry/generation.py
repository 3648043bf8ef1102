"""The control plane's generation: one number, shared by every process of a server, that every
control-plane write transaction bumps.

Caches of what the control plane says (principals, database records, run-time settings) remember the
generation they were read at and are used only while it is still current (generation_cache.py). With
several worker processes a write in one must reach the caches of all: so the number lives in a row of
the control plane itself (migration GENERATION_ROW), bumped inside the writing transaction, and not in
the memory of the process that wrote.

Reading it must cost almost nothing, since every request asks: a watch connection of its own runs
`PRAGMA data_version`, which changes exactly when another connection (of this process or another)
committed to the file since the last call; only then is the row read again. Even that is a SQLite
call, which lets go of the GIL (and waits to get it back behind busy threads), so it is made once at
the start of every request (`check`, from the HTTP layer) and after every commit of this process's
control plane; in between, caches compare with the value found then (`recent`), and work outside
requests sees other processes' changes within `BACKGROUND_CHECK_SECONDS`. A connection of its own,
not the control plane's: that one may be waiting out another process's write (busy_timeout), and the
question "did anything change?" must not wait behind it. (A PostgreSQL control plane would read the
row itself, or listen for its change.)
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

GENERATION_ROW = """
CREATE TABLE control_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO control_generation(id, value) VALUES (1, 0);
"""

BUMP = "UPDATE control_generation SET value = value + 1 WHERE id = 1 RETURNING value"
BACKGROUND_CHECK_SECONDS = 1.0


class GenerationWatch:
    """The current generation of a control plane: what each engine's watch shares. `_read` asks the
    engine (None: nothing changed since it last answered)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0
        self._closed = False
        self._checked_at = 0.0

    def recent(self) -> int:
        """The generation as last checked, or checked now if that was too long ago."""
        if time.monotonic() - self._checked_at > BACKGROUND_CHECK_SECONDS:
            return self.current()
        return self._value

    def current(self) -> int:
        """The generation now."""
        with self._lock:
            self._checked_at = time.monotonic()
            if not self._closed:  # once stopped, nothing changes any more for what it cached
                found = self._read()
                if found is not None:
                    self._value = found
            return self._value

    def saw(self, value: int) -> None:
        """This process committed the generation `value`."""
        with self._lock:
            self._value = max(self._value, value)

    def query(self, sql: str) -> list[tuple[object, ...]] | None:
        """A read on the watch's own connection (what is committed now), which never waits for this
        process's control-plane lock: for caches reloading under a lock of their own. None: read it
        on the control plane itself."""
        return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._close()

    def _read(self) -> int | None:
        raise NotImplementedError

    def _close(self) -> None:
        pass


class SqliteGenerationWatch(GenerationWatch):
    """The generation of the SQLite control plane at `path` (migrated already)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        # An in-memory control plane (tests) has one connection and one process: its own commits,
        # told through `saw`, are all there is to watch.
        self._conn = (
            None if str(path) == ":memory:" else sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        )
        if self._conn is not None:
            self._conn.execute("PRAGMA busy_timeout=5000")
        self._data_version: int | None = None

    def _read(self) -> int | None:
        """One SQLite call; the row is read only when something was committed."""
        if self._conn is None:
            return None
        data_version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if data_version == self._data_version:
            return None
        # Read before remembering the version: a commit between the two is seen next time.
        value: int = self._conn.execute("SELECT value FROM control_generation WHERE id = 1").fetchone()[0]
        self._data_version = data_version
        return value

    def query(self, sql: str) -> list[tuple[object, ...]] | None:
        with self._lock:
            return None if self._conn is None else self._conn.execute(sql).fetchall()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
