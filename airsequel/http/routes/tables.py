"""Tables and columns without SQL: /api/dbs/:dbId/tables/..., CSV export, search, file cells."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.errors import InvalidInput
from airsequel.core.file_types import sniff
from airsequel.core.sql.table_schema import (
    ColumnSpec,
    add_column,
    change_column,
    create_table,
    drop_column,
    drop_table,
    rename_table,
)
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
from airsequel.http.context import audit, authorized_database, authorized_readonly_database, run_in_threadpool, services
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
    "default": {"nullable": True, "oneOf": [STRING, {"type": "number"}, BOOLEAN]},
}


@documents_body(
    obj(
        ["columns"],
        columns={"type": "array", "items": obj(["name"], name=STRING, **COLUMN_CHANGES)},
        description=TEXT_OR_NULL,
    )
)
async def put_table(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request)
    name = request.path_params["table"]
    columns = body.get("columns")
    if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
        raise InvalidInput("columns must be a list of column objects ({name, sqliteDataType, isNonNull, ...})")
    specs = [ColumnSpec.from_json(c) for c in columns]
    tables = services(request).tables
    await run_in_threadpool(tables.edit, record, lambda conn: create_table(conn, name, specs))
    await audit(request, record, "schema", f"create table {name}", [name])
    present, description = text_value_field(body, "description")
    if present:
        await run_in_threadpool(lambda: tables.set_table_meta(record, name, description=description))
    updated = await run_in_threadpool(services(request).hosting.get, record.id)
    return JSONResponse(await run_in_threadpool(tables.table_json, updated, name), status_code=201)


@documents_body(obj(name=STRING, description=TEXT_OR_NULL, after=TEXT_OR_NULL))
async def patch_table(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request)
    tables = services(request).tables
    name = request.path_params["table"]
    new_name = string_field(body, "name")
    if new_name is not None and new_name != name:
        await run_in_threadpool(tables.edit, record, lambda conn: rename_table(conn, name, new_name))
        await audit(request, record, "schema", f"rename table {name} to {new_name}", [new_name])
        await run_in_threadpool(tables.renamed_table, record, name, new_name)
        name = new_name
    else:
        await run_in_threadpool(tables.table_json, record, name)  # 404 for an unknown table
    present, description = text_value_field(body, "description")
    if present:
        await run_in_threadpool(lambda: tables.set_table_meta(record, name, description=description))
    if "after" in body:
        after = body["after"]
        if after is not None and not isinstance(after, str):
            raise InvalidInput("after must be a table name or null (first)")
        fresh = await run_in_threadpool(services(request).hosting.get, record.id)
        position = await run_in_threadpool(tables.position_after, fresh, after)
        await run_in_threadpool(lambda: tables.set_table_meta(record, name, position=position))
    return JSONResponse({})


async def delete_table(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    name = request.path_params["table"]
    tables = services(request).tables
    await run_in_threadpool(tables.edit, record, lambda conn: drop_table(conn, name))
    await audit(request, record, "schema", f"drop table {name}", [name])
    await run_in_threadpool(tables.dropped_table, record, name)
    return JSONResponse({})


@documents_body(obj(**COLUMN_CHANGES, description=TEXT_OR_NULL), required=False)
async def put_column(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request, optional=True)
    table, column = request.path_params["table"], request.path_params["column"]
    spec = ColumnSpec.from_json(body, name=column)
    tables = services(request).tables
    await run_in_threadpool(tables.edit, record, lambda conn: add_column(conn, table, spec))
    await audit(request, record, "schema", f"add column {column} to {table}", [table])
    present, description = text_value_field(body, "description")
    if present:
        await run_in_threadpool(tables.set_column_description, record, table, column, description)
    updated = await run_in_threadpool(services(request).hosting.get, record.id)
    table_json = await run_in_threadpool(tables.table_json, updated, table)
    return JSONResponse(next(c for c in table_json["columns"] if c["name"] == column), status_code=201)


@documents_body(obj(name=STRING, **COLUMN_CHANGES, description=TEXT_OR_NULL))
async def patch_column(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request)
    table, column = request.path_params["table"], request.path_params["column"]
    tables = services(request).tables
    changes: dict[str, Any] = {
        k: body[k] for k in ("name", "sqliteDataType", "isNonNull", "isUnique", "isPrimaryKey", "default") if k in body
    }
    if changes:
        await run_in_threadpool(tables.edit, record, lambda conn: change_column(conn, table, column, changes))
        await audit(request, record, "schema", f"change column {column} of {table}: {changes}", [table])
    new_name = changes.get("name", column)
    if new_name != column:
        await run_in_threadpool(tables.renamed_column, record, table, column, new_name)
    present, description = text_value_field(body, "description")
    if present:
        await run_in_threadpool(tables.set_column_description, record, table, new_name, description)
    return JSONResponse({})


async def delete_column(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    table, column = request.path_params["table"], request.path_params["column"]
    tables = services(request).tables
    await run_in_threadpool(tables.edit, record, lambda conn: drop_column(conn, table, column))
    await audit(request, record, "schema", f"drop column {column} of {table}", [table])
    await run_in_threadpool(tables.dropped_column, record, table, column)
    return JSONResponse({})


async def export_table(request: Request) -> Response:
    record = await authorized_database(request, Action.READ)
    name = request.path_params["table"]
    await run_in_threadpool(services(request).tables.table_json, record, name)  # 404 before streaming starts
    return StreamingResponse(
        services(request).tables.export_csv(record, name),
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
    hosting = services(request).hosting
    settings = services(request).settings
    max_bytes = min(settings.max_upload_bytes, settings.max_file_cell_bytes)
    upload = await receive_upload(request, hosting.temp_path(), max_bytes=max_bytes)
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
        max_bytes,
    )
    await audit(request, record, "file", f"file into {params['table']}.{params['column']}", [params["table"]], 1)
    return JSONResponse({})


async def azimutt_schema(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    return JSONResponse(await run_in_threadpool(services(request).tables.azimutt_schema, record))


FILE_PATH = "/tables/{table}/columns/{column}/files/{key_column}/{key_value}"

routes = [
    Route("/api/dbs/{db_id}/azimutt-schema", azimutt_schema, methods=["GET"]),
    Route("/api/dbs/{db_id}/tables/{table}", get_table, methods=["GET"]),
    Route("/api/dbs/{db_id}/tables/{table}", put_table, methods=["PUT"]),
    Route("/api/dbs/{db_id}/tables/{table}", patch_table, methods=["PATCH"]),
    Route("/api/dbs/{db_id}/tables/{table}", delete_table, methods=["DELETE"]),
    Route("/api/dbs/{db_id}/tables/{table}/columns/{column}", put_column, methods=["PUT"]),
    Route("/api/dbs/{db_id}/tables/{table}/columns/{column}", patch_column, methods=["PATCH"]),
    Route("/api/dbs/{db_id}/tables/{table}/columns/{column}", delete_column, methods=["DELETE"]),
    Route("/api/dbs/{db_id}/tables/{table}/export", export_table, methods=["GET"]),
    Route("/api/dbs/{db_id}/tables/{table}/search/{term}", search_table, methods=["GET"]),
    Route("/api/dbs/{db_id}" + FILE_PATH, get_file, methods=["GET"]),
    Route("/api/dbs/{db_id}" + FILE_PATH, put_file, methods=["PUT"]),
    Route("/readonly/{readonly_id}" + FILE_PATH, get_file, methods=["GET"]),
]
