"""Export job leases: which worker process runs which job, across every process of the server.

A worker claims a job with one compare-and-set statement in the control plane: it sets the job
RUNNING with its own worker id (`claimed_by`) and a lease (`lease_until`, wall-clock seconds) only
if the job is still queued, or RUNNING under a lease that ran out. Two processes can never both win
the same job, whatever lock either holds in its own memory. The runner renews the lease every few
seconds while it works (LEASE_SECONDS 30, renewed every RENEW_EVERY_SECONDS 5: six renewals can be
missed before another worker takes the job over); every write the runner makes about the job holds
only while it still holds the claim, so a runner that lost its job changes nothing.

A job whose runner died is taken over: at once when the claimer was a process of this machine that
no longer exists (the worker id names its host and pid), otherwise when the lease runs out. Each
claim counts an attempt; a job whose lease ran out MAX_ATTEMPTS times (a job that kills its worker,
say) is marked failed instead of being tried again. A graceful stop hands the job back without
counting the attempt. No job stays RUNNING without a live runner.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from airsequel.core import ids
from airsequel.core.clock import utc_now_iso
from airsequel.core.registry.connection import ControlRow
from airsequel.core.registry.control_plane import ControlPlane

LEASE_SECONDS = 30.0
RENEW_EVERY_SECONDS = 5.0
MAX_ATTEMPTS = 3

# Worker ids of the JobLeases alive in this process: a claim that names this process's pid but none
# of these was made by an earlier process that had the same pid (a container's pid 1 after a restart).
_LIVE_HERE: set[str] = set()
_HOST = socket.gethostname()

_TAKEABLE = "(status = 'STARTED' OR (status = 'RUNNING' AND (lease_until IS NULL OR lease_until < :now)))"

CLAIM = f"""
UPDATE export_jobs
SET status = 'RUNNING', claimed_by = :me, lease_until = :until, attempts = attempts + 1, rows_done = 0
WHERE id = (
    SELECT id FROM export_jobs
    WHERE {_TAKEABLE}
      AND coalesce(node, '') = :node
      AND team NOT IN (SELECT team FROM export_jobs WHERE status = 'RUNNING' AND lease_until >= :now)
    ORDER BY created_utc, id LIMIT 1
) AND {_TAKEABLE}
RETURNING *
"""

GIVE_UP = """
UPDATE export_jobs SET status = 'FAILED', error = :error, finished_utc = :finished, claimed_by = NULL,
    lease_until = NULL
WHERE status = 'RUNNING' AND (lease_until IS NULL OR lease_until < :now) AND attempts >= :max
RETURNING id
"""


def new_worker_id() -> str:
    """host:pid:ulid: unique per JobLeases, and telling which process of which machine claimed a job."""
    return f"{_HOST}:{os.getpid()}:{ids.new_ulid()}"


class JobLeases:
    def __init__(
        self, control: ControlPlane, *, lease_seconds: float = LEASE_SECONDS, max_attempts: int = MAX_ATTEMPTS
    ) -> None:
        self.control = control
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.worker_id = new_worker_id()
        self.node_id = ""  # in a cluster: this node's id; it runs only the jobs of the databases it owns
        self.held: set[str] = set()
        self._lock = threading.Lock()
        _LIVE_HERE.add(self.worker_id)

    def close(self) -> None:
        _LIVE_HERE.discard(self.worker_id)

    def claim(self) -> ControlRow | None:
        """The next job this worker may run (oldest first, one running job per team), now RUNNING under
        this worker's lease; None when there is none."""
        now = time.time()
        with self.control.transaction(bump=False) as conn:  # no cached answer depends on jobs
            row: ControlRow | None = conn.execute(
                CLAIM, {"me": self.worker_id, "until": now + self.lease_seconds, "now": now, "node": self.node_id}
            ).fetchone()
        if row is not None:
            with self._lock:
                self.held.add(row["id"])
        return row

    def renew(self) -> set[str]:
        """Extend the lease of every job this worker runs; return the jobs it no longer holds (deleted,
        or taken over after the lease ran out): their runners must stop."""
        with self._lock:
            held = list(self.held)
        lost = set()
        for job_id in held:
            if not self.renew_one(job_id):
                lost.add(job_id)
        with self._lock:
            self.held -= lost
        return lost

    def renew_one(self, job_id: str) -> bool:
        """Extend the lease of one job; whether this worker still holds it."""
        return self.update_held(
            "UPDATE export_jobs SET lease_until = ? WHERE id = ?", (time.time() + self.lease_seconds, job_id)
        )

    def done(self, job_id: str) -> None:
        """The runner stopped working on the job (finished, failed or cancelled)."""
        with self._lock:
            self.held.discard(job_id)

    def release(self, job_id: str) -> None:
        """A graceful stop: the job goes back to the queue, its attempt not counted."""
        self.control.execute(
            "UPDATE export_jobs SET status = 'STARTED', claimed_by = NULL, lease_until = NULL,"
            " attempts = max(attempts - 1, 0), rows_done = 0 WHERE id = ? AND claimed_by = ? AND status = 'RUNNING'",
            (job_id, self.worker_id),
            bump=False,
        )
        self.done(job_id)

    def update_held(self, sql: str, params: tuple[object, ...]) -> bool:
        """Run `sql` (an UPDATE export_jobs ... WHERE id = ?) only while this worker holds the job;
        whether it did."""
        held = f"{sql} AND claimed_by = ? AND status = 'RUNNING'"
        return bool(self.control.execute(held, (*params, self.worker_id), bump=False))

    def free_dead_claims(self) -> None:
        """End at once the leases of claimers that were processes of this machine and no longer exist."""
        now = time.time()
        for job_id, claimer in self.control.query(
            "SELECT id, claimed_by FROM export_jobs WHERE status = 'RUNNING' AND lease_until >= ?", (now,)
        ):
            if _is_dead_here(claimer):
                self.control.execute(
                    "UPDATE export_jobs SET lease_until = NULL WHERE id = ? AND claimed_by = ?",
                    (job_id, claimer),
                    bump=False,
                )

    def give_up_abandoned(self) -> list[str]:
        """Mark failed the jobs whose lease ran out on their last allowed attempt; return their ids."""
        with self.control.transaction(bump=False) as conn:
            rows = conn.execute(
                GIVE_UP,
                {
                    "error": f"The export was interrupted {self.max_attempts} times (its worker process ended):"
                    " it is not tried again",
                    "finished": utc_now_iso(),
                    "now": time.time(),
                    "max": self.max_attempts,
                },
            ).fetchall()
        return [row[0] for row in rows]


def _is_dead_here(claimer: str | None) -> bool:
    host, _, rest = (claimer or "").partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return False  # another machine's worker (or a claim of an older server): its lease decides
    pid = int(pid_text)
    if pid == os.getpid():
        return claimer not in _LIVE_HERE
    return not _process_exists(pid)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False
