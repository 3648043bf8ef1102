"""The answers of the cloud functions' routes (/api/dbs/:dbId/functions and the trigger /fns/:funcId),
keyed by (method, path) as the routing table names them."""

from __future__ import annotations

from airsequel.http.openapi.declarations import Declared, declare, json, page
from airsequel.http.openapi.schemas import BOOL, EMPTY, INT, NUM, STR, TIME, Schema, array, nullable, record

DIAGNOSTIC = record(
    ("line", "column"),
    source={"type": "string", "enum": ["check", "lint"]},
    code=STR,
    message=STR,
    severity={"type": "string", "enum": ["error", "warning"]},
    line=nullable(INT),
    column=nullable(INT),
)
FUNCTION: Schema = record(
    content=STR,
    createdUtc=TIME,
    currentVersion=STR,
    description=nullable(STR),
    diagnostics=array(DIAGNOSTIC),
    id=STR,
    language={"type": "string", "enum": ["typescript", "javascript"]},
    name=STR,
    permission={"type": "string", "enum": ["read", "write"]},
    public=BOOL,
    runtime=STR,
    version=STR,
    versionCreatedUtc=TIME,
    versionNumber=INT,
    versions=array(STR),
)
SAVED = record(diagnostics=array(DIAGNOSTIC), id={**STR, "description": "The version now in force"})
INVOCATION = record(
    ("error",),
    createdUtc=TIME,
    data={**STR, "description": 'The data the call answered, as JSON text ("null" after a failure)'},
    error=nullable(STR),
    id=INT,
    logs=array(record(message=STR, stream={"type": "string", "enum": ["stdout", "stderr"]}, utc=TIME)),
    method=STR,
    ok=BOOL,
    runtimeMs=NUM,
    version=STR,
)
MANAGING = (400, 401, 403, 404)
CALL_ERRORS = (400, 401, 403, 404, 413, 422, 429, 503, 504, 507)
PATH = "/api/dbs/{db_id}/functions"
ONE = PATH + "/{func_id}"

RESPONSES: dict[tuple[str, str], Declared] = {
    ("GET", "/dbs/{db_id}/functions"): page(),
    ("GET", PATH): declare(json(record(functions=array(FUNCTION))), errors=MANAGING),
    ("POST", PATH): declare(json(FUNCTION, 201, "Created, with Deno's diagnostics"), errors=(*MANAGING, 413)),
    ("GET", ONE): declare(json(FUNCTION), errors=MANAGING),
    ("PATCH", ONE): declare(json(SAVED, description="A new version, in force"), errors=(*MANAGING, 413)),
    ("DELETE", ONE): declare(json(EMPTY), errors=MANAGING),
    ("GET", ONE + "/invocations"): declare(
        json(record(invocations=array(INVOCATION))),
        errors=MANAGING,
        query={
            "limit": {
                **INT,
                "minimum": 1,
                "maximum": 500,
                "description": "Only the newest calls (default: all 500 kept)",
            }
        },
    ),
    ("POST", ONE + "/republish"): declare(
        json(SAVED, description="That version, in force again"), errors=(*MANAGING, 413)
    ),
    ("GET", ONE + "/versions/{version_id}"): declare(
        json(FUNCTION, description="The function as of that version"), errors=MANAGING
    ),
    **{
        (method, "/fns/{func_id}"): declare(json({"description": "The data the function returned"}), errors=CALL_ERRORS)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
}
