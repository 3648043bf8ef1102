"""The database registry API: /api/dbs and /api/dbs/:dbId (list, create, read, change, delete), and
the read-only link: POST /api/dbs/:dbId/readonly-id turns it on with a fresh id, DELETE turns it off."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from airsequel.core.auth.access import Action, Disclosure, disclosure
from airsequel.core.errors import InvalidInput
from airsequel.core.integer_text import parse_count
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.http.bodies import STRING, documents_body, obj, read_json_object, string_field, text_value_field
from airsequel.http.context import authorized_database, principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse


def database_json(record: DatabaseRecord, shown: Disclosure) -> dict[str, Any]:
    """A database in the reference's shape, as the caller may see it: `readonlyId` is null unless the
    caller manages the database and the link is on; `size` and `lastModifiedUtc` are null for a
    caller who may not read it (an insert-only token)."""
    return {
        "auditing": record.auditing,
        "createdUtc": record.created_utc,
        "description": record.description,
        "environment": record.environment,
        "fileFormat": record.file_format,
        "fileName": record.file_name,
        "id": record.id,
        "lastModifiedUtc": record.last_modified_utc if shown.contents else None,
        "location": None,
        "name": record.name,
        "owner": record.owner,
        "readonlyId": shown.readonly_id,
        "schemaLocked": record.schema_locked,
        "schemaVersion": record.schema_version,
        "size": record.size if shown.contents else None,
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
    return JSONResponse(
        {"databases": [database_json(r, disclosure(caller, r)) for r in page], "numberOfDatabases": total}
    )


@documents_body(obj(["name"], name=STRING, team=STRING, query=STRING, description=STRING, fileFormat=STRING))
async def create_database(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    name = string_field(body, "name", required=True)
    query = string_field(body, "query")
    description = string_field(body, "description")
    caller = await principal(request)
    record = await run_in_threadpool(
        lambda: services(request).catalog.create(
            caller,
            string_field(body, "team"),
            name,
            description=description,
            query=query,
            file_format=body.get("fileFormat"),
        )
    )
    return JSONResponse(ownership_json(record), status_code=201)


async def get_database(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    tables = await run_in_threadpool(services(request).tables.ordered_tables, record)
    return JSONResponse({**database_json(record, disclosure(await principal(request), record)), "tables": tables})


@documents_body(obj(name=STRING, description=STRING, owner=STRING))
async def patch_database(request: Request) -> JSONResponse:
    """Rename, describe, and move to another team (`owner`: a team name, plain or as the reference's
    `{"tag": "TextValue", "contents": ...}`), all or nothing."""
    record = await authorized_database(request, Action.MANAGE)
    body = await read_json_object(request)
    name = string_field(body, "name")
    has_description, description = text_value_field(body, "description")
    has_owner, owner = text_value_field(body, "owner")
    if has_owner and owner is None:
        raise InvalidInput("owner cannot be null: a database always belongs to a team")
    caller = await principal(request)
    await run_in_threadpool(
        lambda: services(request).catalog.change(
            record,
            caller,
            name=name,
            description=description,
            clear_description=has_description and description is None,
            team=owner,
        )
    )
    return JSONResponse({})


async def delete_database(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.MANAGE)
    await run_in_threadpool(services(request).hosting.delete, record)
    return JSONResponse({})


async def turn_on_readonly_id(request: Request) -> JSONResponse:
    """The read-only link on, with a fresh id (as GET/POST /dbs/:dbId/regenerate-readonly-id)."""
    record = await authorized_database(request, Action.MANAGE)
    new_id = await run_in_threadpool(services(request).hosting.regenerate_readonly_id, record)
    return JSONResponse({"readonlyId": new_id})


async def turn_off_readonly_id(request: Request) -> JSONResponse:
    """The read-only link off: its id stops working at once."""
    record = await authorized_database(request, Action.MANAGE)
    await run_in_threadpool(services(request).hosting.turn_off_readonly_id, record)
    return JSONResponse({"readonlyId": None})


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
    Route("/api/dbs/{db_id}/readonly-id", turn_on_readonly_id, methods=["POST"]),
    Route("/api/dbs/{db_id}/readonly-id", turn_off_readonly_id, methods=["DELETE"]),
    Route("/api/dbs/{db_id}/schema", schema, methods=["GET"]),
    Route("/api/dbs/{db_id}/vacuum", vacuum, methods=["POST"]),
]
