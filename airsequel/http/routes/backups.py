"""Backups: GET /api/dbs/:dbId/backups (the restore window) and POST /api/dbs/:dbId/restore.

A past state can hold rows deleted since: both are for the database's managers only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.http.bodies import BOOLEAN, STRING, bool_field, documents_body, obj, read_json_object, string_field
from airsequel.http.context import authorized_database, principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.databases import ownership_json


async def backups(request: Request) -> JSONResponse:
    """The window a database can be restored to: earliest and latest point (managers only)."""
    record = await authorized_database(request, Action.MANAGE)
    caller = await principal(request)
    return JSONResponse(await run_in_threadpool(services(request).backups.window, record, caller))


@documents_body(obj(timestamp=STRING, as_new=BOOLEAN, team=STRING), required=False)
async def restore(request: Request) -> JSONResponse:
    """Restore a database to a point in time (managers only): into a new database (default) or in place."""
    record = await authorized_database(request, Action.MANAGE)
    body = await read_json_object(request, optional=True)
    as_new = bool_field(body, "as_new")
    as_new = True if as_new is None else as_new
    caller = await principal(request)
    restored = await run_in_threadpool(
        lambda: services(request).backups.restore(
            record, caller, string_field(body, "timestamp"), as_new=as_new, team=string_field(body, "team")
        )
    )
    return JSONResponse(ownership_json(restored), status_code=201 if as_new else 200)


routes = [
    Route("/api/dbs/{db_id}/backups", backups, methods=["GET"]),
    Route("/api/dbs/{db_id}/restore", restore, methods=["POST"]),
]
