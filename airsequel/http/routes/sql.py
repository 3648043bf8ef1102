"""POST /dbs/:dbId/sql: run a SQL script, guarded, in one transaction."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.errors import CoreError, InvalidInput
from airsequel.core.sql.runner import check_params
from airsequel.http.bodies import STRING, documents_body, obj, read_json_object, string_field
from airsequel.http.context import authorized_database, principal, run_sqlite, services
from airsequel.http.errors import error_headers
from airsequel.http.responses import JSONResponse, error_body


@documents_body(obj(["query"], query=STRING, params={"oneOf": [{"type": "array"}, {"type": "object"}]}))
async def run_sql(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    settings = services(request).settings
    body = await read_json_object(request, max_bytes=settings.max_query_bytes + 64 * 1024)
    query = string_field(body, "query", required=True)
    params = body.get("params")
    if params is not None and not isinstance(params, (list, dict)):
        raise InvalidInput("params must be a list (for ?) or an object (for :name)")
    check_params(params)
    started = time.perf_counter()
    caller = await principal(request)
    hosting = services(request).hosting
    try:
        # Never on the event loop: a single SQLite step can take seconds (see sqlite_lane.py).
        result = await run_sqlite(request, hosting.run_sql_as, record, caller, query, params)
    except CoreError as error:
        # Keep the endpoint's shape on errors too: scripts read `errors` from the same object.
        payload = {
            "rows": [],
            "affectedTables": [],
            **error_body(error.messages),
            "runtimeSeconds": round(time.perf_counter() - started, 6),
            "numChanges": 0,
        }
        return JSONResponse(payload, status_code=error.status, headers=error_headers(error))
    payload = {
        "rows": result.rows,
        "affectedTables": result.affected_tables,
        "errors": [],
        "runtimeSeconds": result.runtime_seconds,
        "numChanges": result.num_changes,
    }
    if result.truncated:
        payload["truncated"] = True
        payload["warnings"] = [f"Only the first {settings.max_rows} rows are returned: add a LIMIT or page with OFFSET"]
    return JSONResponse(payload)


routes = [Route("/dbs/{db_id}/sql", run_sql, methods=["POST"])]
