"""Planned moves: one database to another node, or every database off a node (drain), losing no write.

A move runs on the database's owner: it closes the database's gate (new requests wait; those in
flight finish), takes the file for itself, has Litestream ship everything, and only then raises the
epoch with the new owner in one control-plane transaction; the waiting requests then go to the new
owner, which restores the file from the replica (adoption.py) before it answers them. Any failure
before the epoch changed leaves the database where it was, serving as before.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

from airsequel.core import ids
from airsequel.core.cluster.adoption import Adoption
from airsequel.core.cluster.gates import DatabaseGates
from airsequel.core.cluster.placement import all_nodes, database_counts, least_loaded
from airsequel.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord
from airsequel.core.registry.epochs import record_epoch
from airsequel.core.sql.connections import ConnectionPool
from airsequel.core.storage.hosted_files import remove_path
from airsequel.core.storage.hosting import Hosting

log = logging.getLogger("airsequel.cluster")

IN_FLIGHT_WAIT_SECONDS = 30.0  # how long a move waits for the requests in flight to finish
SHIP_SECONDS = 60.0  # how long it waits for Litestream to ship the last writes


class Moves:
    def __init__(
        self,
        control: ControlPlane,
        hosting: Hosting,
        pool: ConnectionPool,
        adoption: Adoption,
        gates: DatabaseGates,
        node_id: str,
    ) -> None:
        self.control = control
        self.hosting = hosting
        self.pool = pool
        self.adoption = adoption
        self.gates = gates
        self.node_id = node_id
        self._draining: threading.Thread | None = None
        self._stopping = threading.Event()

    def move(self, record: DatabaseRecord, to_node: str) -> DatabaseRecord:
        """Move `record` (owned here) to `to_node`; the record as it is after the move."""
        nodes = {node.node_id: node for node in all_nodes(self.control)}
        target = nodes.get(to_node)
        if target is None:
            raise InvalidInput(f"There is no node {to_node!r} in the cluster")
        if record.node == to_node:
            raise Conflict(f"Database {record.id} is on node {to_node} already")
        if not target.alive():
            raise InvalidInput(f"Node {to_node!r} is not alive (its lease ran out): move the database elsewhere")
        if record.node != self.node_id:
            raise Unavailable(f"Database {record.id} is not on this node any more: try again")
        if self._has_assets(record.file_key):
            raise Conflict(
                f"Database {record.id} has assets, which live beside its file and are not in the replica:"
                " moving it would leave them behind (delete or download them first)"
            )
        key, path = record.file_key, self.hosting.file_path(record)
        if not self.gates.close(key, IN_FLIGHT_WAIT_SECONDS):
            raise Unavailable(f"Requests to database {record.id} did not finish in time: nothing was moved")
        started = time.monotonic()
        try:
            with self.pool.exclusive(key, path):
                handoff = ids.new_ulid().lower()  # unique to this attempt: a failed move's is never used
                self._hand_off(record, path, handoff)
                with self.control.transaction() as conn:
                    changed = conn.execute(
                        "UPDATE databases SET node = ?, epoch = epoch + 1 WHERE file_key = ? AND node = ? AND epoch = ?",
                        (to_node, key, self.node_id, record.epoch),
                    ).rowcount
                    if changed != 1:
                        raise Conflict(f"Database {record.id} changed owner meanwhile: nothing was moved")
                    record_epoch(conn, key, record.epoch + 1, to_node, handoff)
                self.adoption.stop_replicating(key)
        finally:
            self.gates.open(key)
        self.adoption.release(key)
        log.info("moved database %s to node %s in %.3f s", key, to_node, time.monotonic() - started)
        moved = self.control.database_by("file_key", key)
        if moved is None:
            raise NotFound(f"Database {record.id} was deleted meanwhile")
        return moved

    def _hand_off(self, record: DatabaseRecord, path: Path, handoff: str) -> None:
        """With nothing writing: ship the last writes of this epoch, then leave the new epoch's owner a
        snapshot of the whole file under the new epoch's handoff prefix, which it restores from. The
        snapshot is a copy shipped as a replica of its own, so it does not depend on the stream of the
        epoch that ends (Litestream 0.5 can restore a stream that an outage of the object store broke
        into a file that fails integrity_check: seen in tests/test_cluster_outages.py)."""
        replication = self.adoption.replication
        key, epoch = record.file_key, record.epoch
        shipped = replication.sync(key, timeout_seconds=SHIP_SECONDS)
        copy = self.hosting.temp_path(".sqlite")
        try:
            source = sqlite3.connect(path)
            target = sqlite3.connect(copy)
            try:
                source.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
            finally:
                target.close()
                source.close()
            handed = replication.ship_once(copy, replication.url_for(key, epoch + 1, handoff=handoff))
        finally:
            remove_path(copy)
            remove_path(copy.with_name(f".{copy.name}-litestream"))
            for suffix in ("-wal", "-shm"):
                remove_path(copy.with_name(copy.name + suffix))
        if not handed:
            reason = "could not be shipped" if not shipped else "could not be left for the new owner"
            raise Unavailable(f"Database {record.id} {reason} in the replica: nothing was moved")

    def _has_assets(self, file_key: str) -> bool:
        return bool(self.control.query("SELECT 1 FROM assets WHERE file_key = ? LIMIT 1", (file_key,)))

    # --- draining ---------------------------------------------------------------------------------

    def set_draining(self, node_id: str, draining: bool) -> int:
        """Mark `node_id` draining (no new databases; this node moves its own away) or not; how many
        databases it owns."""
        changed = self.control.execute(
            "UPDATE cluster_nodes SET draining = ? WHERE node_id = ?", (int(draining), node_id)
        )
        if changed != 1:
            raise NotFound(f"There is no node {node_id!r} in the cluster")
        if draining and node_id == self.node_id:
            self.start_draining()
        return database_counts(self.control).get(node_id, (0, 0))[0]

    def start_draining(self) -> None:
        if self._draining is None or not self._draining.is_alive():
            self._draining = threading.Thread(target=self._drain, name="cluster-drain", daemon=True)
            self._draining.start()

    def stop(self) -> None:
        self._stopping.set()

    def _drain(self) -> None:
        while not self._stopping.is_set():
            me = next((n for n in all_nodes(self.control) if n.node_id == self.node_id), None)
            if me is None or not me.draining:
                return
            rows = self.control.query(
                "SELECT * FROM databases WHERE node = ? AND file_key NOT IN (SELECT file_key FROM assets)"
                " ORDER BY size, file_key LIMIT 1",
                (self.node_id,),
            )
            if not rows:
                log.info("node %s is drained (but for the databases with assets, which stay)", self.node_id)
                return
            record = DatabaseRecord.from_row(rows[0])
            counts = {node: count for node, (count, _) in database_counts(self.control).items()}
            target = least_loaded(all_nodes(self.control), counts, excluding=frozenset({self.node_id}))
            if target is None:
                self._stopping.wait(1.0)  # no other live node yet
                continue
            try:
                self.move(record, target)
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                log.exception("draining: moving %s to %s failed", record.file_key, target)
                self._stopping.wait(1.0)
