"""Records and assets: filtered, paged rows of a table; files attached to a database."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.formats.writers import csv_text
from airsequel.core.sql.runner import json_cell
from airsequel.http.bodies import BOOLEAN, STRING, bool_field, documents_body, obj, read_json_object
from airsequel.http.context import authorized_database, run_in_threadpool, services
from airsequel.http.encoded_routes import EncodedSlashRoute
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.files import content_disposition
from airsequel.http.uploads import receive_upload


async def list_records(request: Request) -> Response:
    record = await authorized_database(request, Action.READ)
    params = request.query_params
    columns, rows, next_cursor = await run_in_threadpool(
        services(request).records.page,
        record,
        request.path_params["table"],
        list(params.multi_items()),
        params.get("limit"),
        params.get("next"),
    )
    if "text/csv" in request.headers.get("accept", ""):
        headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
        return Response(csv_text(columns, rows), media_type="text/csv; charset=utf-8", headers=headers)
    records = [{c: json_cell(v) for c, v in zip(columns, row)} for row in rows]
    return JSONResponse({"records": records, "next": next_cursor})


@documents_body(obj(["filename"], filename=STRING))
async def create_asset(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request)
    return JSONResponse(
        await run_in_threadpool(services(request).assets.create, record, body.get("filename")), status_code=201
    )


async def list_assets(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    return JSONResponse({"assets": await run_in_threadpool(services(request).assets.of_database, record)})


async def upload_asset(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    assets = services(request).assets
    asset_id = request.path_params["asset_id"]
    await run_in_threadpool(assets.get, record, asset_id)  # 404 before reading the body
    upload = await receive_upload(request, services(request).hosting.temp_path(), max_bytes=assets.quota_bytes)
    return JSONResponse(await run_in_threadpool(assets.store, record, asset_id, upload.path))


@documents_body(obj(is_uploaded=BOOLEAN))
async def patch_asset(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request)
    uploaded = bool_field(body, "is_uploaded")
    assets = services(request).assets
    if uploaded is None:
        return JSONResponse(await run_in_threadpool(assets.get, record, request.path_params["asset_id"]))
    return JSONResponse(
        await run_in_threadpool(assets.mark_uploaded, record, request.path_params["asset_id"], uploaded)
    )


async def get_asset(request: Request) -> Response:
    record = await authorized_database(request, Action.READ)
    assets = services(request).assets
    if request.query_params.get("meta") == "true":
        return JSONResponse(await run_in_threadpool(assets.get, record, request.path_params["asset_id"]))
    path, filename = await run_in_threadpool(assets.path, record, request.path_params["asset_id"])
    return FileResponse(
        path, media_type="application/octet-stream", headers={"Content-Disposition": content_disposition(filename)}
    )


async def delete_asset(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    await run_in_threadpool(services(request).assets.delete, record, request.path_params["asset_id"])
    return JSONResponse({})


routes = [
    EncodedSlashRoute("/api/dbs/{db_id}/tables/{table}/records", list_records, methods=["GET"]),  # a/b as a%2Fb
    Route("/api/dbs/{db_id}/assets", create_asset, methods=["POST"]),
    Route("/api/dbs/{db_id}/assets", list_assets, methods=["GET"]),
    Route("/api/dbs/{db_id}/assets/{asset_id}", upload_asset, methods=["PUT"]),
    Route("/api/dbs/{db_id}/assets/{asset_id}", patch_asset, methods=["PATCH"]),
    Route("/api/dbs/{db_id}/assets/{asset_id}", get_asset, methods=["GET"]),
    Route("/api/dbs/{db_id}/assets/{asset_id}", delete_asset, methods=["DELETE"]),
]
