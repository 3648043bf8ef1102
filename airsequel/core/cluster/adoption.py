"""A node's copies of the files it owns, each at its ownership epoch.

A file is served here only once it is *held*: its directory has an `epoch` marker equal to the
registry's epoch for it, and Litestream replicates it under that epoch's prefix (synced once before
the first request, so that the new epoch's replica exists before anything is acknowledged in it).

To hold a database given to this node at epoch E, the node uses its own file when that file is the
one the previous epoch wrote (this node was its writer: a restart, or a move back before anything
else was written), and otherwise restores from the replica of the newest earlier epoch that has
one, checks it with integrity_check, and puts it in place. A file that no replica has is *lost*: its
requests answer 503 with the reason, and the node tries again now and then.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from airsequel.core.durability import fsync_directory
from airsequel.core.errors import CoreError, NotFound, Unavailable
from airsequel.core.layout import DataLayout
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord
from airsequel.core.registry.epochs import epochs_before, epochs_of
from airsequel.core.sql.connections import ConnectionPool, remove_wal_files
from airsequel.core.storage import replication as litestream
from airsequel.core.storage.hosted_files import remove_path
from airsequel.core.storage.litestream_commands import checked_for_hosting
from airsequel.core.storage.replication import Replication

log = logging.getLogger("airsequel.cluster")

LOST_RETRY_SECONDS = 10.0


class Adoption:
    def __init__(
        self, layout: DataLayout, control: ControlPlane, pool: ConnectionPool, replication: Replication, node_id: str
    ) -> None:
        self.layout = layout
        self.control = control
        self.pool = pool
        self.replication = replication
        self.node_id = node_id
        self.held: dict[str, int] = {}  # file key -> epoch, of the files served here
        self.lost: dict[str, tuple[float, str]] = {}  # file key -> (when, why) no replica could be restored
        self._lock = threading.Lock()
        self._file_locks: dict[str, threading.Lock] = {}

    # --- what Litestream replicates here --------------------------------------------------------

    def listed(self) -> dict[str, tuple[Path, int]]:
        with self._lock:
            return {key: (self.layout.database_file(key), epoch) for key, epoch in self.held.items()}

    def holds(self, record: DatabaseRecord) -> bool:
        return self.held.get(record.file_key) == record.epoch

    # --- holding a file ---------------------------------------------------------------------------

    def set_held(self, file_key: str, epoch: int) -> None:
        """The file is held at `epoch` from now on (its marker written first): a re-seeding's new epoch."""
        self._write_marker(file_key, epoch)
        with self._lock:
            self.held[file_key] = epoch

    def hosted(self, record: DatabaseRecord) -> None:
        """A file created (or replaced) here at its epoch: held from now on, without a restore. Told
        before Litestream is, so that following the held list never unregisters it: an unregister and
        register again of one file reuses its local LTX state, and that stream restored into a file
        failing integrity_check (tests/test_cluster_failover.py, about one run in four)."""
        if record.node == self.node_id:
            with self._lock:
                self.held[record.file_key] = record.epoch

    def hold(self, record: DatabaseRecord) -> None:
        """Make sure this node holds `record`'s file at its epoch (restoring it if need be); blocks
        while another thread does the same; Unavailable when no replica has it."""
        if self.holds(record):
            return
        with self._file_lock(record.file_key):
            if self.holds(record):
                return
            failed = self.lost.get(record.file_key)
            if failed is not None and time.monotonic() - failed[0] < LOST_RETRY_SECONDS:
                raise Unavailable(failed[1])
            current = self.control.database_by("file_key", record.file_key)
            if current is None or current.node != self.node_id or current.epoch != record.epoch:
                # The request read the registry before a move or takeover it did not see: never revive it.
                raise Unavailable(f"Database {record.id} changed owner meanwhile: retry")
            try:
                self._hold(record)
            except Unavailable:
                raise
            except Exception as error:  # noqa: BLE001 - a restore's failure of any kind: said, and tried again later
                reason = f"Database {record.id} cannot be served: no replica could be restored ({error})"
                self.lost[record.file_key] = (time.monotonic(), reason)
                raise Unavailable(reason) from error
            self.lost.pop(record.file_key, None)

    def _hold(self, record: DatabaseRecord) -> None:
        key, epoch = record.file_key, record.epoch
        path = self.layout.database_file(key)
        local = self.marker(key)
        continuing = local == epoch and path.exists()  # this node's own file of this epoch (a restart)
        if not continuing and not self._own_previous_epoch(record, local, path):
            restored = self._restore(record)
            with self.pool.exclusive(key, path):
                path.parent.mkdir(parents=True, exist_ok=True)
                remove_wal_files(path)
                os.replace(restored, path)
                fsync_directory(path.parent)
            self.pool.forget(key)
        self._write_marker(key, epoch)
        if not (key in self.replication.registered and self.replication.epochs.get(key) == epoch):
            # Held first: following the held list must never unregister it in between (and register it
            # again, which reuses Litestream's local state: see `hosted`).
            with self._lock:
                self.held[key] = epoch
            self.replication.remove(key)
            if not continuing:  # a new epoch's replica starts from a fresh snapshot, not the old stream
                self.replication.forget_local_state(path)
            self.replication.add(key, path, epoch)
            if not self.replication.sync(key, timeout_seconds=60):
                # Not served before its epoch's replica exists: a takeover of an epoch without one goes
                # back to the epoch before, which is right only if this one acknowledged nothing.
                self.stop_replicating(key)
                raise Unavailable(f"Database {record.id}: its replica could not be started: retry in a moment")
        with self._lock:
            self.held[key] = epoch
        log.info("holding database %s at epoch %d", key, epoch)

    def _own_previous_epoch(self, record: DatabaseRecord, local: int | None, path: Path) -> bool:
        """Whether the local file is what the epoch before this one wrote, written here."""
        if local is None or not path.exists():
            return False
        history = epochs_of(self.control, record.file_key)
        earlier = [e for e in history if e.epoch < record.epoch]
        return bool(earlier) and earlier[0].epoch == local and earlier[0].node == self.node_id

    def _restore(self, record: DatabaseRecord) -> Path:
        """The newest earlier epoch's replica, restored into tmp/ and checked."""
        self.layout.tmp_dir.mkdir(parents=True, exist_ok=True)
        problems: list[str] = []
        # The handoff snapshot of the planned move that began this epoch, if one did; else the stream of
        # the newest earlier epoch that has one.
        history = {entry.epoch: entry for entry in epochs_of(self.control, record.file_key)}
        began = history.get(record.epoch)
        earlier = epochs_before(self.control, record.file_key, record.epoch)
        sources: list[tuple[int, str | None]] = [(record.epoch, began.handoff)] if began and began.handoff else []
        sources += [(epoch, None) for epoch in earlier]
        for epoch, handoff in sources:
            target = self.layout.tmp_dir / f"adopt-{record.file_key}-{epoch}-{os.getpid()}.sqlite"
            remove_path(target)
            try:
                litestream.restore(self.replication.url_for(record.file_key, epoch, handoff=handoff), target)
                checked_for_hosting(target)
            except NotFound as error:  # this epoch has no replica: it acknowledged nothing (see _hold)
                remove_path(target)
                if not handoff:
                    problems.append(f"epoch {epoch}: {error}")
                continue
            except BaseException:
                # Any other failure (a damaged replica, the store away) is not a reason to go back to an
                # older epoch, which would silently drop what this one acknowledged.
                remove_path(target)
                raise
            log.info("restored %s from the %s of epoch %d", record.file_key, "handoff" if handoff else "stream", epoch)
            return target
        raise CoreError("; ".join(problems) or "no earlier epoch")

    # --- letting go -------------------------------------------------------------------------------

    def release(self, file_key: str) -> None:
        """This node no longer owns the file: stop replicating it and remove its copy."""
        with self._file_lock(file_key):
            with self._lock:
                self.held.pop(file_key, None)
            self.replication.remove(file_key)
            path = self.layout.database_file(file_key)
            with self.pool.exclusive(file_key, path):
                remove_path(path.parent)
            self.pool.forget(file_key)
        log.info("released database %s", file_key)

    def stop_replicating(self, file_key: str) -> None:
        """Before a planned move: the file stays, but no longer counts as held (nor is replicated)."""
        with self._lock:
            self.held.pop(file_key, None)
        self.replication.remove(file_key)

    # --- the marker -------------------------------------------------------------------------------

    def marker(self, file_key: str) -> int | None:
        try:
            return int(self.layout.epoch_marker(file_key).read_text().strip())
        except (OSError, ValueError):
            return None

    def _write_marker(self, file_key: str, epoch: int) -> None:
        marker = self.layout.epoch_marker(file_key)
        marker.parent.mkdir(parents=True, exist_ok=True)
        temporary = marker.with_name(f"{marker.name}.tmp")
        temporary.write_text(f"{epoch}\n")
        os.replace(temporary, marker)
        fsync_directory(marker.parent)

    def _file_lock(self, file_key: str) -> threading.Lock:
        with self._lock:
            return self._file_locks.setdefault(file_key, threading.Lock())
