"""Export jobs: POST/GET /api/exports, GET/DELETE /api/exports/:id, GET /api/exports/:id/data, and Medable's
/:org/v2/exports (the org being a database id) with GET/POST/DELETE and the export's dataFile."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from airsequel.core.exports.jobs import artifact_media_type, require_exporter
from airsequel.core.formats.writers import MEDIA_TYPES
from airsequel.http.bodies import BOOLEAN, STRING, documents_body, obj, read_json_object
from airsequel.http.context import principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.files import content_disposition

MEDABLE_FIELDS: dict[str, Any] = {
    "label": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": STRING,
    "format": {"enum": list(MEDIA_TYPES)},
    "objects": STRING,
    "paths": {"type": "array", "items": STRING},
    "include": {"type": "array", "items": STRING},
    "where": {"oneOf": [STRING, {"type": "object"}]},
    "exportFiles": BOOLEAN,
    "zipFiles": BOOLEAN,
    # Medable's, refused with the reason (nothing here does what they say): named so that the refusal says why
    "expand": {"type": "array", "items": STRING},
    "afterScript": STRING,
    "principal": STRING,
    "prefix": STRING,
}
EXPORT_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "databases": {"type": "array", "items": STRING, "minItems": 1},
    "media_type": {"enum": list(MEDIA_TYPES)},
    "tables": {"type": "array", "items": STRING},
    "include_assets": BOOLEAN,
    "filters": {"type": "object", "additionalProperties": {"oneOf": [{"type": "object"}, STRING]}},
}


@documents_body(obj(["databases"], **EXPORT_FIELDS, **MEDABLE_FIELDS))
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
    return FileResponse(
        path, media_type=artifact_media_type(name), headers={"Content-Disposition": content_disposition(name)}
    )


# --- Medable: https://<host>/<org>/v2/exports, the org being one database ------------------------


def medable_export(request: Request, job: dict[str, Any]) -> dict[str, Any]:
    """The job with Medable's dataFile pointing at /:org/v2/exports/:id/dataFile, as an absolute URL."""
    if job["dataFile"] is not None:
        path = f"/{request.path_params['org']}/v2/exports/{job['id']}/dataFile"
        job["dataFile"] = {**job["dataFile"], "path": path, "url": str(request.base_url).rstrip("/") + path}
    return job


@documents_body(obj(["label"], **MEDABLE_FIELDS))
async def create_medable_export(request: Request) -> JSONResponse:
    caller = await principal(request)
    require_exporter(caller)
    body = await read_json_object(request)
    exports = services(request).exports
    created = await run_in_threadpool(exports.create, caller, body, database=request.path_params["org"], archive=True)
    job = await run_in_threadpool(exports.get, caller, created["id"])
    return JSONResponse(medable_export(request, job), status_code=201)


async def list_medable_exports(request: Request) -> JSONResponse:
    caller = await principal(request)
    jobs = await run_in_threadpool(services(request).exports.for_caller, caller, database=request.path_params["org"])
    return JSONResponse({"object": "list", "data": [medable_export(request, j) for j in jobs], "hasMore": False})


async def get_medable_export(request: Request) -> JSONResponse:
    caller = await principal(request)
    job = await run_in_threadpool(
        services(request).exports.get, caller, request.path_params["export_id"], database=request.path_params["org"]
    )
    return JSONResponse(medable_export(request, job))


async def delete_medable_export(request: Request) -> JSONResponse:
    caller = await principal(request)
    await run_in_threadpool(
        services(request).exports.delete, caller, request.path_params["export_id"], database=request.path_params["org"]
    )
    return JSONResponse({"object": "result", "data": True})


async def medable_export_data_file(request: Request) -> Response:
    caller = await principal(request)
    path, name = await run_in_threadpool(
        services(request).exports.artifact,
        caller,
        request.path_params["export_id"],
        database=request.path_params["org"],
    )
    return FileResponse(
        path, media_type=artifact_media_type(name), headers={"Content-Disposition": content_disposition(name)}
    )


routes = [
    Route("/api/exports", create_export, methods=["POST"]),
    Route("/api/exports", list_exports, methods=["GET"]),
    Route("/api/exports/{export_id}", get_export, methods=["GET"]),
    Route("/api/exports/{export_id}", delete_export, methods=["DELETE"]),
    Route("/api/exports/{export_id}/data", export_data, methods=["GET"]),
    Route("/{org}/v2/exports", create_medable_export, methods=["POST"]),
    Route("/{org}/v2/exports", list_medable_exports, methods=["GET"]),
    Route("/{org}/v2/exports/{export_id}", get_medable_export, methods=["GET"]),
    Route("/{org}/v2/exports/{export_id}", delete_medable_export, methods=["DELETE"]),
    Route("/{org}/v2/exports/{export_id}/dataFile", medable_export_data_file, methods=["GET"]),
]
