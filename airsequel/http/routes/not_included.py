"""Routes of the reference that need an outside service or a runtime this server does not ship yet
(billing webhooks). They answer 501 with a JSON message; the
routing stays so that clients find them, and they are listed in the README under "Not included"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.errors import NotFound
from airsequel.http.context import authorized_database
from airsequel.http.responses import JSONResponse, error_response

ALL = ["GET", "POST", "PUT", "PATCH", "DELETE"]
FEATURES = {
    "billing": "Billing webhooks (Paddle) are not included in this server",
}


def not_included(feature: str) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        """Not included in this server (501)."""
        return error_response(501, FEATURES[feature])

    return endpoint


async def list_apps(request: Request) -> JSONResponse:
    """The database's apps: none exist in this server yet."""
    await authorized_database(request, Action.READ)
    return JSONResponse({"apps": []})


async def get_app(request: Request) -> JSONResponse:
    """An app of the database: none exist yet (404)."""
    await authorized_database(request, Action.READ)
    raise NotFound(f"App {request.path_params['app_id']!r} does not exist")


routes = [
    Route("/api/dbs/{db_id}/apps", list_apps, methods=["GET"]),
    Route("/dbs/{db_id}/apps/{app_id}", get_app, methods=["GET"]),
    Route("/api/events/paddle", not_included("billing"), methods=["POST"]),
]
