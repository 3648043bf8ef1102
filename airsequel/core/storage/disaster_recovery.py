"""Rebuilding a lost data directory from the replica (`airsequel restore-all`).

The control plane first (unless it lives in PostgreSQL, which its operator backs up), then every database it lists that has a replica; each file must pass
integrity_check. A database without a usable replica is left out of the registry (a registry row
is never without its file) and named in the report, so that one missing replica never stops the
others from coming back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airsequel.core.errors import Conflict, CoreError
from airsequel.core.layout import DataLayout, replica_path
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.registry.epochs import epoch_at
from airsequel.core.registry.postgres_engine import is_postgres_url
from airsequel.core.storage import replication
from airsequel.core.storage.hosted_files import remove_path
from airsequel.core.storage.litestream_commands import checked_for_hosting, restore_epoch


class ControlPlaneNotRestored(CoreError):
    """The control plane has no usable replica: nothing was restored."""


@dataclass(frozen=True)
class NotRestored:
    database_id: str
    name: str
    owner: str
    reason: str


@dataclass
class RestoreReport:
    listed: int  # databases the restored control plane lists
    missing: list[NotRestored] = field(default_factory=list)

    @property
    def restored(self) -> int:
        return self.listed - len(self.missing)


def restore_all(
    layout: DataLayout,
    replica_url: str,
    *,
    endpoint: str | None,
    timestamp: str | None,
    control_plane: str = "",
) -> RestoreReport:
    """Restore into the empty (or new) directory of `layout` (Conflict when it is not empty;
    ControlPlaneNotRestored when the control plane has no replica). `control_plane`: a postgresql://
    URL when the control plane lives there (it survived: only the hosted files it lists come back)."""
    if layout.root.exists() and any(layout.root.iterdir()):
        raise Conflict(f"{layout.root} is not empty")
    layout.dbs_dir.mkdir(parents=True)
    if not is_postgres_url(control_plane):
        try:
            replication.restore(
                replication.replica_url(replica_url, *replica_path(None), endpoint=endpoint),
                layout.control_file,
                timestamp,
            )
        except CoreError as error:
            raise ControlPlaneNotRestored(
                f"the control plane could not be restored, so nothing was: {error}"
            ) from error
    registry = ControlPlane(control_plane or layout.control_file)
    try:
        listed = registry.query("SELECT file_key, id, name, owner, epoch FROM databases ORDER BY created_utc")
        report = RestoreReport(len(listed))
        missing_keys: list[str] = []
        for key, database_id, name, owner, current in listed:
            target = layout.database_file(key)
            target.parent.mkdir()
            # The epoch that held the moment (each replace replicates as a new epoch: registry/epochs.py).
            epoch = epoch_at(registry, key, timestamp, int(current))
            try:
                restore_epoch(
                    replication.replica_url(replica_url, *replica_path(key, epoch), endpoint=endpoint),
                    target,
                    timestamp,
                    ended=epoch != int(current),
                )
                checked_for_hosting(target)
            except CoreError as error:
                remove_path(target.parent)
                missing_keys.append(key)
                report.missing.append(NotRestored(database_id, name, owner or "", str(error)))
        if missing_keys:
            with registry.transaction() as control:
                control.executemany("DELETE FROM databases WHERE file_key = ?", [(key,) for key in missing_keys])
    finally:
        registry.close()
    return report
