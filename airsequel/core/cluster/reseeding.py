"""A new epoch from a fresh snapshot, when a file's replica stream may have gone wrong.

After the object store was unreachable for a while under writes, Litestream 0.5.17's stream of a file
restored, in about one test run in three, into a file that passed integrity_check but lacked rows
acknowledged before the outage (tests/test_cluster_outages.py): nothing it reports says so. So the
owner watches its files: one that changed while Litestream's last sync of it fell more than
TROUBLE_LAG_SECONDS behind is *troubled*; once Litestream ships it again, the owner re-seeds it: with
its gate closed and the file to itself (as a planned move does), it raises the epoch on this same node
and registers the file under the new epoch's prefix without Litestream's old local state, so the new
stream starts with a snapshot of the whole file. A takeover restores the newest epoch, so from then on
it does not depend on the stream that the outage interrupted.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from airsequel.core.cluster.adoption import Adoption
from airsequel.core.cluster.gates import DatabaseGates
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.registry.epochs import record_epoch
from airsequel.core.sql.connections import ConnectionPool
from airsequel.core.storage.hosted_files import wal_state
from airsequel.core.storage.replication import Replication

log = logging.getLogger("airsequel.cluster")

TROUBLE_LAG_SECONDS = 2.0  # Litestream syncs every second: this far behind a changing file, it could not ship
RECOVERED_LAG_SECONDS = 1.5
GATE_SECONDS = 10.0


class Reseeding:
    def __init__(
        self,
        control: ControlPlane,
        pool: ConnectionPool,
        adoption: Adoption,
        gates: DatabaseGates,
        node_id: str,
    ) -> None:
        self.control = control
        self.pool = pool
        self.adoption = adoption
        self.gates = gates
        self.node_id = node_id
        self.troubled: set[str] = set()
        self.reseeded = 0
        self._states: dict[str, tuple[int, int]] = {}

    @property
    def replication(self) -> Replication:
        return self.adoption.replication

    def observe(self, files: list[dict[str, Any]]) -> None:
        """One look at Litestream's per-file lags (Replication.sync_status): note the troubled files, and
        re-seed those it ships again."""
        lags = {str(f["fileKey"]): f["lagSeconds"] for f in files}
        for key in list(self.adoption.held):
            path = self.adoption.layout.database_file(key)
            state = wal_state(path)
            changed = self._states.get(key) not in (None, state)
            self._states[key] = state
            lag = lags.get(key)
            if changed and lag is not None and lag > TROUBLE_LAG_SECONDS and key not in self.troubled:
                log.warning("%s: Litestream is %.1f s behind its writes: a new epoch once it ships again", key, lag)
                self.troubled.add(key)
        for key in list(self.troubled):
            lag = lags.get(key)
            if key not in self.adoption.held:
                self.troubled.discard(key)
            elif lag is not None and lag < RECOVERED_LAG_SECONDS and self.reseed(key):
                self.troubled.discard(key)

    def reseed(self, file_key: str) -> bool:
        """Raise the epoch of `file_key` (held here) on this node, its new stream from a fresh snapshot;
        whether it did (False: it is busy or moving, or the store is away again: tried again later)."""
        epoch = self.adoption.held.get(file_key)
        if epoch is None or not self.gates.close(file_key, GATE_SECONDS):
            return False
        path = self.adoption.layout.database_file(file_key)
        started = time.monotonic()
        try:
            with self.pool.exclusive(file_key, path):
                if self.adoption.held.get(file_key) != epoch:
                    return False
                with self.control.transaction() as conn:
                    changed = conn.execute(
                        "UPDATE databases SET epoch = epoch + 1 WHERE file_key = ? AND node = ? AND epoch = ?",
                        (file_key, self.node_id, epoch),
                    ).rowcount
                    if changed != 1:
                        return False
                    record_epoch(conn, file_key, epoch + 1, self.node_id)
                self._restart_stream(file_key, path, epoch + 1)
        finally:
            self.gates.open(file_key)
        shipped = self.replication.sync(file_key, timeout_seconds=60)
        self.reseeded += 1
        log.warning(
            "%s: replicating as epoch %d from a fresh snapshot (%.2f s; shipped: %s)",
            file_key,
            epoch + 1,
            time.monotonic() - started,
            shipped,
        )
        return True

    def _restart_stream(self, file_key: str, path: Path, epoch: int) -> None:
        self.adoption.set_held(file_key, epoch)
        self.replication.remove(file_key)
        self.replication.forget_local_state(path)
        self.replication.add(file_key, path, epoch)
