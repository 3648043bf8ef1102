"""Every error leaves the server as JSON `{"errors": [...]}` with a fitting status, never a traceback."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from airsequel.core import errors
from airsequel.core.storage.disk_space import is_out_of_space
from airsequel.http.responses import error_response

log = logging.getLogger("airsequel.http")


def error_headers(exc: errors.CoreError) -> dict[str, str] | None:
    if isinstance(exc, errors.TooManyRequests) and exc.retry_after is not None:
        return {"Retry-After": str(exc.retry_after)}
    if exc.status == 401:
        return {"WWW-Authenticate": "Bearer"}
    return None


async def core_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.CoreError)
    return error_response(exc.status, *exc.messages, headers=error_headers(exc))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, exc.detail or "Error", headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    if is_out_of_space(exc):  # a full disk met where no check came first: still a clear answer
        log.error("out of disk space on %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            507, "The server's disk is full: the request was not completed; deleting databases and exports still works"
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "Internal server error: the request was not completed")


EXCEPTION_HANDLERS = {
    errors.CoreError: core_error,
    HTTPException: http_error,
    Exception: server_error,
}
