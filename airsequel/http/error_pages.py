"""Errors as HTML pages for a browser that navigates to an address (an unknown route, a turned-off
read-only link): the message, the status and a way back home. Everyone else (API clients, scripts,
`fetch` from our own pages) keeps the JSON `{"errors": [...]}` answer, unchanged.

A request is a browser's navigation when it is a GET or HEAD, outside /api/, whose Accept header
names text/html (browsers send `text/html,...` when they open a page; API clients send
application/json, `*/*` or nothing)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from airsequel.core.errors import CoreError, NotAuthenticated, NotFound, TooManyRequests
from airsequel.http.context import principal, run_in_threadpool, services
from airsequel.http.pages import templates

log = logging.getLogger("airsequel.http")

HEADINGS = {
    400: "That did not work",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not available",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Not available right now",
    504: "That took too long",
    507: "The server's disk is full",
}


def wants_html(request: Request) -> bool:
    if request.method not in ("GET", "HEAD") or request.url.path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    return any(part.split(";", 1)[0].strip().lower() == "text/html" for part in accept.split(","))


def login_address(request: Request) -> str:
    """The login page, which comes back to this address once logged in."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='/')}"


def login_redirect(request: Request) -> Response:
    return RedirectResponse(login_address(request), status_code=303)


async def _navigation(request: Request) -> dict[str, object]:
    """The header's data (who is logged in, their teams); none when that itself fails (the page
    still shows the message)."""
    try:
        caller = await principal(request)
        return dict(await run_in_threadpool(services(request).pages.navigation, caller))
    except Exception:  # noqa: BLE001 - an error page must render whatever broke
        log.debug("no navigation on the error page of %s", request.url.path, exc_info=True)
        return {}


async def error_page(request: Request, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    context = {
        **await _navigation(request),
        "status": status,
        "heading": HEADINGS.get(status, "Not available"),
        "message": message,
        # Logged out, a private database is "not found": logging in may show it.
        "login_address": login_address(request),
    }
    return templates.TemplateResponse(request, "pages/error.html", context, status_code=status, headers=headers)


async def browser_error(request: Request, error: CoreError) -> Response:
    """A core error met while a browser opened a page: to the login page when it must log in (and
    back here after), else the error page with the error's own status."""
    if isinstance(error, NotAuthenticated):
        return login_redirect(request)
    headers = None
    if isinstance(error, TooManyRequests) and error.retry_after is not None:
        headers = {"Retry-After": str(error.retry_after)}
    message = str(error)
    if isinstance(error, NotFound) and request.url.path.startswith("/readonly/"):
        message += f". {OLD_READONLY_LINK}"
    return await error_page(request, error.status, message, headers)


# What a browser opening a read-only link that is off (or was replaced) is told besides the error.
OLD_READONLY_LINK = (
    "This read-only link may have been turned off, or replaced by a new one: ask the database's managers for the"
    " current link."
)
