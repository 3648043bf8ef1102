"""The web pages: server-rendered (templates/pages), with static/app.js calling the JSON API.

Each page's data comes from one call to core/content/pages.py, which also decides what the caller
may see and do there; this module only picks the template, the status and the redirects."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.errors import CoreError, Forbidden, NotAuthenticated
from airsequel.http.context import (
    authorized_database,
    authorized_readonly_database,
    from_this_site,
    principal,
    run_in_threadpool,
    services,
)
from airsequel.http.error_pages import browser_error, error_page
from airsequel.http.next_page import next_after_login, requested_next
from airsequel.http.pages import templates
from airsequel.http.routes.users import client_address


async def _navigation(request: Request, **values: Any) -> dict[str, Any]:
    """The data of a page that shows nothing but what the request says, besides the navigation."""
    caller = await principal(request)
    return {**await run_in_threadpool(services(request).pages.navigation, caller), **values}


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, f"pages/{name}.html", context, status_code=status_code)


async def _error_page(request: Request, error: CoreError) -> Response:
    return await browser_error(request, error)


def _ask(request: Request) -> dict[str, bool]:
    """Whether the page offers "Ask in words": when the operator configured a language model."""
    return {"ask_in_words": bool(services(request).settings.llm_model)}


async def login_page(request: Request) -> Response:
    """A logged-in user has nothing to do here: on to `next` (when it is a path of ours) or home."""
    context = await _navigation(request, signup=request.url.path == "/signup")
    if context.get("user"):
        return RedirectResponse(requested_next(request) or "/", status_code=303)
    return _page(request, "login", context)


async def setup_page(request: Request) -> Response:
    """The one-time setup link `airsequel serve` prints while the server has no server admin: a
    sign-up form whose account becomes the server admin (the key is checked when it is posted)."""
    context = await _navigation(request, signup=True, setup_key=request.path_params["key"])
    return _page(request, "login", context)


async def home(request: Request) -> Response:
    caller = await principal(request)
    try:
        data = await run_in_threadpool(services(request).pages.home, caller)
    except (NotAuthenticated, Forbidden):
        return RedirectResponse("/login", status_code=303)
    onward = next_after_login(request)
    if onward is not None and onward != "/":  # just logged in from /login?next=...
        return RedirectResponse(onward, status_code=303)
    return _page(request, "home", data)


async def database_page(request: Request) -> Response:
    try:
        record = await authorized_database(request, Action.READ)
    except CoreError as error:
        return await _error_page(request, error)
    caller = await principal(request)
    data = await run_in_threadpool(services(request).pages.database, caller, record)
    return _page(request, "database", {**data, "base_url": str(request.base_url).rstrip("/"), **_ask(request)})


async def table_page(request: Request) -> Response:
    try:
        record = await authorized_database(request, Action.READ)
        caller = await principal(request)
        data = await run_in_threadpool(services(request).pages.table, caller, record, request.path_params["table"])
    except CoreError as error:
        return await _error_page(request, error)
    return _page(request, "table", data)


async def sql_page(request: Request) -> Response:
    try:
        record = await authorized_database(request, Action.READ)
    except CoreError as error:
        return await _error_page(request, error)
    caller = await principal(request)
    data = await run_in_threadpool(services(request).pages.sql, caller, record)
    return _page(request, "sql", {**data, **_ask(request)})


async def readonly_page(request: Request) -> Response:
    """The read-only view (/readonly/:readonlyId, its tables and its SQL page): for anyone holding the
    link, logged in or not. A link turned off or replaced is a 404, an HTML page to a browser and
    JSON to anyone else (errors.py)."""
    record = await authorized_readonly_database(request)
    viewer = await principal(request)
    table = request.path_params.get("table")
    page = "table" if table is not None else "sql" if request.url.path.endswith("/sql") else "database"
    data = await run_in_threadpool(services(request).pages.readonly, viewer, record, page, table)
    return _page(request, "readonly_database" if page == "database" else page, data)


async def team_page(request: Request) -> Response:
    caller = await principal(request)
    try:
        data = await run_in_threadpool(services(request).pages.team, caller, request.path_params["team_name"])
    except CoreError as error:
        return await _error_page(request, error)
    return _page(request, "team", data)


CONFIRMATIONS = {
    "duplicate": (
        Action.READ,
        "Duplicate {name}",
        "A copy of {name} becomes a new database of yours.",
        "Duplicate",
    ),
    "regenerate-db-id": (
        Action.MANAGE,
        "New id for {name}",
        "{name} gets a new id: the old one stops working, and every link and script that uses it must change.",
        "Give it a new id",
    ),
    "regenerate-readonly-id": (
        Action.MANAGE,
        "New read-only link for {name}",
        "{name} gets a new read-only link: the old one stops working for everyone who has it.",
        "Make a new link",
    ),
}


async def confirmation_page(request: Request) -> Response:
    """GET of a link that used to act at once (duplicate, new id, new read-only id): a link on
    another site could make a logged-in browser follow it (SameSite=Lax sends the cookie with a
    GET). Now the GET changes nothing; it shows a form that POSTs to the same address, where the
    Origin check refuses a request from another site."""
    what = request.url.path.rsplit("/", 1)[1]
    action, title, explanation, button = CONFIRMATIONS[what]
    try:
        if "readonly_id" in request.path_params:
            record = await authorized_readonly_database(request)
        else:
            record = await authorized_database(request, action)
    except CoreError as error:
        return await _error_page(request, error)
    back = f"/dbs/{record.id}" if "db_id" in request.path_params else "/"
    values = {"title": title, "explanation": explanation, "button": button}
    context = await _navigation(
        request,
        **{key: value.format(name=record.name) for key, value in values.items()},
        action=request.url.path,
        back=back,
    )
    return _page(request, "confirm", context)


async def forgot_password_page(request: Request) -> Response:
    return _page(request, "forgot_password", await _navigation(request))


async def request_password_reset(request: Request) -> Response:
    """The form of the page above, posted without script: the same request as POST
    /api/users/reset-password, answered with a page that says the same whether the address is known."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not from_this_site(source, request.headers.get("host", ""), request.url.scheme):
        # A form on another site could make its visitors' browsers send reset messages to anyone.
        return await error_page(request, 403, "Cross-site request refused: this form must be sent from this site")
    form = await request.form()
    email = form.get("email")
    email = email.strip() if isinstance(email, str) else ""
    if not email:
        context = await _navigation(request, email="", error="Enter the email address of your account.")
        return _page(request, "forgot_password", context, status_code=400)
    try:
        await run_in_threadpool(
            services(request).accounts.request_password_reset, email, client_address=client_address(request)
        )
    except CoreError as error:
        context = await _navigation(request, email=email, error=str(error))
        return _page(request, "forgot_password", context, status_code=error.status)
    return _page(request, "forgot_password", await _navigation(request, email=email, sent=True))


