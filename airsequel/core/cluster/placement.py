"""The nodes as the control plane lists them, and where a new (or orphaned) database goes: the live,
non-draining node that owns the fewest databases (ties: the smaller node id)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import ControlPlane

NODE_COLUMNS = "node_id, url, incarnation, lease_until, draining, started_utc, stats_json"


@dataclass(frozen=True)
class Node:
    node_id: str
    url: str
    incarnation: int
    lease_until: float
    draining: bool
    started_utc: str
    stats: dict[str, Any]

    def alive(self, now: float | None = None) -> bool:
        return self.lease_until >= (time.time() if now is None else now)

    @classmethod
    def from_row(cls, row: Any) -> Node:
        return cls(
            str(row[0]), str(row[1]), int(row[2]), float(row[3]), bool(row[4]), str(row[5]), orjson.loads(row[6])
        )


def all_nodes(control: ControlPlane | ControlConnection) -> list[Node]:
    rows = (
        control.query(f"SELECT {NODE_COLUMNS} FROM cluster_nodes ORDER BY node_id")
        if isinstance(control, ControlPlane)
        else control.execute(f"SELECT {NODE_COLUMNS} FROM cluster_nodes ORDER BY node_id").fetchall()
    )
    return [Node.from_row(row) for row in rows]


def database_counts(conn: ControlPlane | ControlConnection) -> dict[str, tuple[int, int]]:
    """Per node: how many databases it owns and their bytes."""
    sql = "SELECT node, count(*), coalesce(sum(size), 0) FROM databases WHERE node IS NOT NULL GROUP BY node"
    rows = conn.query(sql) if isinstance(conn, ControlPlane) else conn.execute(sql).fetchall()
    return {str(row[0]): (int(row[1]), int(row[2])) for row in rows}


def least_loaded(
    nodes: list[Node], counts: dict[str, int], *, excluding: frozenset[str] = frozenset(), now: float | None = None
) -> str | None:
    """The live, non-draining node (not in `excluding`) with the fewest databases; None if there is none."""
    candidates = [n for n in nodes if n.alive(now) and not n.draining and n.node_id not in excluding]
    if not candidates:
        return None
    return min(candidates, key=lambda n: (counts.get(n.node_id, 0), n.node_id)).node_id
