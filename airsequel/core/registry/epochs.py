"""Ownership epochs of hosted databases in a cluster: which node wrote a database from when.

Each epoch replicates under its own prefix (layout.replica_path), so its history says where a
database's data is: the newest epoch with a replica holds the latest state, and the epoch in force
at a moment holds that moment's state (point-in-time restore). On one server every database stays
at epoch 0 and this history is empty.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import ControlPlane


@dataclass(frozen=True)
class Epoch:
    epoch: int
    node: str
    started_at: float  # unix seconds
    handoff: str | None = None  # the planned move's snapshot that starts it, if one does


def record_epoch(conn: ControlConnection, file_key: str, epoch: int, node: str, handoff: str | None = None) -> None:
    """Note, inside the transaction that made it, that `node` writes `file_key` from now on as `epoch`
    (`handoff`: starting from that planned move's snapshot)."""
    conn.execute(
        "INSERT INTO database_epochs (file_key, epoch, node, started_at, handoff) VALUES (?, ?, ?, ?, ?)",
        (file_key, epoch, node, time.time(), handoff),
    )


def epochs_of(control: ControlPlane, file_key: str) -> list[Epoch]:
    """The database's epochs, newest first."""
    rows = control.query(
        "SELECT epoch, node, started_at, handoff FROM database_epochs WHERE file_key = ? ORDER BY epoch DESC",
        (file_key,),
    )
    return [Epoch(int(row[0]), str(row[1]), float(row[2]), row[3]) for row in rows]


def epochs_before(control: ControlPlane, file_key: str, epoch: int) -> list[int]:
    """The epochs whose replicas may hold the state a new owner at `epoch` starts from, newest first
    (epoch 0 last: a database hosted before the server became a cluster replicated there)."""
    found = [e.epoch for e in epochs_of(control, file_key) if e.epoch < epoch]
    return found if 0 in found else [*found, 0]


def epoch_at(control: ControlPlane, file_key: str, timestamp: str | None, current: int) -> int:
    """The epoch in force at `timestamp` (ISO 8601; None: now, the current epoch)."""
    if timestamp is None:
        return current
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return current  # the restore itself says what is wrong with the time
    history = epochs_of(control, file_key)
    for entry in history:
        if entry.started_at <= moment:
            return entry.epoch
    # Before the oldest recorded epoch: the one before it (epoch 0, which has no row, on a database
    # hosted before its first replace, move or takeover).
    return max(0, history[-1].epoch - 1) if history else current
