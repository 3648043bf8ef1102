"""Taking over the databases of nodes whose lease ran out (or that no node owns: databases hosted
before the server became a cluster).

Any live node looks, every round, for such databases with one read; when there are some, it gives
them out in one control-plane transaction (writers are serialised there, so two nodes never give one
database twice): each goes to the least-loaded live node with its epoch raised by one, the new epoch
noted in the history, and the dead node's incarnation is ended, so that a node that was only paused
learns at its next renewal that its databases are gone. The new owners restore them from the
replica (adoption.py).
"""

from __future__ import annotations

import logging
import time

from airsequel.core.cluster.placement import all_nodes, database_counts, least_loaded
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.registry.epochs import record_epoch

log = logging.getLogger("airsequel.cluster")

# How long past a lease's end its databases are left alone: covers clock differences between nodes.
TAKEOVER_GRACE_SECONDS = 1.0

_ORPHANS = """
SELECT d.file_key, d.node, d.epoch FROM databases d
LEFT JOIN cluster_nodes n ON n.node_id = d.node
WHERE d.node IS NULL OR n.node_id IS NULL OR n.lease_until < ?
ORDER BY d.created_utc, d.file_key
"""


def orphans(control: ControlPlane, *, grace: float = TAKEOVER_GRACE_SECONDS) -> int:
    """How many databases wait for a new owner (one read, no transaction)."""
    return len(control.query(_ORPHANS, (time.time() - grace,)))


def take_over(control: ControlPlane, *, grace: float = TAKEOVER_GRACE_SECONDS) -> list[tuple[str, str, int]]:
    """Give every orphaned database to a live node; (file key, new node, new epoch) of each given."""
    if not orphans(control, grace=grace):
        return []
    given: list[tuple[str, str, int]] = []
    with control.transaction() as conn:
        now = time.time()
        # First end the dead nodes' incarnations, each only if its lease is still over: the row lock this
        # takes makes a renewal racing it wait, and then change nothing (the node learns it lost all).
        candidates = {str(row[1]) for row in conn.execute(_ORPHANS, (now - grace,)).fetchall() if row[1] is not None}
        nodes = all_nodes(conn)
        listed = {node.node_id for node in nodes}
        dead = {
            node_id
            for node_id in candidates
            if node_id not in listed  # a node the cluster never had (or forgot): nothing to end
            or conn.execute(
                "UPDATE cluster_nodes SET incarnation = incarnation + 1 WHERE node_id = ? AND lease_until < ?",
                (node_id, now - grace),
            ).rowcount
            == 1
        }
        found = [
            row for row in conn.execute(_ORPHANS, (now - grace,)).fetchall() if row[1] is None or str(row[1]) in dead
        ]
        counts = {node: count for node, (count, _) in database_counts(conn).items()}
        for file_key, _old, epoch in found:
            target = least_loaded(nodes, counts, excluding=frozenset(dead), now=now)
            if target is None:
                break  # no live node to give it to: the next round tries again
            new_epoch = int(epoch) + 1
            conn.execute("UPDATE databases SET node = ?, epoch = ? WHERE file_key = ?", (target, new_epoch, file_key))
            record_epoch(conn, str(file_key), new_epoch, target)
            counts[target] = counts.get(target, 0) + 1
            given.append((str(file_key), target, new_epoch))
    for file_key, target, epoch in given:
        log.warning("database %s given to node %s at epoch %d (its owner's lease ran out)", file_key, target, epoch)
    return given
