"""POST /dbs/:dbId/sql: run a SQL script, guarded, in one transaction; POST /readonly/:readonlyId/sql: the
same for the holders of a read-only link, who may only read (a write is refused with 403).

Every answer has the endpoint's shape (`rows`, `columns`, `affectedTables`, `errors`, `runtimeSeconds`,
`numChanges`), refusals too. What the caller's SQL itself causes (a syntax error, a constraint, a
statement the guard refuses, an empty script) is 200 with `errors`, as Airsequel answers; refusals of
the request keep their status: 400 a malformed body, 401/403 access, 404 an unknown database, 409 a
locked schema, 413 too large, 429 over the caller's share, 503 storage, 504 the time limit, 507 disk.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.auth.access import Action, Principal
from airsequel.core.errors import CoreError, InvalidInput, SqlError
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.sql.runner import SqlResult, StatementResult, check_params
from airsequel.http.bodies import STRING, documents_body, obj, read_json_object, string_field
from airsequel.http.context import (
    authorized_database,
    authorized_readonly_database,
    principal,
    run_sqlite,
    services,
)
from airsequel.http.errors import error_headers
from airsequel.http.responses import JSONResponse, error_body

SQL_BODY = obj(["query"], query=STRING, params={"oneOf": [{"type": "array"}, {"type": "object"}]})


@documents_body(SQL_BODY)
async def run_sql(request: Request) -> JSONResponse:
    started = time.perf_counter()
    try:
        record = await authorized_database(request, Action.READ)
        return await _run(request, record, await principal(request), started)
    except CoreError as error:
        return refusal(error, started)


@documents_body(SQL_BODY)
async def run_readonly_sql(request: Request) -> JSONResponse:
    """The read-only view's SQL: whoever holds the link (logged in or not) runs it as the link, which
    may read and nothing more; the limits are those of POST /dbs/:dbId/sql."""
    started = time.perf_counter()
    try:
        record = await authorized_readonly_database(request)
        return await _run(request, record, Principal.for_readonly_id(record), started)
    except CoreError as error:
        return refusal(error, started)


async def _run(request: Request, record: DatabaseRecord, caller: Principal, started: float) -> JSONResponse:
    settings = services(request).settings
    body = await read_json_object(request, max_bytes=settings.max_query_bytes + 64 * 1024)
    query = string_field(body, "query", required=True)
    params = body.get("params")
    if params is not None and not isinstance(params, (list, dict)):
        raise InvalidInput("params must be a list (for ?) or an object (for :name)")
    check_params(params)
    hosting = services(request).hosting
    # Never on the event loop: a single SQLite step can take seconds (see sqlite_lane.py).
    result = await run_sqlite(request, hosting.run_sql_as, record, caller, query, params)
    return JSONResponse(answer(result, settings.max_rows))


def refusal(error: CoreError, started: float) -> JSONResponse:
    """The endpoint's shape with the error's messages: 200 for an error of the SQL, else its status."""
    payload = {
        "rows": [],
        "columns": [],
        "affectedTables": [],
        **error_body(error.messages),
        "runtimeSeconds": round(time.perf_counter() - started, 6),
        "numChanges": 0,
    }
    status = 200 if isinstance(error, SqlError) else error.status
    return JSONResponse(payload, status_code=status, headers=error_headers(error))


def answer(result: SqlResult, max_rows: int) -> dict[str, Any]:
    """The top level is the last statement that returns rows; a script of several statements also
    gets `statements`, every statement's own result in order."""
    payload: dict[str, Any] = {
        "rows": result.rows,
        "columns": result.columns,
        "affectedTables": result.affected_tables,
        "errors": [],
        "runtimeSeconds": result.runtime_seconds,
        "numChanges": result.num_changes,
    }
    if len(result.statements) > 1:
        payload["statements"] = [statement_answer(outcome) for outcome in result.statements]
    if any(outcome.truncated for outcome in result.statements):
        payload["truncated"] = True
        payload["warnings"] = [f"Only the first {max_rows} rows are returned: add a LIMIT or page with OFFSET"]
    return payload


def statement_answer(outcome: StatementResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"rows": outcome.rows, "columns": outcome.columns, "numChanges": outcome.num_changes}
    if outcome.truncated:
        entry["truncated"] = True
    return entry


routes = [
    Route("/dbs/{db_id}/sql", run_sql, methods=["POST"]),
    Route("/readonly/{readonly_id}/sql", run_readonly_sql, methods=["POST"]),
]
