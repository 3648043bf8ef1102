"""PixieBrix's database APIs: records of a database, and export jobs.

GET /api/organizations/:organizationId/databases/ (the organization being a team), GET
/api/databases/:databaseId/records/, POST /api/databases/records/jobs/, GET /api/databases/records/jobs/:id/
(and its data, /api/databases/records/jobs/:id/data/). A PixieBrix database is one table of a hosted database
(core/content/pixiebrix_records.py); job statuses are Celery's, as PixieBrix reports them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from airsequel.core.exports.jobs import artifact_media_type, require_exporter
from airsequel.core.formats.writers import MEDIA_TYPES, csv_text
from airsequel.http.bodies import STRING, documents_body, obj, read_json_object
from airsequel.http.context import principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.files import content_disposition

CSV_TYPES = ("text/csv", "test/csv")  # the second as PixieBrix's page spells it
STATUSES = {"STARTED": "STARTED", "RUNNING": "STARTED", "SUCCESS": "SUCCESS", "FAILED": "FAILURE"}


async def list_pixiebrix_records(request: Request) -> Response:
    caller = await principal(request)
    page = await run_in_threadpool(
        services(request).records.pixiebrix_page,
        caller,
        request.path_params["database_id"],
        list(request.query_params.multi_items()),
    )
    accept = request.headers.get("accept", "").lower()
    if any(media_type in accept for media_type in CSV_TYPES):
        return Response(csv_text(page.columns, page.rows), media_type="text/csv; charset=utf-8")
    if "version=2" not in accept.replace(" ", ""):
        return JSONResponse(page.records)

    def link(number: int) -> str | None:
        url = request.url
        return str(url.remove_query_params("page") if number == 1 else url.include_query_params(page=number))

    return JSONResponse(
        {
            "count": page.count,
            "next": link(page.page + 1) if page.has_next else None,
            "previous": link(page.page - 1) if page.page > 1 else None,
            "results": page.records,
        }
    )


async def list_organization_databases(request: Request) -> JSONResponse:
    caller = await principal(request)
    return JSONResponse(
        await run_in_threadpool(
            services(request).records.organization_databases, caller, request.path_params["organization_id"]
        )
    )


def pixiebrix_job(request: Request, job: dict[str, Any]) -> dict[str, Any]:
    data = f"{str(request.base_url).rstrip('/')}/api/databases/records/jobs/{job['id']}/data/"
    return {
        "id": job["id"],
        "name": job["name"],
        "status": STATUSES[job["status"]],
        "media_type": job["format"],
        "data": data if job["status"] == "SUCCESS" else None,
        "progress": job["progress"],
        "created_at": job["created_utc"],
        "expires_at": job["expires_utc"],
        "error": job["error"],
    }


@documents_body(
    obj(
        ["name", "databases"],
        name={"type": "string", "minLength": 1, "maxLength": 200},
        databases={"type": "array", "items": STRING, "minItems": 1},
        media_type={"enum": list(MEDIA_TYPES)},
        filters=obj(start_date=STRING, end_date=STRING, date_column=STRING),
    )
)
async def create_pixiebrix_export_job(request: Request) -> JSONResponse:
    caller = await principal(request)
    require_exporter(caller)
    body = await read_json_object(request)
    job = await run_in_threadpool(services(request).exports.create, caller, body)
    return JSONResponse({"id": job["id"], "status": "STARTED"}, status_code=201)


async def get_pixiebrix_export_job(request: Request) -> JSONResponse:
    caller = await principal(request)
    job = await run_in_threadpool(services(request).exports.get, caller, request.path_params["job_id"])
    return JSONResponse(pixiebrix_job(request, job))


async def pixiebrix_export_job_data(request: Request) -> Response:
    caller = await principal(request)
    path, name = await run_in_threadpool(services(request).exports.artifact, caller, request.path_params["job_id"])
    return FileResponse(
        path, media_type=artifact_media_type(name), headers={"Content-Disposition": content_disposition(name)}
    )


routes = [
    Route("/api/databases/records/jobs/", create_pixiebrix_export_job, methods=["POST"]),
    Route("/api/databases/records/jobs/{job_id}/", get_pixiebrix_export_job, methods=["GET"]),
    Route("/api/databases/records/jobs/{job_id}/data/", pixiebrix_export_job_data, methods=["GET"]),
    Route("/api/databases/{database_id}/records/", list_pixiebrix_records, methods=["GET"]),
    Route("/api/organizations/{organization_id}/databases/", list_organization_databases, methods=["GET"]),
]
