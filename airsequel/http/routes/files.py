"""Whole-file routes: upload (POST /dbs), replace (PUT /dbs/:dbId), download, duplicate, new ids."""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.http.context import (
    authorized_database,
    authorized_readonly_database,
    principal,
    run_in_threadpool,
    services,
)
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.databases import ownership_json, team_for_new_database
from airsequel.http.uploads import receive_upload


async def upload_database(request: Request) -> JSONResponse:
    team, username = await team_for_new_database(request, request.query_params.get("team"))
    hosting = services(request).hosting
    upload = await receive_upload(request, hosting.temp_path(), max_bytes=services(request).settings.max_upload_bytes)
    if upload.fields.get("team") and upload.fields["team"] != team:
        try:
            team, username = await team_for_new_database(request, upload.fields["team"])
        except BaseException:
            upload.path.unlink(missing_ok=True)
            raise
    record = await run_in_threadpool(
        hosting.create_from_upload,
        upload.path,
        filename=upload.filename,
        name=upload.fields.get("name"),
        owner=team,
        created_by=username,
    )
    return JSONResponse(ownership_json(record), status_code=201)


async def replace_database(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    hosting = services(request).hosting
    upload = await receive_upload(request, hosting.temp_path(), max_bytes=services(request).settings.max_upload_bytes)
    caller = await principal(request)
    updated = await run_in_threadpool(
        lambda: hosting.replace_content(record, upload.path, filename=upload.filename, actor=caller)
    )
    return JSONResponse(ownership_json(updated))


async def download_database(request: Request) -> Response:
    record = await authorized_database(request, Action.READ)
    snapshot = await run_in_threadpool(services(request).hosting.snapshot, record)
    return FileResponse(
        snapshot,
        media_type="application/vnd.sqlite3",
        headers={"Content-Disposition": content_disposition(download_name(record))},
        background=BackgroundTask(snapshot.unlink, missing_ok=True),
    )


async def duplicate_database(request: Request) -> Response:
    if "readonly_id" in request.path_params:
        record = await authorized_readonly_database(request)
    else:
        record = await authorized_database(request, Action.READ)
    team, username = await team_for_new_database(request, request.query_params.get("team"))
    copy = await run_in_threadpool(services(request).hosting.duplicate, record, owner=team, created_by=username)
    return _json_or_redirect(request, {"id": copy.id}, copy.id)


async def regenerate_database_id(request: Request) -> Response:
    record = await authorized_database(request, Action.MANAGE)
    new_id = await run_in_threadpool(services(request).hosting.regenerate_id, record)
    return _json_or_redirect(request, {"id": new_id}, new_id)


async def regenerate_readonly_id(request: Request) -> Response:
    record = await authorized_database(request, Action.MANAGE)
    new_id = await run_in_threadpool(services(request).hosting.regenerate_readonly_id, record)
    return _json_or_redirect(request, {"readonlyId": new_id}, record.id)


def _json_or_redirect(request: Request, payload: dict[str, str], database_id: str) -> Response:
    """Scripts (Accept: application/json, or a POST) get JSON; a browser following a link is sent on."""
    accept = request.headers.get("accept", "")
    if request.method == "POST" or "application/json" in accept or "text/html" not in accept:
        return JSONResponse(payload)
    return RedirectResponse(f"/dbs/{database_id}", status_code=303)


def download_name(record: DatabaseRecord) -> str:
    stem = re.sub(r"[^\w.\- ]+", "_", record.name).strip(" .") or "database"
    return f"{stem}.sqlite"


def content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


routes = [
    Route("/dbs", upload_database, methods=["POST"]),
    Route("/dbs/{db_id}", replace_database, methods=["PUT"]),
    Route("/dbs/{db_id}/download", download_database, methods=["GET"]),
    Route("/dbs/{db_id}/duplicate", duplicate_database, methods=["GET", "POST"]),
    Route("/readonly/{readonly_id}/duplicate", duplicate_database, methods=["GET", "POST"]),
    Route("/dbs/{db_id}/regenerate-db-id", regenerate_database_id, methods=["GET", "POST"]),
    Route("/dbs/{db_id}/regenerate-readonly-id", regenerate_readonly_id, methods=["GET", "POST"]),
]
