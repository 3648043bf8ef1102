"""A node's lease: one row per node in `cluster_nodes`, renewed every third of the lease.

The row's `lease_until` is wall-clock time (the other nodes compare it with theirs, so nodes need
synchronised clocks, within the takeover grace). The node itself fences by its monotonic clock: it
serves its databases only until `FENCE_SHARE` of the lease has passed since the start of its last
successful renewal, which is before the row's `lease_until` by the same clock; a process that was
stopped (SIGSTOP, a long pause) finds its fence closed the moment it runs again, before it could
answer anything. `incarnation` counts the node's (re)joins: a node whose databases were taken over
gets its incarnation raised by the taker, so its next renewal changes no row and it learns it lost
them (it joins again, as a new incarnation with nothing).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson

from airsequel.core.registry.control_plane import ControlPlane

FENCE_SHARE = 0.8  # the node stops serving after this share of its lease without a renewal
RENEWALS_PER_LEASE = 3


class NodeLease:
    def __init__(self, control: ControlPlane, node_id: str, url: str, lease_seconds: float) -> None:
        self.control = control
        self.node_id = node_id
        self.url = url
        self.lease_seconds = lease_seconds
        self.incarnation = 0
        self._serving_until = 0.0  # monotonic
        self.renewed_at: float | None = None  # monotonic, of the last successful renewal's start

    @property
    def renew_every(self) -> float:
        return self.lease_seconds / RENEWALS_PER_LEASE

    @property
    def serving(self) -> bool:
        """Whether this node may serve (and acknowledge writes to) the databases it owns now."""
        return time.monotonic() < self._serving_until

    def seconds_left(self) -> float:
        return max(0.0, self._serving_until - time.monotonic())

    def join(self, stats: dict[str, Any] | None = None) -> int:
        """Enter the cluster (again) as a new incarnation with a fresh lease; keeps `draining`.
        Returns the incarnation."""
        started = time.monotonic()
        until = time.time() + self.lease_seconds
        stats_json = orjson.dumps(stats or {}).decode()
        now_utc = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        with self.control.transaction() as conn:  # bumps: every node's map sees the (new) URL
            row = conn.execute("SELECT incarnation FROM cluster_nodes WHERE node_id = ?", (self.node_id,)).fetchone()
            incarnation = (int(row[0]) if row else 0) + 1
            if row:
                conn.execute(
                    "UPDATE cluster_nodes SET url = ?, incarnation = ?, lease_until = ?, started_utc = ?,"
                    " stats_json = ? WHERE node_id = ?",
                    (self.url, incarnation, until, now_utc, stats_json, self.node_id),
                )
            else:
                conn.execute(
                    "INSERT INTO cluster_nodes (node_id, url, incarnation, lease_until, started_utc, stats_json)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (self.node_id, self.url, incarnation, until, now_utc, stats_json),
                )
        self.incarnation = incarnation
        self._fence_from(started)
        return incarnation

    def renew(self, stats: dict[str, Any] | None = None) -> bool:
        """Extend the lease; False when the node's incarnation was ended by a takeover (join again).
        A control plane that cannot be reached raises: the fence then closes on its own in time."""
        started = time.monotonic()
        # One row by its key, without the control plane's write lock (no cached answer depends on a
        # lease's end): another node stuck holding that lock does not make this one fence itself.
        changed = self.control.execute_alone(
            "UPDATE cluster_nodes SET lease_until = ?, stats_json = ? WHERE node_id = ? AND incarnation = ?",
            (time.time() + self.lease_seconds, orjson.dumps(stats or {}).decode(), self.node_id, self.incarnation),
        )
        if changed != 1:
            self._serving_until = 0.0
            return False
        self._fence_from(started)
        return True

    def expire(self) -> None:
        """At a graceful stop, after everything was shipped: the others take over at once."""
        self._serving_until = 0.0
        self.control.execute_alone(
            "UPDATE cluster_nodes SET lease_until = 0 WHERE node_id = ? AND incarnation = ?",
            (self.node_id, self.incarnation),
        )

    def _fence_from(self, started: float) -> None:
        self.renewed_at = started
        self._serving_until = started + self.lease_seconds * FENCE_SHARE
