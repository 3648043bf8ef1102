"""The row page, the schema page of a table, and the foreign keys the table page links through: for
members at /dbs/{db_id}/..., for holders of a read-only link at /readonly/{readonly_id}/... (the
same pages, whose links stay under the read-only address). Table names may hold "/": the table is
the rest of the path, and the row is named in the query string (?rowid=12, ?key={"id":12})."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airsequel.core.auth.access import Action, Principal
from airsequel.core.errors import CoreError
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.http.context import authorized_database, authorized_readonly_database, principal, run_in_threadpool
from airsequel.http.context import services as services_of
from airsequel.http.error_pages import browser_error, wants_html
from airsequel.http.pages import templates
from airsequel.http.responses import JSONResponse


async def _database(request: Request) -> tuple[DatabaseRecord, Principal, str]:
    """The database, the caller as the core should see it, and where the page's links start."""
    if "readonly_id" in request.path_params:
        record = await authorized_readonly_database(request)
        return record, Principal.for_readonly_id(record), f"/readonly/{request.path_params['readonly_id']}"
    record = await authorized_database(request, Action.READ)
    return record, await principal(request), f"/dbs/{record.id}"


def _page(request: Request, name: str, data: dict[str, Any], base: str) -> Response:
    return templates.TemplateResponse(request, f"pages/{name}.html", {**data, "base": base})


async def row_page(request: Request) -> Response:
    try:
        record, caller, base = await _database(request)
        data = await run_in_threadpool(
            services_of(request).row_pages.row,
            caller,
            record,
            request.path_params["table"],
            rowid=request.query_params.get("rowid"),
            key=request.query_params.get("key"),
        )
    except CoreError as error:
        if not wants_html(request):
            raise  # an API client gets the error's JSON
        return await browser_error(request, error)
    return _page(request, "row", data, base)


async def schema_page(request: Request) -> Response:
    try:
        record, caller, base = await _database(request)
        data = await run_in_threadpool(
            services_of(request).row_pages.schema, caller, record, request.path_params["table"]
        )
    except CoreError as error:
        if not wants_html(request):
            raise  # an API client gets the error's JSON
        return await browser_error(request, error)
    return _page(request, "table_schema", data, base)


async def foreign_keys(request: Request) -> Response:
    """JSON for the table page's links: each foreign key, what it references, the label column there."""
    record, caller, _base = await _database(request)
    data = await run_in_threadpool(
        services_of(request).row_pages.foreign_keys, caller, record, request.path_params["table"]
    )
    return JSONResponse(data)


routes = [
    Route("/dbs/{db_id}/rows/{table:path}", row_page, methods=["GET"]),
    Route("/readonly/{readonly_id}/rows/{table:path}", row_page, methods=["GET"]),
    Route("/dbs/{db_id}/schema/{table:path}", schema_page, methods=["GET"]),
    Route("/readonly/{readonly_id}/schema/{table:path}", schema_page, methods=["GET"]),
    Route("/dbs/{db_id}/foreign-keys/{table:path}", foreign_keys, methods=["GET"]),
    Route("/readonly/{readonly_id}/foreign-keys/{table:path}", foreign_keys, methods=["GET"]),
]
