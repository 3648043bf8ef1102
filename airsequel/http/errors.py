"""Every error leaves the server as JSON `{"errors": [...]}` with a fitting status, never a traceback;
a browser opening an address gets the same message as an HTML page instead (http/error_pages.py)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from airsequel.core import errors
from airsequel.core.storage.disk_space import is_out_of_space
from airsequel.http.error_pages import browser_error, error_page, wants_html
from airsequel.http.responses import error_response

log = logging.getLogger("airsequel.http")


def error_headers(exc: errors.CoreError) -> dict[str, str] | None:
    if isinstance(exc, errors.TooManyRequests) and exc.retry_after is not None:
        return {"Retry-After": str(exc.retry_after)}
    if exc.status == 401:
        return {"WWW-Authenticate": "Bearer"}
    return None


FULL_DISK = "The server's disk is full: the request was not completed; deleting databases and exports still works"


def _page_message(status: int, detail: str | None) -> str:
    if status == 404:
        return "There is no page at this address. It may have moved, or the link may be old."
    return detail or "Error"


async def core_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.CoreError)
    if wants_html(request):
        return await browser_error(request, exc)
    return error_response(exc.status, *exc.messages, headers=error_headers(exc))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_html(request):
        return await error_page(request, exc.status_code, _page_message(exc.status_code, exc.detail), exc.headers)
    return error_response(exc.status_code, exc.detail or "Error", headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    if is_out_of_space(exc):  # a full disk met where no check came first: still a clear answer
        log.error("out of disk space on %s %s: %s", request.method, request.url.path, exc)
        status, message = 507, FULL_DISK
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        status, message = 500, "Internal server error: the request was not completed"
    if wants_html(request):
        return await error_page(request, status, message)
    return error_response(status, message)


EXCEPTION_HANDLERS = {
    errors.CoreError: core_error,
    HTTPException: http_error,
    Exception: server_error,
}
