"""GET /api/status: a health check for load balancers and operators (the details for server admins)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from airsequel.http.context import principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse


async def status(request: Request) -> JSONResponse:
    details = request.query_params.get("replication") == "details"
    caller = await principal(request)
    answer = await run_in_threadpool(lambda: services(request).status(caller, replication_details=details))
    return JSONResponse(answer)


routes = [Route("/api/status", status, methods=["GET"])]
