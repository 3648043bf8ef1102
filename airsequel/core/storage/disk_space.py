"""Room on the data directory's disk: every write that adds bytes asks first, and a full disk met
anyway (ENOSPC, SQLite's SQLITE_FULL) is a clear 507, never a 500.

`DiskSpace.check_room(needed)` refuses (InsufficientStorage, 507) when the free space of the data
directory's filesystem (`os.statvfs`, blocks available to unprivileged users) minus `needed` would
fall below the `min_free_disk_bytes` setting. The margin is what lets the writes that are still
allowed finish: deletes, and the control plane's own small writes. `full_disk_as_507()` turns an
out-of-space error raised inside its block into the same refusal (the caller's own clean-up has
already run: nothing half-written stays).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from airsequel.core.errors import InsufficientStorage, TooLarge

SQLITE_FULL = 13
OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
SETTING = "min_free_disk_bytes (AIRSEQUEL_MIN_FREE_DISK_BYTES)"
# SQLITE_FULL with more than this free is a database at its own size limit, not a full disk.
FULL_DISK_BYTES = 8 << 20


class DiskSpace:
    def __init__(self, root: Path, min_free_bytes: Callable[[], int]) -> None:
        self.root = root
        self.min_free_bytes = min_free_bytes  # read at each check: a server admin may change it

    def free_bytes(self) -> int:
        found = os.statvfs(self.root)
        return found.f_bavail * found.f_frsize

    def check_room(self, needed: int = 0, *, what: str = "This write") -> None:
        """Refuse with 507 unless `needed` more bytes leave at least min_free_disk_bytes free."""
        minimum = self.min_free_bytes()
        free = self.free_bytes()
        if free - max(0, needed) < minimum:
            raise InsufficientStorage(
                f"The server's disk is too full: {what} needs {max(0, needed)} bytes and {free} are free,"
                f" of which {minimum} must stay free ({SETTING}). Nothing was written;"
                " deleting databases and exports still works."
            )

    def is_low(self) -> bool:
        """Whether the disk is (nearly) full now, to tell a full disk from a full database."""
        return self.free_bytes() < max(self.min_free_bytes(), FULL_DISK_BYTES)

    @contextmanager
    def full_disk_as_507(self, what: str = "This write") -> Iterator[None]:
        """Run a write; out of space inside it is InsufficientStorage (or TooLarge when what filled up
        was a database's own size limit, max_database_bytes, and the disk still has room)."""
        try:
            yield
        except (OSError, sqlite3.Error) as error:
            if not is_out_of_space(error):
                raise
            if isinstance(error, sqlite3.Error) and not self.is_low():
                raise TooLarge(
                    f"{what} would make the database larger than its limit"
                    " (max_database_bytes, AIRSEQUEL_MAX_DATABASE_BYTES); nothing was written"
                ) from error
            raise InsufficientStorage(
                f"The server's disk is full: {what} could not be completed and nothing was written;"
                " deleting databases and exports still works"
            ) from error


def is_out_of_space(error: BaseException) -> bool:
    """ENOSPC or EDQUOT from the OS, SQLITE_FULL from SQLite."""
    if isinstance(error, OSError):
        return error.errno in OUT_OF_SPACE
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == SQLITE_FULL) or "database or disk is full" in str(error)
    return False
