"""One data directory has one server: an exclusive lock on `<data dir>/server.lock`, held for the
life of the server's Services.

`fcntl.flock` locks belong to the open file, not to a path or a process: the kernel drops the lock
when the last descriptor of that open file is closed, also when the process is killed, so a crash
never leaves a stale lock behind. A second server on the same directory fails to take it and stops
before it touches anything (start-up would otherwise clear tmp/ under the first server's uploads).

Worker processes (`serve --workers N`) belong to the server that holds the lock: the parent
process takes it once, does the start-up work (migrations, the crash clean-up of tmp/ and of
half-made databases) and then starts the workers with a marker in their environment naming itself
(`group_marker`, passed by http/worker_app.py). A worker refuses to start unless that marker names its own parent and the lock file
is held by that process (`join_group`); it asks the kernel to kill it when its parent dies
(PR_SET_PDEATHSIG), so the lock and the processes serving the directory end together, and no worker
of a dead server goes on beside the next one. A worker never takes the lock, never clears tmp/ and
never runs the crash clean-up.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import socket
import sys
from pathlib import Path

from airsequel.core.clock import utc_now_iso

LOCK_FILE = "server.lock"
PR_SET_PDEATHSIG = 1


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

    def group_marker(self) -> str:
        """What the workers of this server are given to join it: the pid of the process holding the lock."""
        return f"pid {os.getpid()}"

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # the lock ends with the last descriptor of it (the file stays: it is harmless)


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        return ""


def join_group(root: Path, marker: str | None) -> None:
    """Let this process serve `root` as a worker of the server whose `group_marker()` is `marker`,
    or raise DataDirectoryInUse: no marker (a worker started by hand), a marker that names another
    process than this one's parent, or a parent that does not hold the lock."""
    if not marker:
        raise DataDirectoryInUse(
            "This process is a worker of `airsequel serve --workers N` and was started without its server's"
            " marker: start the server with `airsequel serve`, which takes the data directory's lock for its workers"
        )
    parent = os.getppid()
    if marker != f"pid {parent}":
        raise DataDirectoryInUse(f"The server's marker names {marker!r}, not this worker's parent (pid {parent})")
    _die_with_parent()
    path = root / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise DataDirectoryInUse(f"The server's lock {path} cannot be read: {error}") from None
    try:
        holder = _read_holder(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            held = True
        else:
            held = False
    finally:
        os.close(fd)  # a shared lock taken by the test ends here
    if not held or not holder.startswith(f"pid {parent} ") or os.getppid() != parent:
        raise DataDirectoryInUse(
            f"The data directory {root} is not held by this worker's parent (pid {parent}; the lock says"
            f" {holder or 'nothing'}): a worker serves only beside the server that holds it"
        )


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent ends (elsewhere: nothing, the parent's own stop
    ends its workers)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
