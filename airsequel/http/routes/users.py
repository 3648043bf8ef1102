"""Users and sessions: sign-up, login, logout, profile, password reset."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.auth.access import PrincipalKind
from airsequel.core.auth.accounts import EMAIL, MAX_PASSWORD, MIN_PASSWORD
from airsequel.core.errors import Forbidden, NotAuthenticated, NotFound
from airsequel.http.bodies import STRING, documents_body, matching, obj, read_json_object, string_field
from airsequel.http.context import (
    SESSION_COOKIE,
    presented_secret,
    principal,
    run_in_threadpool,
    services,
    session_cookie_value,
)
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.teams import NAME_SCHEMA

PASSWORD = {"type": "string", "minLength": MIN_PASSWORD, "maxLength": MAX_PASSWORD}


@documents_body(
    obj(
        ["username", "email_address", "password"],
        username=NAME_SCHEMA,
        email_address=matching(EMAIL),
        password=PASSWORD,
    )
)
async def sign_up(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    caller = await principal(request)
    service = services(request)
    if service.settings.signup == "closed" and not (caller.kind == PrincipalKind.USER and caller.server_admin):
        raise Forbidden("Sign-up is closed on this server: ask a server admin to create your account")
    user = await run_in_threadpool(
        service.accounts.create_user,
        string_field(body, "username", required=True),
        string_field(body, "email_address", required=True),
        string_field(body, "password", required=True),
    )
    return JSONResponse({"username": user.username}, status_code=201)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@documents_body(obj(["username", "password"], username=STRING, password=STRING))
async def login(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    username = string_field(body, "username", required=True)
    password = string_field(body, "password", required=True)
    service = services(request)
    keys = (f"user:{username.lower()}", f"address:{client_address(request)}")
    service.login_throttle.check(*keys)
    try:
        user, token = await run_in_threadpool(service.accounts.login, username, password)
    except NotAuthenticated:
        service.login_throttle.failed(*keys)
        raise
    service.login_throttle.succeeded(keys[0])
    teams = await run_in_threadpool(service.teams.teams_of_user, user.id)
    response = JSONResponse({"sessionToken": token, "teams": teams, "username": user.username})
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie_value(request, token),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=30 * 24 * 3600,
        path="/",
    )
    return response


async def logout(request: Request) -> JSONResponse:
    secret, _ = presented_secret(request)
    caller = await principal(request)
    if secret and caller.kind == PrincipalKind.USER:
        await run_in_threadpool(services(request).accounts.logout, secret)
    response = JSONResponse({})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def get_user(request: Request) -> JSONResponse:
    caller = await principal(request)
    if caller.kind == PrincipalKind.ANONYMOUS:
        raise NotAuthenticated("Log in to see a user")
    username = request.path_params["username"]
    allowed = caller.kind == PrincipalKind.USER and (
        caller.server_admin or (caller.username or "").lower() == username.lower()
    )
    user = await run_in_threadpool(services(request).accounts.user_by_name, username) if allowed else None
    if user is None:
        raise NotFound(f"User {username!r} does not exist")
    teams = await run_in_threadpool(services(request).teams.teams_of_user, user.id)
    return JSONResponse(
        {"serverRoles": ["admin"] if user.server_admin else [], "teams": teams, "username": user.username}
    )


@documents_body(obj(["email"], email=STRING))
async def request_password_reset(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    email = string_field(body, "email", required=True)
    throttle = services(request).login_throttle
    key = f"reset:{client_address(request)}"
    throttle.check(key)
    throttle.failed(key)  # every request counts: this bounds how many reset mails one address can cause
    await run_in_threadpool(services(request).accounts.request_password_reset, email)
    return JSONResponse({})


@documents_body(obj(["resetKey", "password"], resetKey=STRING, password=PASSWORD))
async def submit_password_reset(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    await run_in_threadpool(
        services(request).accounts.reset_password,
        string_field(body, "resetKey", required=True),
        string_field(body, "password", required=True),
    )
    return JSONResponse({})


routes = [
    Route("/api/users", sign_up, methods=["POST"]),
    Route("/api/login", login, methods=["POST"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/users/reset-password", request_password_reset, methods=["POST"]),
    Route("/api/users/reset-password/submit", submit_password_reset, methods=["POST"]),
    Route("/api/users/{username}", get_user, methods=["GET"]),
]
