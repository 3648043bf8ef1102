"""The AI prompt routes, through the language model the operator configured (core/prompts):

- POST /api/dbs/:dbId/prompt: a question in words to SQL, run read-only (or, with `execute`, as the
  caller's own POST /sql would run it);
- POST /api/dbs/:dbId/prompt/describe-database, describe-table, describe-function: a description,
  stored as the database's or table's description with `store` (needs write permission);
- POST /api/prompt/create-database: a new database from a description.

The bodies are the reference's (`prompt`, `tableName`, `funcId`) with our own additions (`execute`,
`store`, `team`, `name`, `sampleRows`). Without a model they answer 501 saying how to set one up.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.errors import InvalidInput, NotFound
from airsequel.core.prompts.assistant import SqlPrompt
from airsequel.http.bodies import BOOLEAN, STRING, bool_field, documents_body, obj, read_json_object, string_field
from airsequel.http.context import authorized_database, principal, run_in_threadpool, services
from airsequel.http.responses import JSONResponse
from airsequel.http.routes.databases import ownership_json
from airsequel.http.routes.sql import answer

REFERENCE_FIELDS = {"prompt": STRING, "tableName": STRING, "funcId": STRING}


def prompt_json(outcome: SqlPrompt, max_rows: int) -> dict[str, Any]:
    return {
        "prompt": outcome.prompt,
        "model": outcome.model,
        "sql": outcome.proposal.sql,
        "explanation": outcome.proposal.explanation,
        "writes": outcome.writes,
        "executed": outcome.executed,
        "result": answer(outcome.result, max_rows) if outcome.result is not None else None,
        "errors": outcome.errors,
        "warnings": outcome.warnings,
    }


@documents_body(obj(["prompt"], **REFERENCE_FIELDS, execute=BOOLEAN))
async def prompt_to_sql(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.READ)
    body = await read_json_object(request)
    caller = await principal(request)
    outcome = await run_in_threadpool(
        lambda: services(request).prompts.to_sql(
            caller,
            record,
            body.get("prompt"),
            execute=bool(bool_field(body, "execute")),
            table=string_field(body, "tableName"),
        )
    )
    return JSONResponse(prompt_json(outcome, services(request).settings.max_rows))


@documents_body(obj(**REFERENCE_FIELDS, store=BOOLEAN), required=False)
async def describe(request: Request) -> JSONResponse:
    kind = request.path_params["kind"]
    record = await authorized_database(request, Action.READ)
    body = await read_json_object(request, optional=True)
    store = bool(bool_field(body, "store"))
    caller = await principal(request)
    prompts = services(request).prompts
    if kind == "describe-database":
        described = await run_in_threadpool(prompts.describe_database, caller, record, store=store)
    elif kind == "describe-table":
        table = string_field(body, "tableName", required=True)
        described = await run_in_threadpool(prompts.describe_table, caller, record, table, store=store)
    elif kind == "describe-function":
        if store:
            raise InvalidInput("store is for describe-database and describe-table")
        func_id = string_field(body, "funcId", required=True)
        described = await run_in_threadpool(services(request).describe_function, caller, record, func_id)
    else:
        raise NotFound(f"There is no prompt {kind!r}: describe-database, describe-table or describe-function")
    return JSONResponse(described)


@documents_body(obj(["prompt"], **REFERENCE_FIELDS, team=STRING, name=STRING, sampleRows=BOOLEAN))
async def create_database(request: Request) -> JSONResponse:
    body = await read_json_object(request)
    caller = await principal(request)
    record, proposed = await run_in_threadpool(
        lambda: services(request).prompts.create_database(
            caller,
            body.get("prompt"),
            team=string_field(body, "team"),
            name=string_field(body, "name"),
            sample_rows=bool(bool_field(body, "sampleRows")),
        )
    )
    return JSONResponse({**ownership_json(record), "name": record.name, **proposed}, status_code=201)


routes = [
    Route("/api/prompt/create-database", create_database, methods=["POST"]),
    Route("/api/dbs/{db_id}/prompt", prompt_to_sql, methods=["POST"]),
    Route("/api/dbs/{db_id}/prompt/{kind}", describe, methods=["POST"]),
]
