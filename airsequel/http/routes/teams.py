"""Teams: create, read, rename, delete; members and their roles; a team's tokens."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.auth.access import PrincipalKind, TeamAction, authorize_team, require_user
from airsequel.core.auth.teams import NAME, Team, billing_json
from airsequel.core.errors import InvalidInput, NotFound
from airsequel.http.bodies import STRING, documents_body, matching, obj, read_json_object, string_field
from airsequel.http.context import principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse


async def authorized_team(request: Request, action: TeamAction) -> Team:
    name = request.path_params["team_name"]
    authorize_team(await principal(request), action, name)
    return await run_in_threadpool(services(request).teams.get, name)


async def team_json(request: Request, team: Team) -> dict[str, Any]:
    databases = await run_in_threadpool(services(request).teams.databases_json, team)
    return {"billing": billing_json(team), "created_utc": team.created_utc, "databases": databases, "name": team.name}


# Team names and usernames share one rule (core/teams.NAME).
NAME_SCHEMA = matching(NAME)


@documents_body(obj(["name"], name=NAME_SCHEMA))
async def create_team(request: Request) -> JSONResponse:
    caller = await principal(request)
    require_user(caller)
    body = await read_json_object(request)
    assert caller.user_id is not None
    team = await run_in_threadpool(
        services(request).teams.create, string_field(body, "name", required=True), admin_user_id=caller.user_id
    )
    return JSONResponse(await team_json(request, team), status_code=201)


async def get_team(request: Request) -> JSONResponse:
    team = await authorized_team(request, TeamAction.VIEW)
    return JSONResponse(await team_json(request, team))


@documents_body(
    obj(
        name=NAME_SCHEMA,
        billing_email_address=STRING,
        billing_plan=STRING,
        billing_subscription_id={"type": "integer", "nullable": True},
    )
)
async def patch_team(request: Request) -> JSONResponse:
    team = await authorized_team(request, TeamAction.ADMINISTER)
    body = await read_json_object(request)
    billing: dict[str, Any] = {}
    for field, column in (("billing_email_address", "billing_email"), ("billing_plan", "billing_plan")):
        if field in body:
            billing[column] = string_field(body, field)
    if "billing_subscription_id" in body:
        value = body["billing_subscription_id"]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise InvalidInput("billing_subscription_id must be an integer or null")
        billing["billing_subscription_id"] = value
    updated = await run_in_threadpool(
        services(request).teams.update, team, name=string_field(body, "name"), billing=billing
    )
    return JSONResponse(await team_json(request, updated))


async def delete_team(request: Request) -> JSONResponse:
    team = await authorized_team(request, TeamAction.ADMINISTER)
    await run_in_threadpool(services(request).teams.delete, team)
    return JSONResponse({})


async def list_members(request: Request) -> JSONResponse:
    team = await authorized_team(request, TeamAction.VIEW)
    return JSONResponse({"members": await run_in_threadpool(services(request).teams.members, team)})


async def _member_id(request: Request) -> int:
    username = request.path_params["username"]
    user = await run_in_threadpool(services(request).accounts.user_by_name, username)
    if user is None:
        raise NotFound(f"User {username!r} does not exist")
    return user.id


@documents_body(obj(["roles"], roles={"type": "array", "items": STRING}))
async def set_member_roles(request: Request) -> JSONResponse:
    team = await authorized_team(request, TeamAction.ADMINISTER)
    body = await read_json_object(request)
    user_id = await _member_id(request)
    await run_in_threadpool(services(request).teams.set_roles, team, user_id, body.get("roles"))
    return JSONResponse({})


async def remove_member(request: Request) -> JSONResponse:
    caller = await principal(request)
    leaving_self = (
        caller.kind == PrincipalKind.USER and (caller.username or "").lower() == request.path_params["username"].lower()
    )
    team = await authorized_team(request, TeamAction.VIEW if leaving_self else TeamAction.ADMINISTER)
    user_id = await _member_id(request)
    await run_in_threadpool(services(request).teams.remove_member, team, user_id)
    return JSONResponse({})


async def list_tokens(request: Request) -> JSONResponse:
    team = await authorized_team(request, TeamAction.ADMINISTER)
    return JSONResponse({"tokens": await run_in_threadpool(services(request).tokens.list_for_team, team)})


routes = [
    Route("/api/teams", create_team, methods=["POST"]),
    Route("/api/teams/{team_name}", get_team, methods=["GET"]),
    Route("/api/teams/{team_name}", patch_team, methods=["PATCH"]),
    Route("/api/teams/{team_name}", delete_team, methods=["DELETE"]),
    Route("/api/teams/{team_name}/members", list_members, methods=["GET"]),
    Route("/api/teams/{team_name}/members/{username}", set_member_roles, methods=["PATCH"]),
    Route("/api/teams/{team_name}/members/{username}", remove_member, methods=["DELETE"]),
    Route("/api/teams/{team_name}/tokens", list_tokens, methods=["GET"]),
]
