"""GET /api/status: a health check for load balancers and operators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from airsequel import __version__
from airsequel.http.context import run_in_threadpool, services
from airsequel.http.responses import JSONResponse


async def status(request: Request) -> JSONResponse:
    service = services(request)
    count = await run_in_threadpool(service.control.count_databases)
    details = request.query_params.get("replication") == "details"
    replication = (
        await run_in_threadpool(service.replication.health, details=details)
        if service.replication is not None
        else {"enabled": False}
    )
    healthy = not replication["enabled"] or replication["running"]
    return JSONResponse(
        {
            "status": "ok" if healthy else "degraded",
            "version": __version__,
            "numberOfDatabases": count,
            "replication": replication,
        }
    )


routes = [Route("/api/status", status, methods=["GET"])]
