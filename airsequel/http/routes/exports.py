"""Export jobs: POST/GET /api/exports, GET/DELETE /api/exports/:id, GET /api/exports/:id/data."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from airsequel.core.exports.jobs import require_exporter
from airsequel.core.formats.writers import MEDIA_TYPES
from airsequel.http.bodies import BOOLEAN, STRING, documents_body, obj, read_json_object
from airsequel.http.context import principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.files import content_disposition

ARTIFACT_TYPES = {
    ".zip": "application/zip",
    ".csv": "text/csv",
    ".ndjson": "application/x-ndjson",
    ".json": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@documents_body(
    obj(
        ["name", "databases"],
        name={"type": "string", "minLength": 1, "maxLength": 200},
        databases={"type": "array", "items": STRING, "minItems": 1},
        media_type={"enum": list(MEDIA_TYPES)},
        tables={"type": "array", "items": STRING},
        include_assets=BOOLEAN,
        filters={"type": "object", "additionalProperties": {"type": "object"}},
    )
)
async def create_export(request: Request) -> JSONResponse:
    caller = await principal(request)
    require_exporter(caller)  # before the body, as before: the anonymous get 401 whatever they send
    body = await read_json_object(request)
    job = await run_in_threadpool(services(request).exports.create, caller, body)
    return JSONResponse(job, status_code=202)


async def list_exports(request: Request) -> JSONResponse:
    caller = await principal(request)
    return JSONResponse({"exports": await run_in_threadpool(services(request).exports.for_caller, caller)})


async def get_export(request: Request) -> JSONResponse:
    caller = await principal(request)
    return JSONResponse(
        await run_in_threadpool(services(request).exports.get, caller, request.path_params["export_id"])
    )


async def delete_export(request: Request) -> JSONResponse:
    caller = await principal(request)
    await run_in_threadpool(services(request).exports.delete, caller, request.path_params["export_id"])
    return JSONResponse({})


async def export_data(request: Request) -> Response:
    caller = await principal(request)
    path, name = await run_in_threadpool(services(request).exports.artifact, caller, request.path_params["export_id"])
    media_type = next((t for suffix, t in ARTIFACT_TYPES.items() if name.endswith(suffix)), "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers={"Content-Disposition": content_disposition(name)})


routes = [
    Route("/api/exports", create_export, methods=["POST"]),
    Route("/api/exports", list_exports, methods=["GET"]),
    Route("/api/exports/{export_id}", get_export, methods=["GET"]),
    Route("/api/exports/{export_id}", delete_export, methods=["DELETE"]),
    Route("/api/exports/{export_id}/data", export_data, methods=["GET"]),
]
