"""Settings: server (/api/settings, server admins) and per database (/api/dbs/:dbId/settings),
environment variables of both, and the audit log."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from airsequel.config import SETTING_TYPES, SETTINGS
from airsequel.core.admin.env_vars import MAX_VALUE, NAME
from airsequel.core.admin.server_settings import RequestHost, require_server_admin
from airsequel.core.auth.access import Action
from airsequel.core.errors import InvalidInput
from airsequel.core.integer_text import parse_count
from airsequel.http.bodies import (
    BOOLEAN,
    STRING,
    TEXT_OR_NULL,
    bool_field,
    documents_body,
    matching,
    obj,
    read_json_object,
    text_value_field,
)
from airsequel.http.context import authorized_database, principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse

# --- server ---------------------------------------------------------------------------------------


async def get_server_settings(request: Request) -> JSONResponse:
    view = services(request).server_settings.view
    return JSONResponse(await run_in_threadpool(view, await principal(request)))


# A variable as env_vars checks it: the body of a POST (both fields) or a PATCH (either).
ENV_FIELDS = {"name": matching(NAME), "value": {"type": "string", "maxLength": MAX_VALUE}}


def run_time_setting_schemas() -> dict[str, dict[str, Any]]:
    """The body of PATCH /api/settings as the settings table describes it: one property per
    setting with an API name, with its type, bounds and choices."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, spec in SETTINGS.items():
        if not spec.api_name:
            continue
        kind = SETTING_TYPES[name]
        schema: dict[str, Any]
        if spec.choices:
            schema = {"enum": list(spec.choices)}
        elif kind is int:
            schema = {"type": "integer"}
        elif kind is float:
            schema = {"type": "number"}
        elif kind in (str, str | None):
            schema = {"type": "string"} if kind is str else {"type": "string", "nullable": True}
        else:
            schema = {"type": "array", "items": STRING}
        if spec.minimum is not None:
            schema["minimum"] = spec.minimum
        if spec.maximum is not None:
            schema["maximum"] = spec.maximum
        schemas[spec.api_name] = {**schema, "description": spec.help}
    return schemas


# The variables of a scope, all at once (they become exactly these).
ENV_LIST = {"type": "array", "items": obj(["name", "value"], **ENV_FIELDS)}


@documents_body(obj(**run_time_setting_schemas(), envVars=ENV_LIST))
async def patch_server_settings(request: Request) -> JSONResponse:
    caller = await principal(request)
    require_server_admin(caller)  # before the body, as before
    body = await read_json_object(request)
    server = request.scope.get("server")
    via = RequestHost(request.headers.get("host", ""), server[0] if server else None)
    await run_in_threadpool(lambda: services(request).server_settings.update(caller, body, via=via))
    return JSONResponse({})


async def list_server_env(request: Request) -> JSONResponse:
    variables = services(request).server_settings.variables
    return JSONResponse({"envVars": await run_in_threadpool(variables, await principal(request))})


@documents_body(obj(["name", "value"], **ENV_FIELDS))
async def create_server_env(request: Request) -> JSONResponse:
    caller = await principal(request)
    require_server_admin(caller)  # before the body, as before
    body = await read_json_object(request)
    create = services(request).server_settings.create_variable
    return JSONResponse(await run_in_threadpool(create, caller, body.get("name"), body.get("value")), status_code=201)


@documents_body(obj(**ENV_FIELDS))
async def patch_server_env(request: Request) -> JSONResponse:
    caller = await principal(request)
    require_server_admin(caller)  # before the body, as before
    body = await read_json_object(request)
    update = services(request).server_settings.update_variable
    await run_in_threadpool(update, caller, request.path_params["name"], body)
    return JSONResponse({})


async def delete_server_env(request: Request) -> JSONResponse:
    delete = services(request).server_settings.delete_variable
    await run_in_threadpool(delete, await principal(request), request.path_params["name"])
    return JSONResponse({})


# --- per database ---------------------------------------------------------------------------------


async def get_database_settings(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    view = services(request).database_settings.view
    return JSONResponse(await run_in_threadpool(view, record, await principal(request)))


@documents_body(
    obj(
        visibility={"enum": ["public", "private"]},
        schemaLocked=BOOLEAN,
        viewsTab=BOOLEAN,
        auditing=BOOLEAN,
        durability={"enum": ["local", "replicated"]},
        environment=TEXT_OR_NULL,
        envVars=ENV_LIST,
    )
)
async def patch_database_settings(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.MANAGE)
    body = await read_json_object(request)
    changes: dict[str, Any] = {key: body[key] for key in ("visibility", "durability", "envVars") if key in body}
    for field in ("schemaLocked", "viewsTab", "auditing"):
        value = bool_field(body, field)
        if value is not None:
            changes[field] = value
    present, environment = text_value_field(body, "environment")
    if present:
        changes["environment"] = environment
    await run_in_threadpool(services(request).database_settings.update, record, changes)
    return JSONResponse({})


async def list_database_env(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    variables = services(request).database_settings.variables
    return JSONResponse({"envVars": await run_in_threadpool(variables, record, await principal(request))})


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
