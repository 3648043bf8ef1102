"""Tables and columns without SQL: /api/dbs/:dbId/tables/..., CSV export, search, file cells. A table or
column name holding "/" is sent as %2F."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from airsequel.core.auth.access import Action
from airsequel.core.content.schema_edits import UNCHANGED
from airsequel.core.errors import InvalidInput
from airsequel.core.file_types import sniff
from airsequel.core.sql.table_schema import ColumnSpec
from airsequel.http.bodies import (
    BOOLEAN,
    STRING,
    TEXT_OR_NULL,
    documents_body,
    obj,
    read_json_object,
    string_field,
    text_value_field,
)
from airsequel.http.context import (
    authorized_database,
    authorized_readonly_database,
    principal,
    run_in_threadpool,
    services,
)
from airsequel.http.encoded_routes import EncodedSlashRoute
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.files import content_disposition
from airsequel.http.uploads import receive_upload


async def get_table(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    return JSONResponse(
        await run_in_threadpool(services(request).tables.table_json, record, request.path_params["table"])
    )


# What a column definition may say (ColumnSpec.from_json reads it); `default` is a literal or null.
COLUMN_CHANGES = {
    "sqliteDataType": STRING,
    "isNonNull": BOOLEAN,
    "isPrimaryKey": BOOLEAN,
    "isUnique": BOOLEAN,
    "default": {"anyOf": [{"type": "string", "nullable": True}, {"type": "number"}, BOOLEAN]},  # null: no default
}


@documents_body(
    obj(
        columns={
            "type": "array",
            "items": obj(["name"], name=STRING, **COLUMN_CHANGES),
            "description": "Without columns, the table gets one: id INTEGER PRIMARY KEY",
        },
        description=TEXT_OR_NULL,
    )
)
async def put_table(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request)
    columns = body.get("columns")
    if columns is not None and (not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns)):
        raise InvalidInput("columns must be a list of column objects ({name, sqliteDataType, isNonNull, ...})")
    specs = [ColumnSpec.from_json(c) for c in columns] if columns is not None else None
    created = await run_in_threadpool(
        services(request).schema_edits.create_table,
        record,
        await principal(request),
        request.path_params["table"],
        specs,
        _described(body),
    )
    return JSONResponse(created, status_code=201)


def _described(body: dict[str, Any]) -> Any:
    """The body's description (text or null), or UNCHANGED when it names none."""
    present, description = text_value_field(body, "description")
    return description if present else UNCHANGED


@documents_body(obj(name=STRING, description=TEXT_OR_NULL, after=TEXT_OR_NULL))
async def patch_table(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request)
    await run_in_threadpool(
        lambda actor: services(request).schema_edits.change_table(
            record,
            actor,
            request.path_params["table"],
            new_name=string_field(body, "name"),
            description=_described(body),
            after=body.get("after", UNCHANGED),
        ),
        await principal(request),
    )
    return JSONResponse({})


async def delete_table(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    edits = services(request).schema_edits
    await run_in_threadpool(edits.drop_table, record, await principal(request), request.path_params["table"])
    return JSONResponse({})


@documents_body(obj(**COLUMN_CHANGES, description=TEXT_OR_NULL), required=False)
async def put_column(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request, optional=True)
    table, column = request.path_params["table"], request.path_params["column"]
    spec = ColumnSpec.from_json(body, name=column)
    edits = services(request).schema_edits
    created = await run_in_threadpool(edits.add_column, record, await principal(request), table, spec, _described(body))
    return JSONResponse(created, status_code=201)


@documents_body(obj(name=STRING, **COLUMN_CHANGES, description=TEXT_OR_NULL))
async def patch_column(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request)
    table, column = request.path_params["table"], request.path_params["column"]
    fields = ("name", "sqliteDataType", "isNonNull", "isUnique", "isPrimaryKey", "default")
    changes: dict[str, Any] = {k: body[k] for k in fields if k in body}
    edits = services(request).schema_edits
    await run_in_threadpool(
        edits.change_column, record, await principal(request), table, column, changes, _described(body)
    )
    return JSONResponse({})


async def delete_column(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    table, column = request.path_params["table"], request.path_params["column"]
    edits = services(request).schema_edits
    await run_in_threadpool(edits.drop_column, record, await principal(request), table, column)
    return JSONResponse({})


async def export_table(request: Request) -> Response:
    record = await authorized_database(request, Action.READ)
    name = request.path_params["table"]
    chunks = await run_in_threadpool(services(request).tables.export_csv, record, name)
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(f"{name}.csv")},
    )


