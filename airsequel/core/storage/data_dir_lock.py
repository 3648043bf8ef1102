"""One data directory has one server: an exclusive lock on `<data dir>/server.lock`, held for the
life of the server's Services.

`fcntl.flock` locks belong to the open file, not to a path or a process: the kernel drops the lock
when the last descriptor of that open file is closed, also when the process is killed, so a crash
never leaves a stale lock behind. A second server on the same directory fails to take it and stops
before it touches anything (start-up would otherwise clear tmp/ under the first server's uploads).

Worker processes of the same server (a later change) share the lock rather than take it: the
server takes it once and hands the locked descriptor to each worker it starts (inherited through
fork, or passed with `pass_fds`); a worker keeps that descriptor open and never takes the lock
itself. The lock then lasts until the last process of that server exits, and a
worker never clears tmp/ or runs the crash clean-up (only the process that took the lock does).
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from airsequel.core.clock import utc_now_iso

LOCK_FILE = "server.lock"


class DataDirectoryInUse(RuntimeError):
    """Another server holds the data directory."""


class DataDirectoryLock:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd: int | None = fd

    @classmethod
    def acquire(cls, root: Path) -> DataDirectoryLock:
        """Take the lock of the data directory `root` (created if missing), or raise DataDirectoryInUse
        naming the server that holds it."""
        root.mkdir(parents=True, exist_ok=True)
        path = root / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DataDirectoryInUse(
                f"The data directory {root} is in use by another airsequel server"
                f"{f' ({holder})' if holder else ''}: one data directory has one server."
                " Stop that server first, or give this one another --data-dir."
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {utc_now_iso()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # the lock ends with the last descriptor of it (the file stays: it is harmless)


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        return ""
