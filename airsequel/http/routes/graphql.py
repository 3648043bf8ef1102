"""GraphQL: POST /dbs/:dbId/graphql and /readonly/:readonlyId/graphql; GET serves GraphiQL."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from airsequel.core.errors import CoreError, InvalidInput, NotFound
from airsequel.core.graphql.engine import mode_for
from airsequel.core.graphql.schema import Mode
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.http.bodies import STRING, documents_body, obj, read_json_object
from airsequel.http.context import principal, run_in_threadpool, run_sqlite, services
from airsequel.http.error_pages import browser_error, wants_html
from airsequel.http.errors import error_headers
from airsequel.http.pages import templates
from airsequel.http.responses import JSONResponse, error_response


async def _target(request: Request) -> tuple[DatabaseRecord, Mode]:
    hosting = services(request).hosting
    if "readonly_id" in request.path_params:
        record = await run_in_threadpool(hosting.get_by_readonly_id, request.path_params["readonly_id"])
        return record, Mode.READ_ONLY
    caller = await principal(request)
    database_id = request.path_params["db_id"]
    try:
        known = hosting.cached(database_id)
        record = known if known is not None else await run_in_threadpool(hosting.get, database_id)
    except NotFound:
        raise NotFound(f'Database "{request.path_params["db_id"]}" does not exist') from None
    return record, mode_for(caller, record)


def _graphql_errors(error: CoreError) -> JSONResponse:
    return error_response(error.status, *error.messages, headers=error_headers(error), graphql=True)


@documents_body(
    obj(["query"], query=STRING, variables={"type": "object"}, operationName=STRING, extensions={"type": "object"})
)
async def graphql_post(request: Request) -> Response:
    try:
        record, mode = await _target(request)
        body = await read_json_object(request)
        query = body.get("query")
        variables = body.get("variables")
        operation_name = body.get("operationName")
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("The body needs a GraphQL document in 'query'")
        if variables is not None and not isinstance(variables, dict):
            raise InvalidInput("'variables' must be an object")
        if operation_name is not None and not isinstance(operation_name, str):
            raise InvalidInput("'operationName' must be a string")
    except CoreError as error:
        return _graphql_errors(error)
    engine = services(request).graphql
    # Never on the event loop: resolvers run SQL, and a single SQLite step can take seconds.
    # BLOB cells link to the path the caller came by: the read-only link only for its holders.
    readonly_id = request.path_params.get("readonly_id")
    files_base = f"/readonly/{readonly_id}" if readonly_id else f"/api/dbs/{record.id}"
    try:
        result = await run_sqlite(
            request,
            engine.execute,
            record,
            mode,
            query,
            variables,
            operation_name,
            await principal(request),
            files_base,
        )
    except CoreError as error:  # over the caller's share, or stuck past the time limit
        return _graphql_errors(error)
    return JSONResponse(result)


async def graphql_playground(request: Request) -> Response:
    try:
        record, _mode = await _target(request)
    except CoreError as error:  # a browser opening an old read-only link gets a page, a client JSON
        return await browser_error(request, error) if wants_html(request) else _graphql_errors(error)
    default_query = await run_in_threadpool(_default_query, services(request), record)
    return templates.TemplateResponse(
        request,
        "graphiql.html",
        {
            "database_name": record.name,
            "endpoint": request.url.path.removesuffix("/graphiql").removesuffix("/graphql") + "/graphql",
            "default_query": default_query,
        },
    )


async def default_query(request: Request) -> Response:
    try:
        record, _mode = await _target(request)
    except CoreError as error:
        return _graphql_errors(error)
    return PlainTextResponse(await run_in_threadpool(_default_query, services(request), record))


def _default_query(services: Any, record: DatabaseRecord) -> str:
    generated = services.graphql.schema_for(record, Mode.READ_ONLY)
    bindings = sorted(generated.tables.values(), key=lambda b: b.table.is_view)
    if not bindings:
        return "# This database has no tables yet: create one with POST /dbs/:dbId/sql\n{\n  __typename\n}\n"
    first = bindings[0]
    fields = "\n".join(f"    {name}" for name in list(first.columns)[:12])
    return f"{{\n  {first.base}(limit: 10) {{\n{fields}\n  }}\n}}\n"


routes = [
    Route("/dbs/{db_id}/graphql", graphql_post, methods=["POST"]),
    Route("/dbs/{db_id}/graphql", graphql_playground, methods=["GET"]),
    Route("/dbs/{db_id}/graphiql", graphql_playground, methods=["GET"]),  # the playground URL of Airsequel's docs
    Route("/readonly/{readonly_id}/graphql", graphql_post, methods=["POST"]),
    Route("/readonly/{readonly_id}/graphql", graphql_playground, methods=["GET"]),
    Route("/dbs/{db_id}/playground/default-query", default_query, methods=["GET"]),
]
