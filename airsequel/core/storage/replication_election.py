"""Which worker process supervises Litestream: the one holding `<data dir>/litestream.lock`.

Every worker tries to take an exclusive `flock` on the file, without waiting, a few times a second;
the one that gets it runs `litestream replicate`. The kernel drops the lock when the holder's last
descriptor of it closes, also when the holder is killed, so another worker takes over within one
try (ELECTION_POLL_SECONDS). The descriptor is close-on-exec: the Litestream child never inherits
the lock (it would keep it past its parent's death). The child itself is given PR_SET_PDEATHSIG on
Linux, so a holder killed with SIGKILL does not leave an orphaned Litestream replicating beside its
successor's.

The holder writes its own pid and its Litestream's into the file, which lets the other workers say
whether replication runs (/api/status) without asking the holder.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

LOCK_FILE = "litestream.lock"
ELECTION_POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


class SupervisorElection:
    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_FILE
        self._fd: int | None = None

    @property
    def holding(self) -> bool:
        return self._fd is not None

    def try_take(self) -> bool:
        """Take the lock if no other process holds it; whether this process holds it now."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        self.record(None)
        return True

    def record(self, litestream_pid: int | None) -> None:
        """Write who holds the lock and which Litestream process it runs (read by `litestream_pid`)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"{os.getpid()} {litestream_pid or 0}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            os.close(fd)

    def litestream_pid(self) -> int | None:
        """The Litestream process the holder (any worker) runs, if it is alive."""
        try:
            fields = self.path.read_text().split()
        except OSError:
            return None
        if len(fields) != 2 or not fields[1].isdigit() or int(fields[1]) == 0:
            return None
        pid = int(fields[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return pid


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that has the child receive SIGTERM when the thread that started it ends (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def set_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return set_death_signal
