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
    refuse_cross_site,
    run_in_threadpool,
    services,
)
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.databases import ownership_json
from airsequel.http.uploads import database_file, receive_upload


async def upload_database(request: Request) -> JSONResponse:
    caller = await principal(request)
    catalog = services(request).catalog
    # Refuse a caller who may not create a database there (no right, over a quota, no room on the
    # disk) before reading a gigabyte of body.
    declared = request.headers.get("content-length", "")
    await run_in_threadpool(
        catalog.check_may_upload,
        caller,
        request.query_params.get("team"),
        int(declared) if declared.isdigit() else None,
    )
    settings = services(request).settings
    upload = database_file(
        await receive_upload(request, services(request).hosting.temp_path(), max_bytes=settings.max_upload_bytes)
    )
    team = upload.fields.get("team") or request.query_params.get("team")
    record = await run_in_threadpool(
        lambda: catalog.create_from_upload(
            caller, team, upload.path, filename=upload.filename, name=upload.fields.get("name")
        )
    )
    return JSONResponse(ownership_json(record), status_code=201)


async def replace_database(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    hosting = services(request).hosting
    declared = request.headers.get("content-length", "")
    await run_in_threadpool(
        hosting.disk.check_room, int(declared) if declared.isdigit() else 0, what="The upload"
    )  # before the body
    upload = database_file(
        await receive_upload(request, hosting.temp_path(), max_bytes=services(request).settings.max_upload_bytes)
    )
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
    refuse_cross_site(request)
    if "readonly_id" in request.path_params:
        record = await authorized_readonly_database(request)
    else:
        record = await authorized_database(request, Action.READ)
    caller = await principal(request)
    duplicate = services(request).catalog.duplicate
    copy = await run_in_threadpool(duplicate, record, caller, request.query_params.get("team"))
    return _json_or_redirect(request, {"id": copy.id}, copy.id)


async def regenerate_database_id(request: Request) -> Response:
    refuse_cross_site(request)
    record = await authorized_database(request, Action.MANAGE)
    new_id = await run_in_threadpool(services(request).hosting.regenerate_id, record)
    return _json_or_redirect(request, {"id": new_id}, new_id)


async def regenerate_readonly_id(request: Request) -> Response:
    refuse_cross_site(request)
    record = await authorized_database(request, Action.MANAGE)
    new_id = await run_in_threadpool(services(request).hosting.regenerate_readonly_id, record)
    return _json_or_redirect(request, {"readonlyId": new_id}, record.id)


def _json_or_redirect(request: Request, payload: dict[str, str], database_id: str) -> Response:
    """Scripts (Accept: application/json, or no text/html) get JSON; a browser's form is sent on."""
    accept = request.headers.get("accept", "")
    if "application/json" in accept or "text/html" not in accept:
        return JSONResponse(payload)
    return RedirectResponse(f"/dbs/{database_id}", status_code=303)


def download_name(record: DatabaseRecord) -> str:
    stem = re.sub(r"[^\w.\- ]+", "_", record.name).strip(" .") or "database"
    return f"{stem}.sqlite"


def content_disposition(filename: str) -> str:
    ascii_name = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename)  # no CR/LF or quotes in the header
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


routes = [
    Route("/dbs", upload_database, methods=["POST"]),
    Route("/dbs/{db_id}", replace_database, methods=["PUT"]),
    Route("/dbs/{db_id}/download", download_database, methods=["GET"]),
    # POST only: a GET never changes anything (web.py shows a confirmation page there, whose form posts here).
    Route("/dbs/{db_id}/duplicate", duplicate_database, methods=["POST"]),
    Route("/readonly/{readonly_id}/duplicate", duplicate_database, methods=["POST"]),
    Route("/dbs/{db_id}/regenerate-db-id", regenerate_database_id, methods=["POST"]),
    Route("/dbs/{db_id}/regenerate-readonly-id", regenerate_readonly_id, methods=["POST"]),
]
