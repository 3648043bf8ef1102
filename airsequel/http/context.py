"""What every route needs from a request: the services, the caller, and an authorized database."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from airsequel.core.access import Action, Principal, authorize
from airsequel.core.control_plane import DatabaseRecord
from airsequel.core.services import Services

__all__ = ["services", "principal", "authorized_database", "authorized_readonly_database", "run_in_threadpool"]


def services(request: Request) -> Services:
    return request.app.state.services


def principal(request: Request) -> Principal:
    """The caller. Open single-user mode: the operator."""
    return Principal.operator()


async def authorized_database(request: Request, action: Action, *, param: str = "db_id") -> DatabaseRecord:
    """The database named in the path, after checking that the caller may do `action` on it."""
    record = await run_in_threadpool(services(request).hosting.get, request.path_params[param])
    authorize(principal(request), action, record)
    return record


async def authorized_readonly_database(request: Request, action: Action = Action.READ) -> DatabaseRecord:
    """The database behind `/readonly/:readonlyId/...`: holders of the id may read it, nothing more."""
    record = await run_in_threadpool(services(request).hosting.get_by_readonly_id, request.path_params["readonly_id"])
    authorize(Principal.read_only(), action, record)
    return record
