"""Cloud functions: /api/dbs/:dbId/functions (managed by the team's Editors and Admins) and the HTTP
trigger /fns/:funcId (GET, POST, PUT, PATCH, DELETE), which runs the function in a Deno process
of its own and answers its data."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.errors import CoreError, InvalidInput
from airsequel.core.functions.store import LANGUAGES, RUNTIMES
from airsequel.http.bodies import (
    BOOLEAN,
    STRING,
    TEXT_OR_NULL,
    documents_body,
    obj,
    read_body_bytes,
    read_json_object,
)
from airsequel.http.context import authorized_database, principal, run_in_threadpool, services
from airsequel.http.error_pages import browser_error
from airsequel.http.pages import templates
from airsequel.http.responses import JSONResponse

FUNCTION_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": TEXT_OR_NULL,
    "content": {"type": "string", "minLength": 1, "description": "TypeScript or JavaScript with a default export"},
    "runtime": {"enum": list(RUNTIMES)},
    "language": {
        "enum": list(LANGUAGES),
        "description": "Not in the reference's fields: typescript (default) or javascript",
    },
    "permission": {
        "enum": ["read", "write"],
        "description": "Not in the reference's fields: what the function's calls may do to the database (default read)",
    },
    "public": {**BOOLEAN, "description": "Not in the reference's fields: anyone may call /fns/:funcId (default false)"},
}
# Headers a call's code never sees: the caller's credentials.
HIDDEN_HEADERS = {"authorization", "cookie", "x-csrf-token", "proxy-authorization"}


async def list_functions(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    caller = await principal(request)
    return JSONResponse({"functions": await run_in_threadpool(services(request).functions.of_database, caller, record)})


@documents_body(obj(["name", "content"], **FUNCTION_FIELDS))
async def create_function(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    caller = await principal(request)
    body = await read_json_object(request)
    created = await run_in_threadpool(services(request).functions.create, caller, record, body)
    return JSONResponse(created, status_code=201)


async def get_function(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    caller = await principal(request)
    shown = await run_in_threadpool(services(request).functions.show, caller, record, request.path_params["func_id"])
    return JSONResponse(shown)


@documents_body(obj(**FUNCTION_FIELDS))
async def patch_function(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    caller = await principal(request)
    body = await read_json_object(request)
    changed = await run_in_threadpool(
        services(request).functions.change, caller, record, request.path_params["func_id"], body
    )
    return JSONResponse(changed)


async def delete_function(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    caller = await principal(request)
    await run_in_threadpool(services(request).functions.delete, caller, record, request.path_params["func_id"])
    return JSONResponse({})


async def list_invocations(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    caller = await principal(request)
    invocations = await run_in_threadpool(
        services(request).functions.invocations,
        caller,
        record,
        request.path_params["func_id"],
        request.query_params.get("limit"),
    )
    return JSONResponse({"invocations": invocations})


@documents_body(obj(["version"], runtime={"enum": list(RUNTIMES)}, version=STRING))
async def republish_function(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    caller = await principal(request)
    body = await read_json_object(request)
    republished = await run_in_threadpool(
        services(request).functions.republish, caller, record, request.path_params["func_id"], body
    )
    return JSONResponse(republished)


async def get_version(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    caller = await principal(request)
    version = await run_in_threadpool(
        services(request).functions.version,
        caller,
        record,
        request.path_params["func_id"],
        request.path_params["version_id"],
    )
    return JSONResponse(version)


async def call_function(request: Request) -> JSONResponse:
    """Run the function with the request: its data is the JSON body (or the body as text; on GET and
    DELETE without a body, the query parameters); the answer is the data the function returned."""
    caller = await principal(request)
    data = await _call_data(request)
    headers = {key: value for key, value in request.headers.items() if key.lower() not in HIDDEN_HEADERS}
    result = await run_in_threadpool(
        services(request).function_calls.call,
        caller,
        request.path_params["func_id"],
        method=request.method,
        headers=headers,
        data=data,
    )
    return JSONResponse(result)


async def functions_page(request: Request) -> Response:
    """The web page that lists, edits and runs the database's functions."""
    try:
        record = await authorized_database(request, Action.READ)
        caller = await principal(request)
        data = await run_in_threadpool(services(request).functions.page, caller, record)
    except CoreError as error:
        return await browser_error(request, error)
    return templates.TemplateResponse(request, "pages/functions.html", data)


async def _call_data(request: Request) -> Any:
    body = await read_body_bytes(request, services(request).settings.max_json_body_bytes)
    if not body.strip():
        return dict(request.query_params) if request.method in ("GET", "DELETE") else None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            return body.decode()
        except UnicodeDecodeError:
            raise InvalidInput("The request body is neither JSON nor UTF-8 text") from None


routes = [
    Route("/api/dbs/{db_id}/functions", list_functions, methods=["GET"]),
    Route("/api/dbs/{db_id}/functions", create_function, methods=["POST"]),
    Route("/api/dbs/{db_id}/functions/{func_id}", get_function, methods=["GET"]),
    Route("/api/dbs/{db_id}/functions/{func_id}", patch_function, methods=["PATCH"]),
    Route("/api/dbs/{db_id}/functions/{func_id}", delete_function, methods=["DELETE"]),
    Route("/api/dbs/{db_id}/functions/{func_id}/invocations", list_invocations, methods=["GET"]),
    Route("/api/dbs/{db_id}/functions/{func_id}/republish", republish_function, methods=["POST"]),
    Route("/api/dbs/{db_id}/functions/{func_id}/versions/{version_id}", get_version, methods=["GET"]),
    Route("/dbs/{db_id}/functions", functions_page, methods=["GET"]),
    Route("/fns/{func_id}", call_function, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]
