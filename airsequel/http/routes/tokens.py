"""API tokens: POST /api/tokens, GET/PATCH/DELETE /api/tokens/:tokenId."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from airsequel.http.bodies import (
    STRING,
    TEXT_OR_NULL,
    documents_body,
    obj,
    read_json_object,
    string_field,
    text_value_field,
)
from airsequel.http.context import principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse

PERMISSIONS = {
    "type": "array",
    "items": obj(["db_id", "name"], db_id=STRING, name={"enum": ["read", "write", "insert"]}),
}


@documents_body(
    obj(
        ["name", "team_name"],
        name=STRING,
        description=STRING,
        team_name=STRING,
        expiration_utc=STRING,
        permissions=PERMISSIONS,
    )
)
async def create_token(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    caller = await principal(request)
    team_name = string_field(body, "team_name", required=True)
    name = string_field(body, "name", required=True)
    description = string_field(body, "description")
    expiration_utc = string_field(body, "expiration_utc")
    token = await run_in_threadpool(
        lambda: services(request).tokens.create(
            caller,
            team_name,
            name=name,
            description=description,
            expiration_utc=expiration_utc,
            permissions=body.get("permissions", []),
        )
    )
    return JSONResponse(token, status_code=201)


async def get_token(request: Request) -> JSONResponse:
    caller = await principal(request)
    return JSONResponse(await run_in_threadpool(services(request).tokens.show, caller, request.path_params["token_id"]))


@documents_body(
    obj(name=STRING, description=TEXT_OR_NULL, team_name=STRING, expiration_utc=TEXT_OR_NULL, permissions=PERMISSIONS)
)
async def patch_token(request: Request) -> JSONResponse:
    caller = await principal(request)
    tokens = services(request).tokens
    await run_in_threadpool(tokens.authorized_id, caller, request.path_params["token_id"])  # before the body
    body = await read_json_object(request)
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = body["name"]
    for field in ("description", "expiration_utc"):
        present, value = text_value_field(body, field)
        if present:
            changes[field] = value
    if "permissions" in body:
        changes["permissions"] = body["permissions"]
    team_name = str(body["team_name"]) if "team_name" in body else None
    token = await run_in_threadpool(
        lambda: services(request).tokens.change(caller, request.path_params["token_id"], changes, team_name=team_name)
    )
    return JSONResponse(token)


async def delete_token(request: Request) -> JSONResponse:
    caller = await principal(request)
    await run_in_threadpool(services(request).tokens.revoke, caller, request.path_params["token_id"])
    return JSONResponse({})


routes = [
    Route("/api/tokens", create_token, methods=["POST"]),
    Route("/api/tokens/{token_id}", get_token, methods=["GET"]),
    Route("/api/tokens/{token_id}", patch_token, methods=["PATCH"]),
    Route("/api/tokens/{token_id}", delete_token, methods=["DELETE"]),
]
