"""Settings: server (/api/settings, server admins) and per database (/api/dbs/:dbId/settings),
environment variables of both, and the audit log."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.admin.env_vars import MAX_VALUE, NAME, SERVER
from airsequel.core.auth.access import Action, PrincipalKind, may
from airsequel.core.errors import Forbidden, InvalidInput, NotAuthenticated
from airsequel.core.integer_text import parse_count
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.http.bodies import (
    BOOLEAN,
    STRING,
    bool_field,
    documents_body,
    matching,
    obj,
    read_json_object,
    text_value_field,
)
from airsequel.http.context import authorized_database, principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse


async def require_server_admin(request: Request) -> None:
    caller = await principal(request)
    if caller.kind == PrincipalKind.ANONYMOUS:
        raise NotAuthenticated("Log in as a server admin")
    if not (caller.kind == PrincipalKind.USER and caller.server_admin):
        raise Forbidden("Only server admins manage server settings")


# --- server ---------------------------------------------------------------------------------------


async def get_server_settings(request: Request) -> JSONResponse:
    await require_server_admin(request)
    service = services(request)
    env = await run_in_threadpool(service.env_vars.in_scope, SERVER, with_values=True)
    return JSONResponse({**service.server_settings.as_json(), "envVars": env})


@documents_body(obj(allowedHosts={"type": "array", "items": STRING}, signup={"enum": ["open", "closed"]}))
async def patch_server_settings(request: Request) -> JSONResponse:
    await require_server_admin(request)
    body = await read_json_object(request)
    service = services(request)
    if "envVars" in body:
        await run_in_threadpool(service.env_vars.replace_all, SERVER, body["envVars"])
    await run_in_threadpool(service.server_settings.update, body)
    return JSONResponse({})


async def list_server_env(request: Request) -> JSONResponse:
    await require_server_admin(request)
    return JSONResponse(
        {"envVars": await run_in_threadpool(services(request).env_vars.in_scope, SERVER, with_values=True)}
    )


# A variable as env_vars checks it: the body of a POST (both fields) or a PATCH (either).
ENV_FIELDS = {"name": matching(NAME), "value": {"type": "string", "maxLength": MAX_VALUE}}


@documents_body(obj(["name", "value"], **ENV_FIELDS))
async def create_server_env(request: Request) -> JSONResponse:
    await require_server_admin(request)
    body = await read_json_object(request)
    created = await run_in_threadpool(services(request).env_vars.create, SERVER, body.get("name"), body.get("value"))
    return JSONResponse(created, status_code=201)


@documents_body(obj(**ENV_FIELDS))
async def patch_server_env(request: Request) -> JSONResponse:
    await require_server_admin(request)
    body = await read_json_object(request)
    await run_in_threadpool(services(request).env_vars.update, SERVER, request.path_params["name"], body)
    return JSONResponse({})


async def delete_server_env(request: Request) -> JSONResponse:
    await require_server_admin(request)
    await run_in_threadpool(services(request).env_vars.delete, SERVER, request.path_params["name"])
    return JSONResponse({})


# --- per database ---------------------------------------------------------------------------------


async def settings_json(request: Request, record: DatabaseRecord) -> dict[str, Any]:
    admin = may(await principal(request), Action.MANAGE, record)
    env = await run_in_threadpool(services(request).env_vars.in_scope, record.file_key, with_values=admin)
    return {
        "auditing": record.auditing,
        "environment": record.environment,
        "envVars": env,
        "schemaLocked": record.schema_locked,
        "viewsTab": record.views_tab,
        "visibility": record.visibility,
    }


async def get_database_settings(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    return JSONResponse(await settings_json(request, record))


@documents_body(
    obj(
        visibility={"enum": ["public", "private"]},
        schemaLocked=BOOLEAN,
        viewsTab=BOOLEAN,
        auditing=BOOLEAN,
        environment=STRING,
    )
)
async def patch_database_settings(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.MANAGE)
    body = await read_json_object(request)
    changes: dict[str, Any] = {}
    if "visibility" in body:
        if body["visibility"] not in ("public", "private"):
            raise InvalidInput("visibility must be 'public' or 'private'")
        changes["visibility"] = body["visibility"]
    for field, column in (("schemaLocked", "schema_locked"), ("viewsTab", "views_tab"), ("auditing", "auditing")):
        value = bool_field(body, field)
        if value is not None:
            changes[column] = int(value)
    present, environment = text_value_field(body, "environment")
    if present:
        changes["environment"] = environment
    service = services(request)
    if "envVars" in body:
        await run_in_threadpool(service.env_vars.replace_all, record.file_key, body["envVars"])
    await run_in_threadpool(service.control.update_database, record.file_key, **changes)
    return JSONResponse({})


async def list_database_env(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    return JSONResponse({"envVars": (await settings_json(request, record))["envVars"]})


@documents_body(obj(["name", "value"], **ENV_FIELDS))
async def create_database_env(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.MANAGE)
    body = await read_json_object(request)
    created = await run_in_threadpool(
        services(request).env_vars.create, record.file_key, body.get("name"), body.get("value")
    )
    return JSONResponse(created, status_code=201)


@documents_body(obj(**ENV_FIELDS))
async def patch_database_env(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.MANAGE)
    body = await read_json_object(request)
    await run_in_threadpool(services(request).env_vars.update, record.file_key, request.path_params["name"], body)
    return JSONResponse({})


async def delete_database_env(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.MANAGE)
    await run_in_threadpool(services(request).env_vars.delete, record.file_key, request.path_params["name"])
    return JSONResponse({})


async def audit_log(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.MANAGE)
    raw = request.query_params.get("before")
    before = parse_count(raw)
    if raw is not None and before is None:
        raise InvalidInput("before must be an entry id")
    return JSONResponse(await run_in_threadpool(services(request).audit.page, record, before))


routes = [
    Route("/api/settings", get_server_settings, methods=["GET"]),
    Route("/api/settings", patch_server_settings, methods=["PATCH"]),
    Route("/api/settings/env", list_server_env, methods=["GET"]),
    Route("/api/settings/env", create_server_env, methods=["POST"]),
    Route("/api/settings/env/{name}", patch_server_env, methods=["PATCH"]),
    Route("/api/settings/env/{name}", delete_server_env, methods=["DELETE"]),
    Route("/api/dbs/{db_id}/settings", get_database_settings, methods=["GET"]),
    Route("/api/dbs/{db_id}/settings", patch_database_settings, methods=["PATCH"]),
    Route("/api/dbs/{db_id}/env", list_database_env, methods=["GET"]),
    Route("/api/dbs/{db_id}/env", create_database_env, methods=["POST"]),
    Route("/api/dbs/{db_id}/env/{name}", patch_database_env, methods=["PATCH"]),
    Route("/api/dbs/{db_id}/env/{name}", delete_database_env, methods=["DELETE"]),
    Route("/api/dbs/{db_id}/audit", audit_log, methods=["GET"]),
]
