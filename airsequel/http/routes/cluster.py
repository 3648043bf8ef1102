"""The cluster's admin API (server admins): GET /api/cluster, moving a database, draining a node.

The routing layer (cluster_routing.py) has already sent a move to the database's owner and a drain to
the node it names, so each call here runs where its work is."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.cluster.node import ClusterNode
from airsequel.core.errors import NotFound
from airsequel.http.bodies import documents_body, obj, read_json_object
from airsequel.http.context import principal, run_in_threadpool, services
from airsequel.http.openapi.schemas import STR
from airsequel.http.responses import JSONResponse

NOT_A_CLUSTER = "This server is not a node of a cluster (start it with --cluster: see docs/cluster.md)"


def _cluster(request: Request) -> ClusterNode:
    cluster = services(request).cluster
    if cluster is None:
        raise NotFound(NOT_A_CLUSTER)
    return cluster


async def overview(request: Request) -> JSONResponse:
    cluster = _cluster(request)
    caller = await principal(request)
    return JSONResponse(await run_in_threadpool(cluster.view, caller))


@documents_body(obj(["node"], node={**STR, "description": "The node to move the database to"}))
async def move_database(request: Request) -> JSONResponse:
    cluster = _cluster(request)
    caller = await principal(request)
    body = await read_json_object(request)
    return JSONResponse(await run_in_threadpool(cluster.move_database, caller, request.path_params["db_id"], body))


async def drain(request: Request) -> JSONResponse:
    cluster = _cluster(request)
    caller = await principal(request)
    draining = request.method == "POST"
    answer = await run_in_threadpool(cluster.drain, caller, request.path_params["node_id"], draining)
    return JSONResponse(answer, status_code=202 if draining else 200)


routes = [
    Route("/api/cluster", overview, methods=["GET"]),
    Route("/api/cluster/databases/{db_id}/move", move_database, methods=["POST"]),
    Route("/api/cluster/nodes/{node_id}/drain", drain, methods=["POST", "DELETE"]),
]