async def password_reset_page(request: Request) -> Response:
    return _page(request, "password_reset", await _navigation(request, key=request.path_params["key"]))


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico on pages that name none (the API's JSON, downloads)."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/login", login_page, methods=["GET"]),
    Route("/signup", login_page, methods=["GET"]),
    Route("/setup/{key}", setup_page, methods=["GET"]),
    Route("/dbs/{db_id}", database_page, methods=["GET"]),
    Route("/dbs/{db_id}/tables/{table:path}", table_page, methods=["GET"]),
    Route("/dbs/{db_id}/sql", sql_page, methods=["GET"]),
    Route("/readonly/{readonly_id}", readonly_page, methods=["GET"]),
    Route("/readonly/{readonly_id}/tables/{table:path}", readonly_page, methods=["GET"]),
    Route("/readonly/{readonly_id}/sql", readonly_page, methods=["GET"]),
    Route("/teams/{team_name}", team_page, methods=["GET"]),
    Route("/password-reset", forgot_password_page, methods=["GET"]),
    Route("/password-reset", request_password_reset, methods=["POST"]),
    Route("/password-reset/{key}", password_reset_page, methods=["GET"]),
    Route("/favicon.ico", favicon, methods=["GET"]),
    # The POSTs of these are in files.py; a GET only asks.
    Route("/dbs/{db_id}/duplicate", confirmation_page, methods=["GET"]),
    Route("/readonly/{readonly_id}/duplicate", confirmation_page, methods=["GET"]),
    Route("/dbs/{db_id}/regenerate-db-id", confirmation_page, methods=["GET"]),
    Route("/dbs/{db_id}/regenerate-readonly-id", confirmation_page, methods=["GET"]),
]
