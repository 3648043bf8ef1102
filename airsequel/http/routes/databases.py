"""The database registry API: /api/dbs and /api/dbs/:dbId (list, create, read, change, delete)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.errors import InvalidInput
from airsequel.core.integer_text import parse_count
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.http.bodies import STRING, documents_body, obj, read_json_object, string_field, text_value_field
from airsequel.http.context import authorized_database, principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse


def database_json(record: DatabaseRecord) -> dict[str, Any]:
    """A database in the reference's shape."""
    return {
        "auditing": record.auditing,
        "createdUtc": record.created_utc,
        "description": record.description,
        "environment": record.environment,
        "fileFormat": record.file_format,
        "fileName": record.file_name,
        "id": record.id,
        "lastModifiedUtc": record.last_modified_utc,
        "location": None,
        "name": record.name,
        "owner": record.owner,
        "readonlyId": record.readonly_id,
        "schemaLocked": record.schema_locked,
        "schemaVersion": record.schema_version,
        "size": record.size,
        "tables": record.tables,
        "userVersion": record.user_version,
        "viewsTab": record.views_tab,
        "visibility": record.visibility,
    }


def ownership_json(record: DatabaseRecord) -> dict[str, Any]:
    return {"id": record.id, "ownerName": record.owner, "ownershipUtc": record.ownership_utc}


def _page_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = parse_count(raw)
    if value is None:
        raise InvalidInput(f"{name} must be a non-negative integer")
    return value


async def list_databases(request: Request) -> JSONResponse:
    limit = _page_param(request, "limit", None)
    offset = _page_param(request, "offset", 0) or 0
    caller = await principal(request)
    page, total = await run_in_threadpool(services(request).catalog.visible_to, caller, limit, offset)
    return JSONResponse({"databases": [database_json(r) for r in page], "numberOfDatabases": total})


@documents_body(obj(["name"], name=STRING, team=STRING, query=STRING, description=STRING, fileFormat=STRING))
async def create_database(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    name = string_field(body, "name", required=True)
    query = string_field(body, "query")
    description = string_field(body, "description")
    file_format = body.get("fileFormat", "sqlite")
    if file_format not in (None, "sqlite", "csv"):
        raise InvalidInput("fileFormat must be 'sqlite' or 'csv'")
    caller = await principal(request)
    record = await run_in_threadpool(
        lambda: services(request).catalog.create(
            caller, string_field(body, "team"), name, description=description, query=query
        )
    )
    return JSONResponse(ownership_json(record), status_code=201)


async def get_database(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    tables = await run_in_threadpool(services(request).tables.ordered_tables, record)
    return JSONResponse({**database_json(record), "tables": tables})


@documents_body(obj(name=STRING, description=STRING))
async def patch_database(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.MANAGE)
    body = await read_json_object(request)
    name = string_field(body, "name")
    has_description, description = text_value_field(body, "description")
    await run_in_threadpool(
        services(request).hosting.update,
        record,
        name=name,
        description=description,
        clear_description=has_description and description is None,
    )
    return JSONResponse({})


async def delete_database(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.MANAGE)
    await run_in_threadpool(services(request).hosting.delete, record)
    return JSONResponse({})


async def schema(request: Request) -> PlainTextResponse:
    record = await authorized_database(request, Action.READ)
    text = await run_in_threadpool(services(request).hosting.schema_text, record)
    return PlainTextResponse(text)


async def vacuum(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    updated = await run_in_threadpool(services(request).hosting.vacuum, record)
    return JSONResponse({"size": updated.size})


routes = [
    Route("/api/dbs", list_databases, methods=["GET"]),
    Route("/api/dbs", create_database, methods=["POST"]),
    Route("/api/dbs/{db_id}", get_database, methods=["GET"]),
    Route("/api/dbs/{db_id}", patch_database, methods=["PATCH"]),
    Route("/api/dbs/{db_id}", delete_database, methods=["DELETE"]),
    Route("/api/dbs/{db_id}/schema", schema, methods=["GET"]),
    Route("/api/dbs/{db_id}/vacuum", vacuum, methods=["POST"]),
]