async def search_table(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    result = await run_in_threadpool(
        services(request).tables.search, record, request.path_params["table"], request.path_params["term"]
    )
    return JSONResponse(result)


async def get_file(request: Request) -> Response:
    if "readonly_id" in request.path_params:
        record = await authorized_readonly_database(request)
    else:
        record = await authorized_database(request, Action.READ)
    params = request.path_params
    content = await run_in_threadpool(
        services(request).tables.read_file,
        record,
        params["table"],
        params["column"],
        params["key_column"],
        params["key_value"],
    )
    media_type, extension = sniff(content)
    filename = f"{params['table']}-{params['column']}-{params['key_value']}.{extension}"
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
        },
    )


async def put_file(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    settings = services(request).settings
    max_bytes = min(settings.max_upload_bytes, settings.max_file_cell_bytes)
    upload = await receive_upload(request, services(request).hosting.temp_path(), max_bytes=max_bytes)
    try:
        content = upload.path.read_bytes()
    finally:
        upload.path.unlink(missing_ok=True)
    params = request.path_params
    await run_in_threadpool(
        services(request).tables.write_file,
        record,
        params["table"],
        params["column"],
        params["key_column"],
        params["key_value"],
        content,
        await principal(request),
    )
    return JSONResponse({})


async def azimutt_schema(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    return JSONResponse(await run_in_threadpool(services(request).tables.azimutt_schema, record))


# key_value last and as a path: a key holding "/" arrives decoded from %2F, and still names its row.
FILE_PATH = "/tables/{table}/columns/{column}/files/{key_column}/{key_value:path}"

# Names holding "/" are sent as %2F (encodeURIComponent does): see encoded_routes.py.
routes = [
    EncodedSlashRoute("/api/dbs/{db_id}/azimutt-schema", azimutt_schema, methods=["GET"]),
    EncodedSlashRoute("/api/dbs/{db_id}/tables/{table}", get_table, methods=["GET"]),
    EncodedSlashRoute("/api/dbs/{db_id}/tables/{table}", put_table, methods=["PUT"]),
    EncodedSlashRoute("/api/dbs/{db_id}/tables/{table}", patch_table, methods=["PATCH"]),
    EncodedSlashRoute("/api/dbs/{db_id}/tables/{table}", delete_table, methods=["DELETE"]),
    EncodedSlashRoute("/api/dbs/{db_id}/tables/{table}/columns/{column}", put_column, methods=["PUT"]),
    EncodedSlashRoute("/api/dbs/{db_id}/tables/{table}/columns/{column}", patch_column, methods=["PATCH"]),
    EncodedSlashRoute("/api/dbs/{db_id}/tables/{table}/columns/{column}", delete_column, methods=["DELETE"]),
    EncodedSlashRoute("/api/dbs/{db_id}/tables/{table}/export", export_table, methods=["GET"]),
    EncodedSlashRoute("/api/dbs/{db_id}/tables/{table}/search/{term}", search_table, methods=["GET"]),
    EncodedSlashRoute("/api/dbs/{db_id}" + FILE_PATH, get_file, methods=["GET"]),
    EncodedSlashRoute("/api/dbs/{db_id}" + FILE_PATH, put_file, methods=["PUT"]),
    EncodedSlashRoute("/readonly/{readonly_id}" + FILE_PATH, get_file, methods=["GET"]),
]
