"""The answers of the AI prompt routes (POST /api/dbs/:dbId/prompt, .../prompt/{kind} and
/api/prompt/create-database), keyed by (method, path) as the routing table names them."""

from __future__ import annotations

from airsequel.http.openapi.data_responses import SQL_RESULT
from airsequel.http.openapi.declarations import Declared, declare, json
from airsequel.http.openapi.schemas import BOOL, STR, array, nullable, record

# 501: no model configured (the message says how); 502: the model failed; 504: it took too long.
PROMPT_ERRORS = (400, 401, 403, 404, 413, 422, 429, 501, 502, 504)

SQL_PROMPT = record(
    prompt=STR,
    model={**STR, "description": "The llm model id that answered"},
    sql={**STR, "description": "The SQL the model proposed"},
    explanation=STR,
    writes={**nullable(BOOL), "description": "Whether the SQL writes (null: it failed before that was known)"},
    executed={**BOOL, "description": "Whether it ran: a write runs only with execute: true and write permission"},
    result={**nullable(SQL_RESULT), "description": "What POST /dbs/:dbId/sql answers for it, when it ran"},
    errors=array(STR),
    warnings=array(STR),
)
DESCRIPTION = record(
    ("stored", "tableName", "funcId"),
    description=STR,
    model=STR,
    stored={**BOOL, "description": "Saved as the database's or table's description (store: true)"},
    tableName=STR,
    funcId=STR,
)
CREATED = record(
    id=STR,
    name=STR,
    ownerName=STR,
    ownershipUtc=STR,
    sql={**STR, "description": "The schema script the model proposed, as it was run"},
    explanation=STR,
    model=STR,
)

RESPONSES: dict[tuple[str, str], Declared] = {
    ("POST", "/api/dbs/{db_id}/prompt"): declare(json(SQL_PROMPT), errors=PROMPT_ERRORS),
    ("POST", "/api/dbs/{db_id}/prompt/{kind}"): declare(json(DESCRIPTION), errors=PROMPT_ERRORS),
    ("POST", "/api/prompt/create-database"): declare(
        json(CREATED, 201, "Created from the proposed schema"), errors=(*PROMPT_ERRORS, 507)
    ),
}
