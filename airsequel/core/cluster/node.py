"""This server as one node of a cluster: its lease, the files it holds, where requests go.

`ClusterNode.start()` joins (a new incarnation with a fresh lease) and starts the node's loop, which
every third of the lease renews it, gives out the databases of nodes whose lease ran out
(takeover.py), and brings the files this node holds in line with what the registry says it owns
(adoption.py): restores the ones given to it, lets go of the ones taken from it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from airsequel.config import Settings
from airsequel.core.auth.access import Principal, PrincipalKind, is_server_admin
from airsequel.core.cluster.adoption import Adoption
from airsequel.core.cluster.gates import DatabaseGates
from airsequel.core.cluster.leases import NodeLease
from airsequel.core.cluster.moves import Moves
from airsequel.core.cluster.placement import all_nodes, database_counts, least_loaded
from airsequel.core.cluster.reseeding import Reseeding
from airsequel.core.cluster.takeover import take_over
from airsequel.core.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound, Unavailable
from airsequel.core.layout import DataLayout
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord
from airsequel.core.registry.postgres_engine import ControlPlaneUnreachable, is_postgres_url
from airsequel.core.sql.connections import ConnectionPool
from airsequel.core.storage.hosting import Hosting
from airsequel.core.storage.replication import Replication

log = logging.getLogger("airsequel.cluster")

NODE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
RECONCILE_SECONDS = 5.0
WORK_ROUND_SECONDS = 0.5  # the files held are compared with the registry at least this often
FENCED_MESSAGE = "This node's lease in the cluster ran out: it serves no database until it has renewed it; try again"


def require_cluster_admin(caller: Principal) -> None:
    if caller.kind == PrincipalKind.ANONYMOUS:
        raise NotAuthenticated("Log in as a server admin")
    if not is_server_admin(caller):
        raise Forbidden("Only server admins manage the cluster")


def setting_problems(settings: Settings) -> list[str]:
    """What cluster mode lacks in `settings` (empty when it is not on, or has all it needs)."""
    if not settings.cluster:
        return []
    problems = []
    if not is_postgres_url(settings.control_plane):
        problems.append("--cluster needs a shared control plane: --control-plane postgresql://...")
    if not settings.replica_url:
        problems.append("--cluster needs a replica every node reaches: --replica-url s3://... (AIRSEQUEL_REPLICA_URL)")
    if not settings.node_id or not NODE_ID.fullmatch(settings.node_id):
        problems.append("--cluster needs --node-id NAME (AIRSEQUEL_NODE_ID: letters, digits, - and _)")
    if not settings.advertise_url or not settings.advertise_url.startswith(("http://", "https://")):
        problems.append("--cluster needs --advertise-url http://host:port, the URL other nodes reach this one at")
    if not settings.secret_key:
        problems.append(
            "--cluster needs AIRSEQUEL_SECRET_KEY, the same on every node (it signs sessions and forwarding)"
        )
    if settings.workers > 1:
        problems.append("--cluster runs one process per node: run more nodes instead of --workers")
    return problems


class ClusterNode:
    def __init__(
        self,
        settings: Settings,
        layout: DataLayout,
        control: ControlPlane,
        hosting: Hosting,
        pool: ConnectionPool,
        replication: Replication,
    ) -> None:
        assert settings.node_id and settings.advertise_url  # setting_problems() said so
        self.node_id = settings.node_id
        self.url = settings.advertise_url.rstrip("/")
        self.control = control
        self.hosting = hosting
        self.replication = replication
        # The lease on a control-plane connection of its own, renewed by a thread of its own: neither this
        # process's other control-plane work (waiting behind the write lock) nor a slow restore delays it.
        self.lease_control = ControlPlane(settings.control_plane)
        self.lease = NodeLease(self.lease_control, self.node_id, self.url, settings.lease_seconds)
        self._stats: dict[str, Any] = {}
        self.gates = DatabaseGates()
        self.adoption = Adoption(layout, control, pool, replication, self.node_id)
        self.moves = Moves(control, hosting, pool, self.adoption, self.gates, self.node_id)
        self.reseeding = Reseeding(control, pool, self.adoption, self.gates, self.node_id)
        hosting.node_id = self.node_id
        hosting.on_hosted = self.adoption.hosted
        self._urls: tuple[int, dict[str, str]] = (-1, {})
        self._stopping = threading.Event()
        self._loops: list[threading.Thread] = []
        self._reconciled: tuple[int, float] = (-1, 0.0)

    # --- running ------------------------------------------------------------------------------

    def join(self) -> None:
        self._stats = self.stats()
        self.lease.join(self._stats)
        log.info("node %s joined the cluster as incarnation %d", self.node_id, self.lease.incarnation)

    def start(self) -> None:
        self._loops = [
            threading.Thread(target=self._renew_loop, name="cluster-lease", daemon=True),
            threading.Thread(target=self._work_loop, name="cluster-node", daemon=True),
        ]
        for loop in self._loops:
            loop.start()
        me = next((n for n in all_nodes(self.control) if n.node_id == self.node_id), None)
        if me is not None and me.draining:
            self.moves.start_draining()

    def stop(self) -> None:
        """After everything was shipped: end the lease, so that the others take over at once."""
        self._stopping.set()
        self.moves.stop()
        for loop in self._loops:
            loop.join(timeout=self.lease.lease_seconds + 5)
        try:
            self.lease.expire()
        except Exception:  # noqa: BLE001 - the lease then simply runs out
            log.warning("could not end this node's lease at stop", exc_info=True)
        self.lease_control.close()

    def _renew_loop(self) -> None:
        while True:
            try:
                if not self.lease.renew(self._stats):
                    log.error("node %s lost its databases to a takeover: joining again", self.node_id)
                    self.lease.join(self._stats)
                    self._reconciled = (-1, 0.0)  # the work loop lets go of what was taken
            except Exception:  # noqa: BLE001 - the fence closes by itself if this goes on
                log.warning("renewing node %s's lease failed", self.node_id, exc_info=True)
            if self._stopping.wait(self.lease.renew_every):
                return

    def _work_loop(self) -> None:
        while True:
            try:
                files = self.replication.sync_status() if self.replication.pid is not None else []
                self._stats = self.stats(files)
                if self.lease.serving:
                    self.reseeding.observe(files)
                    if take_over(self.control):
                        self._reconciled = (-1, 0.0)
                self.reconcile()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.warning("the cluster round of node %s failed", self.node_id, exc_info=True)
            # Often enough to see Litestream fall behind during a short outage of the object store.
            if self._stopping.wait(min(self.lease.renew_every, WORK_ROUND_SECONDS)):
                return

    def reconcile(self) -> None:
        """Hold what the registry says this node owns; let go of the rest."""
        generation = int(self.control.check_generation())
        seen, at = self._reconciled
        if generation == seen and time.monotonic() - at < RECONCILE_SECONDS:
            return
        owned = {
            str(row[0]): int(row[1])
            for row in self.control.query("SELECT file_key, epoch FROM databases WHERE node = ?", (self.node_id,))
        }
        for key, epoch in list(self.adoption.held.items()):
            if key not in owned:
                self.adoption.release(key)
            elif owned[key] != epoch:
                self.adoption.stop_replicating(key)  # it left and came back: held again below
        for key in owned:
            if key in self.adoption.held or self.gates.is_closed(key):
                continue
            record = self.control.database_by("file_key", key)
            if record is None or record.node != self.node_id:
                continue
            try:
                self.adoption.hold(record)
            except Unavailable as error:
                log.error("%s", error)
        self._reconciled = (generation, time.monotonic())

    # --- answers for the routing layer --------------------------------------------------------

    def is_local(self, record: DatabaseRecord) -> bool:
        return record.node == self.node_id

    def node_url(self, node_id: str) -> str | None:
        """The advertise URL of `node_id` (as of the control plane's current generation)."""
        generation = int(self.control.generation)
        seen, urls = self._urls
        if seen != generation or node_id not in urls:
            try:
                urls = {node.node_id: node.url for node in all_nodes(self.control)}
            except ControlPlaneUnreachable:
                if node_id in urls:  # the map last read holds while the control plane is away
                    return urls[node_id]
                raise
            self._urls = (generation, urls)
        return urls.get(node_id)

    def serve(self, record: DatabaseRecord) -> None:
        """Before this node runs a request for `record` (which it owns): its lease must hold, and it
        must hold the file at its epoch (restored first if need be: blocks). Unavailable otherwise."""
        if not self.lease.serving:
            raise Unavailable(FENCED_MESSAGE)
        self.adoption.hold(record)

    def tenure(self, record: DatabaseRecord) -> tuple[int, int]:
        """What a request that starts now runs under: this node's incarnation and the file's epoch."""
        return (self.lease.incarnation, record.epoch)

    def still_serving(self, record: DatabaseRecord, tenure: tuple[int, int]) -> bool:
        """Whether this node may still acknowledge what a request begun under `tenure` did: its lease
        holds, it is the same incarnation (it did not lose its databases and rejoin meanwhile), and it
        holds the file at the same epoch (no move or takeover in between)."""
        incarnation, epoch = tenure
        return (
            self.lease.serving
            and self.lease.incarnation == incarnation
            and self.adoption.held.get(record.file_key) == epoch
        )

    def placement(self) -> str | None:
        """Where a new database goes: None for this node, else the chosen node's URL."""
        counts = {node: count for node, (count, _) in database_counts(self.control).items()}
        chosen = least_loaded(all_nodes(self.control), counts)
        if chosen is None or chosen == self.node_id:
            return None
        return self.node_url(chosen)

    # --- what the admin sees ------------------------------------------------------------------

    def stats(self, files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """What this node publishes with each renewal (GET /api/cluster shows it for every node), from
        Litestream's per-file lags when the caller has them."""
        if files is None:
            files = self.replication.sync_status() if self.replication.pid is not None else []
        lags = [f["lagSeconds"] for f in files if f["lagSeconds"] is not None and f["fileKey"] in self.adoption.held]
        return {
            "held": len(self.adoption.held),
            "reseeded": self.reseeding.reseeded,
            "replication": {"running": self.replication.pid is not None, "maxLagSeconds": max(lags) if lags else None},
        }

    def overview(self) -> dict[str, Any]:
        now = time.time()
        counts = database_counts(self.control)
        nodes = [
            {
                "id": node.node_id,
                "url": node.url,
                "alive": node.alive(now),
                "draining": node.draining,
                "incarnation": node.incarnation,
                "leaseExpiresInSeconds": round(node.lease_until - now, 3),
                "startedUtc": node.started_utc,
                "databases": counts.get(node.node_id, (0, 0))[0],
                "bytes": counts.get(node.node_id, (0, 0))[1],
                "replication": node.stats.get("replication", {}),
            }
            for node in all_nodes(self.control)
        ]
        databases = [
            {
                "id": row[0],
                "name": row[1],
                "node": row[2],
                "epoch": int(row[3]),
                "size": int(row[4]),
                "durability": row[5],
            }
            for row in self.control.query(
                "SELECT id, name, node, epoch, size, durability FROM databases ORDER BY created_utc, id"
            )
        ]
        return {"node": self.node_id, "leaseSeconds": self.lease.lease_seconds, "nodes": nodes, "databases": databases}

    # --- the admin API (GET /api/cluster, moves, drains) ------------------------------------------

    def view(self, caller: Principal) -> dict[str, Any]:
        require_cluster_admin(caller)
        return self.overview()

    def move_database(self, caller: Principal, database_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /api/cluster/databases/<id>/move {"node": "b"} (run on the database's owner)."""
        require_cluster_admin(caller)
        to_node = body.get("node")
        if not isinstance(to_node, str) or not to_node:
            raise InvalidInput('Send {"node": "<node id>"}: the node to move the database to')
        record = self.hosting.get(database_id)
        moved = self.moves.move(record, to_node)
        return {"id": moved.id, "node": moved.node, "epoch": moved.epoch}

    def drain(self, caller: Principal, node_id: str, draining: bool) -> dict[str, Any]:
        """POST (and DELETE) /api/cluster/nodes/<id>/drain (run on that node, when it is alive)."""
        require_cluster_admin(caller)
        nodes = {node.node_id: node for node in all_nodes(self.control)}
        if node_id not in nodes:
            raise NotFound(f"There is no node {node_id!r} in the cluster")
        if draining and node_id != self.node_id:
            raise InvalidInput(f"Node {node_id!r} is not alive: its databases are taken over without a drain")
        count = self.moves.set_draining(node_id, draining)
        return {"node": node_id, "draining": draining, "databases": count}
