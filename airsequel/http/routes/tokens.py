"""API tokens: POST /api/tokens, GET/PATCH/DELETE /api/tokens/:tokenId."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.auth.access import TeamAction, authorize_team
from airsequel.core.errors import InvalidInput, NotFound
from airsequel.core.integer_text import parse_count
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
    authorize_team(caller, TeamAction.ADMINISTER, team_name)
    team = await run_in_threadpool(services(request).teams.get, team_name)
    assert caller.user_id is not None
    token = await run_in_threadpool(
        services(request).tokens.create,
        team,
        name=string_field(body, "name", required=True),
        description=string_field(body, "description"),
        expiration_utc=string_field(body, "expiration_utc"),
        permissions=body.get("permissions", []),
        created_by=caller.user_id,
    )
    return JSONResponse(token, status_code=201)


async def _authorized_token_id(request: Request) -> int:
    raw = request.path_params["token_id"]
    token_id = parse_count(raw)
    if token_id is None:
        raise NotFound(f"Token {raw!r} does not exist")
    caller = await principal(request)
    team_name = await run_in_threadpool(services(request).tokens.team_of, token_id)
    try:
        authorize_team(caller, TeamAction.ADMINISTER, team_name)
    except NotFound:
        raise NotFound(f"Token {raw!r} does not exist") from None
    return token_id


async def get_token(request: Request) -> JSONResponse:
    token_id = await _authorized_token_id(request)
    return JSONResponse(await run_in_threadpool(services(request).tokens.get, token_id))


@documents_body(
    obj(name=STRING, description=TEXT_OR_NULL, team_name=STRING, expiration_utc=TEXT_OR_NULL, permissions=PERMISSIONS)
)
async def patch_token(request: Request) -> JSONResponse:
    token_id = await _authorized_token_id(request)
    body = await read_json_object(request)
    tokens = services(request).tokens
    current = await run_in_threadpool(tokens.get, token_id)
    if "team_name" in body and str(body["team_name"]).lower() != current["team_name"].lower():
        raise InvalidInput("A token cannot move to another team")
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = body["name"]
    for field in ("description", "expiration_utc"):
        present, value = text_value_field(body, field)
        if present:
            changes[field] = value
    if "permissions" in body:
        changes["permissions"] = body["permissions"]
    team = await run_in_threadpool(services(request).teams.get, current["team_name"])
    return JSONResponse(await run_in_threadpool(tokens.update, token_id, team, changes))


async def delete_token(request: Request) -> JSONResponse:
    token_id = await _authorized_token_id(request)
    await run_in_threadpool(services(request).tokens.revoke, token_id)
    return JSONResponse({})


routes = [
    Route("/api/tokens", create_token, methods=["POST"]),
    Route("/api/tokens/{token_id}", get_token, methods=["GET"]),
    Route("/api/tokens/{token_id}", patch_token, methods=["PATCH"]),
    Route("/api/tokens/{token_id}", delete_token, methods=["DELETE"]),
]
