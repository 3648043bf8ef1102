"""The answers of the cluster's admin API (routes/cluster.py), keyed by (method, path)."""

from __future__ import annotations

from airsequel.http.openapi.declarations import Declared, declare, json
from airsequel.http.openapi.schemas import BOOL, INT, STR, array, nullable, record

NUMBER = {"type": "number"}
NODE = record(
    id=STR,
    url=STR,
    alive=BOOL,
    draining=BOOL,
    incarnation=INT,
    leaseExpiresInSeconds=NUMBER,
    startedUtc=STR,
    databases=INT,
    bytes=INT,
    replication=record(running=BOOL, maxLagSeconds=nullable(NUMBER)),
)
PLACED = record(id=STR, name=STR, node=nullable(STR), epoch=INT, size=INT, durability=STR)
CLUSTER = record(node=STR, leaseSeconds=NUMBER, nodes=array(NODE), databases=array(PLACED))
DRAIN = record(node=STR, draining=BOOL, databases=INT)

RESPONSES: dict[tuple[str, str], Declared] = {
    ("GET", "/api/cluster"): declare(
        json(CLUSTER, description="The nodes, their leases and loads, and where every database is"),
        errors=(401, 403, 404),
    ),
    ("POST", "/api/cluster/databases/{db_id}/move"): declare(
        json(record(id=STR, node=STR, epoch=INT), description="Moved: the database's new owner and epoch"),
        errors=(400, 401, 403, 404, 409, 413, 503),
    ),
    ("POST", "/api/cluster/nodes/{node_id}/drain"): declare(
        json(DRAIN, 202, "Draining: the node moves its databases away in the background"),
        errors=(400, 401, 403, 404),
    ),
    ("DELETE", "/api/cluster/nodes/{node_id}/drain"): declare(
        json(DRAIN, description="No longer draining"), errors=(401, 403, 404)
    ),
}
