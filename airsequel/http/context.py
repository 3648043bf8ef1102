"""What every route needs from a request: the services, the caller, and an authorized database.

The caller comes from `Authorization: Bearer <session token | API token>`, or from the signed
session cookie that `POST /api/login` sets for the web pages. A cookie-authenticated request that
changes something must come from our own origin (Origin or Referer header), which stops CSRF.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.concurrency import run_in_threadpool as run_in_any_thread
from starlette.requests import Request

from airsequel.core.auth.access import Action, Principal, authorize, require_user
from airsequel.core.errors import Forbidden, NotAuthenticated
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.services import Services
from airsequel.http.sqlite_lane import SqliteLane

__all__ = [
    "services",
    "principal",
    "authorized_database",
    "logged_in_user",
    "authorized_readonly_database",
    "run_in_threadpool",
    "run_sqlite",
    "session_cookie_value",
    "session_token_from_cookie",
    "presented_secret",
    "refuse_cross_site",
    "SESSION_COOKIE",
]

T = TypeVar("T")
SESSION_COOKIE = "airsequel_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def services(request: Request) -> Services:
    return request.app.state.services


# The share of the lane that blocking work of this request counts against, once its caller is known
# (set by `principal`): the lane, the tenant's key, and how many calls the tenant may run at once.
_request_share: ContextVar[tuple[SqliteLane, str, int] | None] = ContextVar("airsequel_request_share", default=None)


async def run_in_threadpool(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Blocking work of a route on a worker thread: within its caller's share (see sqlite_lane.py)
    once the caller is known, so that a tenant's slow table pages wait for each other, not for
    everyone's threads and cores."""
    share = _request_share.get()
    if share is None:
        return await run_in_any_thread(function, *args, **kwargs)
    lane, tenant, size = share
    return await lane.run_shared(function, *args, tenant=tenant, share=size, **kwargs)


async def run_sqlite(request: Request, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a caller's SQL work on the server's SQLite lane (see sqlite_lane.py): within the caller's
    share of the lane, and answered by the time limit (and a second of grace) whatever happens."""
    lane, tenant, size = _share_of(request, await principal(request))
    return await lane.run(
        function,
        *args,
        tenant=tenant,
        share=size,
        time_limit=services(request).settings.sql_time_limit_seconds,
        **kwargs,
    )


def _share_of(request: Request, caller: Principal) -> tuple[SqliteLane, str, int]:
    """Whose share of the server a request uses: its user's (a token counts as its user), else its
    client address's (anonymous callers and read-only links)."""
    if caller.user_id is not None:
        tenant = f"user:{caller.user_id}"
    elif caller.token_id is not None:
        tenant = f"token:{caller.token_id}"
    else:
        tenant = f"address:{request.client.host if request.client else '?'}"
    return request.app.state.sqlite_lane, tenant, services(request).settings.tenant_max_concurrent_queries


def _cookie_serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(services(request).settings.secret_key, salt="session-cookie")


def session_cookie_value(request: Request, session_token: str) -> str:
    return _cookie_serializer(request).dumps(session_token)


def session_token_from_cookie(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        value = _cookie_serializer(request).loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def presented_secret(request: Request) -> tuple[str | None, bool]:
    """(secret, came_from_cookie)."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticated("Use 'Authorization: Bearer <token>'")
        return value.strip(), False
    return session_token_from_cookie(request), True


async def principal(request: Request) -> Principal:
    """The caller, resolved once per request."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    secret, from_cookie = presented_secret(request)
    if secret is None:
        resolved = Principal.anonymous()
    else:
        if from_cookie and request.method not in SAFE_METHODS:
            _check_same_origin(request)
        try:
            principals = services(request).principals
            known = principals.cached(secret)
            resolved = known if known is not None else await run_in_threadpool(principals.from_secret, secret)
        except NotAuthenticated:
            if not from_cookie:
                raise
            resolved = Principal.anonymous()  # a stale cookie is the same as none
    request.state.principal = resolved
    _request_share.set(_share_of(request, resolved))
    return resolved


def refuse_cross_site(request: Request) -> None:
    """A request that carries the session cookie must come from this site, whatever its method. The
    routes the web pages link to (duplicate, new ids) used to act on GET; they are POST-only now (a
    GET shows a confirmation page), and call this as a second check beside `principal`'s."""
    secret, from_cookie = presented_secret(request)
    if from_cookie and secret is not None:
        _check_same_origin(request)


def _check_same_origin(request: Request) -> None:
    """The Origin (else the Referer) must be this server: the same scheme and the same host[:port].
    The scheme is the request's as uvicorn saw it (X-Forwarded-Proto counts from trusted_proxies only)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not from_this_site(source, request.headers.get("host", ""), request.url.scheme):
        raise Forbidden("Cross-site request refused: cookie-authenticated changes must come from this site")


def from_this_site(source: str | None, host: str, scheme: str) -> bool:
    """`source` (an Origin or a Referer) is this server: the same scheme and the same host[:port]."""
    try:
        parts = urlsplit(source) if source else None
    except ValueError:  # "http://[" and the like
        return False
    return parts is not None and parts.netloc.lower() == host.lower() and parts.scheme.lower() == scheme


async def logged_in_user(request: Request) -> Principal:
    """The caller, who must be a logged-in user (not anonymous, not a token or read-only id)."""
    caller = await principal(request)
    require_user(caller)
    return caller


async def authorized_database(request: Request, action: Action, *, param: str = "db_id") -> DatabaseRecord:
    """The database named in the path, after checking that the caller may do `action` on it."""
    caller = await principal(request)
    hosting = services(request).hosting
    database_id = request.path_params[param]
    record = hosting.cached(database_id)
    if record is None:
        record = await run_in_threadpool(hosting.get, database_id)
    authorize(caller, action, record)
    return record


async def authorized_readonly_database(request: Request, action: Action = Action.READ) -> DatabaseRecord:
    """The database behind `/readonly/:readonlyId/...`: holders of the id may read it, nothing more."""
    record = await run_in_threadpool(services(request).hosting.get_by_readonly_id, request.path_params["readonly_id"])
    authorize(Principal.for_readonly_id(record), action, record)
    return record
