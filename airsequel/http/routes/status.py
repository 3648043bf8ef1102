"""GET /api/status: a health check for load balancers and operators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from airsequel.http.context import run_in_threadpool, services
from airsequel.http.responses import JSONResponse


async def status(request: Request) -> JSONResponse:
    details = request.query_params.get("replication") == "details"
    return JSONResponse(await run_in_threadpool(lambda: services(request).status(replication_details=details)))


routes = [Route("/api/status", status, methods=["GET"])]
