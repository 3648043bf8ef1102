"""GET /api/status: a health check for load balancers and operators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from airsequel import __version__
from airsequel.http.context import run_in_threadpool, services
from airsequel.http.responses import JSONResponse


async def status(request: Request) -> JSONResponse:
    count = await run_in_threadpool(services(request).control.count_databases)
    return JSONResponse({"status": "ok", "version": __version__, "numberOfDatabases": count})


routes = [Route("/api/status", status, methods=["GET"])]
