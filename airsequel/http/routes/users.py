"""Users and sessions: sign-up, login, logout, profile, password reset, invitations, email verification."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airsequel.core.auth.access import Role
from airsequel.core.auth.accounts import EMAIL, MAX_PASSWORD, MIN_PASSWORD
from airsequel.core.errors import CoreError
from airsequel.http.bodies import STRING, documents_body, matching, obj, read_json_object, string_field
from airsequel.http.context import (
    SESSION_COOKIE,
    presented_secret,
    principal,
    run_in_threadpool,
    services,
    session_cookie_value,
)
from airsequel.http.error_pages import error_page
from airsequel.http.pages import templates
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.teams import NAME_SCHEMA

PASSWORD = {"type": "string", "minLength": MIN_PASSWORD, "maxLength": MAX_PASSWORD}


@documents_body(
    obj(
        ["username", "email_address", "password"],
        username=NAME_SCHEMA,
        email_address=matching(EMAIL),
        password=PASSWORD,
        setupKey=STRING,
        invitationKey=STRING,
    )
)
async def sign_up(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    caller = await principal(request)
    user = await run_in_threadpool(
        services(request).accounts.sign_up,
        caller,
        string_field(body, "username", required=True),
        string_field(body, "email_address", required=True),
        string_field(body, "password", required=True),
        setup_key=string_field(body, "setupKey"),
        invitation_key=string_field(body, "invitationKey"),
    )
    return JSONResponse({"username": user.username}, status_code=201)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@documents_body(obj(["username", "password"], username=STRING, password=STRING))
async def login(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    username = string_field(body, "username", required=True)
    password = string_field(body, "password", required=True)
    login = await run_in_threadpool(
        services(request).accounts.login, username, password, client_address=client_address(request)
    )
    response = JSONResponse(
        {"sessionToken": login.session_token, "teams": login.teams, "username": login.user.username}
    )
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie_value(request, login.session_token),
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
    await run_in_threadpool(services(request).accounts.logout, caller, secret)
    response = JSONResponse({})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def get_user(request: Request) -> JSONResponse:
    caller = await principal(request)
    profile = await run_in_threadpool(services(request).accounts.profile, caller, request.path_params["username"])
    return JSONResponse(profile)


@documents_body(obj(["email"], email=STRING))
async def request_password_reset(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    email = string_field(body, "email", required=True)
    await run_in_threadpool(
        services(request).accounts.request_password_reset, email, client_address=client_address(request)
    )
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


@documents_body(
    obj(
        ["email"],
        email=matching(EMAIL),
        team=STRING,
        role={"type": "string", "enum": [role.value for role in Role]},
    )
)
async def invite(request: Request) -> JSONResponse:
    """Mail a sign-up link: server admins invite to the server, team Admins to their team ("team")."""
    body = await read_json_object(request)
    caller = await principal(request)
    await run_in_threadpool(
        services(request).accounts.invite,
        caller,
        string_field(body, "email", required=True),
        team=string_field(body, "team"),
        role=string_field(body, "role"),
    )
    return JSONResponse({})


async def verify_email(request: Request) -> Response:
    """The link of a verification mail: an HTML page saying the address is verified (or why not)."""
    try:
        username, address = await run_in_threadpool(services(request).accounts.verify_email, request.path_params["key"])
    except CoreError as error:
        return await error_page(request, error.status, str(error))
    context = {"username": username, "address": address}
    return templates.TemplateResponse(request, "pages/email_verified.html", context)


routes = [
    Route("/api/users", sign_up, methods=["POST"]),
    Route("/api/login", login, methods=["POST"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/users/reset-password", request_password_reset, methods=["POST"]),
    Route("/api/users/reset-password/submit", submit_password_reset, methods=["POST"]),
    Route("/api/users/invite", invite, methods=["POST"]),
    Route("/verify-email/{key}", verify_email, methods=["GET"]),
    Route("/api/users/{username}", get_user, methods=["GET"]),
]
