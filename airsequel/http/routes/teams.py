"""Teams: create, read, rename, delete; members and their roles; a team's tokens."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.auth.access import TeamAction
from airsequel.core.auth.teams import NAME, TEAM_NAME
from airsequel.http.bodies import STRING, documents_body, matching, obj, read_json_object, string_field
from airsequel.http.context import logged_in_user, principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse

# Usernames (core/teams.NAME); team names may also hold single spaces (core/teams.TEAM_NAME).
NAME_SCHEMA = matching(NAME)
TEAM_NAME_SCHEMA = {**matching(TEAM_NAME), "minLength": 2, "maxLength": 40}


@documents_body(obj(["name"], name=TEAM_NAME_SCHEMA))
async def create_team(request: Request) -> JSONResponse:
    caller = await logged_in_user(request)
    body = await read_json_object(request)
    name = string_field(body, "name", required=True)
    team = await run_in_threadpool(services(request).teams.create, caller, name)
    return JSONResponse(team, status_code=201)


async def get_team(request: Request) -> JSONResponse:
    caller = await principal(request)
    team = await run_in_threadpool(services(request).teams.view, caller, request.path_params["team_name"])
    return JSONResponse(team)


@documents_body(
    obj(
        name=TEAM_NAME_SCHEMA,
        billing_email_address=STRING,
        billing_plan=STRING,
        billing_subscription_id={"type": "integer", "nullable": True},
    )
)
async def patch_team(request: Request) -> JSONResponse:
    caller = await principal(request)
    teams = services(request).teams
    await run_in_threadpool(teams.authorized, caller, TeamAction.ADMINISTER, request.path_params["team_name"])
    body = await read_json_object(request)
    billing: dict[str, Any] = {}
    for field, column in (("billing_email_address", "billing_email"), ("billing_plan", "billing_plan")):
        if field in body:
            billing[column] = string_field(body, field)
    if "billing_subscription_id" in body:
        billing["billing_subscription_id"] = body["billing_subscription_id"]  # the core checks it is an integer
    name = string_field(body, "name")
    updated = await run_in_threadpool(
        lambda: services(request).teams.update(caller, request.path_params["team_name"], name=name, billing=billing)
    )
    return JSONResponse(updated)


async def delete_team(request: Request) -> JSONResponse:
    caller = await principal(request)
    await run_in_threadpool(services(request).teams.delete, caller, request.path_params["team_name"])
    return JSONResponse({})


async def list_members(request: Request) -> JSONResponse:
    caller = await principal(request)
    members = await run_in_threadpool(services(request).teams.members, caller, request.path_params["team_name"])
    return JSONResponse({"members": members})


@documents_body(obj(["roles"], roles={"type": "array", "items": STRING}))
async def set_member_roles(request: Request) -> JSONResponse:
    caller = await principal(request)
    body = await read_json_object(request)
    team, username = request.path_params["team_name"], request.path_params["username"]
    await run_in_threadpool(services(request).teams.set_roles, caller, team, username, body.get("roles"))
    return JSONResponse({})


async def remove_member(request: Request) -> JSONResponse:
    caller = await principal(request)
    team, username = request.path_params["team_name"], request.path_params["username"]
    await run_in_threadpool(services(request).teams.remove_member, caller, team, username)
    return JSONResponse({})


async def list_tokens(request: Request) -> JSONResponse:
    caller = await principal(request)
    tokens = await run_in_threadpool(services(request).tokens.of_team, caller, request.path_params["team_name"])
    return JSONResponse({"tokens": tokens})


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
