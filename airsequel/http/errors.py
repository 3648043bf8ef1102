"""Every error leaves the server as JSON `{"errors": [...]}` with a fitting status, never a traceback."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from airsequel.core import errors
from airsequel.core.auth.login_throttle import TooManyAttempts
from airsequel.http.responses import error_response

log = logging.getLogger("airsequel.http")

STATUS_BY_ERROR: dict[type[errors.CoreError], int] = {
    errors.InvalidInput: 400,
    errors.SqlError: 400,
    errors.NotAuthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.Unprocessable: 422,
    errors.Unavailable: 503,
    TooManyAttempts: 429,
}


def status_for(exc: errors.CoreError) -> int:
    return next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400)


async def core_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.CoreError)
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return error_response(status, *exc.messages, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, exc.detail or "Error", headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "Internal server error: the request was not completed")


EXCEPTION_HANDLERS = {
    errors.CoreError: core_error,
    HTTPException: http_error,
    Exception: server_error,
}
