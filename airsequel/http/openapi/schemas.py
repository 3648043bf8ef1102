"""Building blocks of the response schemas (OpenAPI 3.0 Schema Objects) and the named shapes that
several routes answer with, which the document lists under components/schemas."""

from __future__ import annotations

from typing import Any

from airsequel.core.exports.jobs import STATES

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "description": "UTC time, ISO 8601 (2026-01-31T12:00:00.000Z)"}


def nullable(schema: Schema) -> Schema:
    """`schema` or null (OpenAPI 3.0's `nullable` works beside `type` only: give one)."""
    assert "type" in schema, "nullable needs an explicit type in OpenAPI 3.0"
    return {**schema, "nullable": True}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def record(optional: tuple[str, ...] = (), /, **properties: Schema) -> Schema:
    """An object whose properties are all present in every answer, except those named in `optional`.
    Further properties may appear (a later version may add some): clients ignore them."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, **({"required": required} if required else {})}


def ref(name: str) -> Schema:
    assert name in COMPONENTS, f"no component schema named {name!r}"
    return {"$ref": f"#/components/schemas/{name}"}


EMPTY: Schema = {"type": "object", "description": "An empty object: the change is done", "maxProperties": 0}

# A cell of a row as the JSON API writes it: text, a number, null, or a BLOB as {"$base64": "..."}.
CELL: Schema = {
    "oneOf": [
        nullable(STR),
        NUM,
        record(**{"$base64": STR}),
    ],
    "description": 'A cell: text, a number, null, or a BLOB as {"$base64": "..."}',
}
ROW: Schema = {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Cell"}}

COMPONENTS: dict[str, Schema] = {
    "Errors": record(errors=array(STR)),
    "GraphQLError": record(
        ("locations", "path", "extensions"),
        message=STR,
        locations=array(record(line=INT, column=INT)),
        path=array({"oneOf": [STR, INT]}),
        extensions={"type": "object"},
    ),
    "GraphQLErrors": record(errors=array({"$ref": "#/components/schemas/GraphQLError"})),
    "SqlRefusal": record(
        errors=array(STR),
        rows={**array(STR), "maxItems": 0},
        columns={**array(STR), "maxItems": 0},
        affectedTables={**array(STR), "maxItems": 0},
        runtimeSeconds=NUM,
        numChanges=INT,
    ),
    "Cell": CELL,
    "Row": ROW,
    "TableRef": record(name=STR, tableType=STR),
    "Database": record(
        auditing=BOOL,
        createdUtc=TIME,
        description=nullable(STR),
        environment=nullable(STR),
        fileFormat=STR,
        fileName=STR,
        id=STR,
        lastModifiedUtc=nullable(TIME),
        location=nullable(STR),
        name=STR,
        owner=STR,
        readonlyId=nullable(STR),
        schemaLocked=BOOL,
        schemaVersion=INT,
        size=nullable(INT),
        tables=array({"$ref": "#/components/schemas/TableRef"}),
        userVersion=INT,
        viewsTab=BOOL,
        visibility={"type": "string", "enum": ["public", "private"]},
    ),
    "Ownership": record(id=STR, ownerName=STR, ownershipUtc=TIME),
    "Column": record(
        description=nullable(STR),
        gqlDataType=STR,
        inputElement=STR,
        isGenerated=BOOL,
        isNonNull=BOOL,
        isOmittable=BOOL,
        isPrimaryKey=BOOL,
        isUnique=BOOL,
        items=nullable(array(STR)),
        name=STR,
        sqliteDataType=STR,
        validations=nullable(array({"type": "object"})),
    ),
    "Table": record(
        columns=array({"$ref": "#/components/schemas/Column"}),
        description=nullable(STR),
        maxCellLimitReached=BOOL,
        name=STR,
        numberOfRows=INT,
        rowidColumnName=nullable(STR),
        tableType=STR,
    ),
    "Asset": record(
        id=STR,
        filename=STR,
        is_uploaded=BOOL,
        size=INT,
        download_url=STR,
        created_at=TIME,
        updated_at=TIME,
    ),
    "Chart": record(
        chartType=STR,
        headers=array(STR),
        hideNullValues=BOOL,
        labelRotation=NUM,
        table=STR,
        title=STR,
        ulid=STR,
    ),
    "Dashboard": record(charts=array(STR), title=STR, ulid=STR),
    "ExportJob": record(
        id=STR,
        name=STR,
        status={"type": "string", "description": "STARTED, RUNNING, SUCCESS or FAILED"},
        progress=record(rows_done=INT, rows_total=nullable(INT), fraction=NUM),
        data=nullable(STR),
        created_utc=TIME,
        expires_utc=nullable(TIME),
        error=nullable(STR),
        # Medable's fields, beside ours (and the Medable options the export was asked with)
        _id=STR,
        object={"type": "string", "enum": ["export"]},
        label=STR,
        description=nullable(STR),
        state={"type": "string", "enum": list(STATES.values())},
        format=nullable(STR),
        exportFiles=BOOL,
        zipFiles=BOOL,
        dataFile=nullable(record(filename=STR, mime=STR, size=nullable(INT), path=STR, url=STR)),
        created=TIME,
        expiresAt=nullable(TIME),
    ),
    "Team": record(
        billing=nullable(record(email_address=nullable(STR), plan=nullable(STR), subscription_id=nullable(INT))),
        created_utc=TIME,
        databases=array(
            record(environment=nullable(STR), id=STR, name=STR, ownership_utc=TIME, visibility=STR),
        ),
        name=STR,
    ),
    "TeamSummary": record(
        billing=nullable(record(email_address=nullable(STR), plan=nullable(STR), subscription_id=nullable(INT))),
        name=STR,
        numberOfDatabases=INT,
    ),
    "Member": record(username=STR, roles=array(STR)),
    "Token": record(
        ("body",),
        body=STR,
        created_utc=TIME,
        description=nullable(STR),
        expiration_utc=nullable(TIME),
        id=INT,
        last_used_utc=nullable(TIME),
        name=STR,
        permissions=array(record(db_id=STR, db_name=STR, name={"type": "string", "enum": ["read", "write", "insert"]})),
        team_name=STR,
    ),
    "EnvVar": record(("value",), created_utc=TIME, name=STR, value=STR),
    "AuditEntry": record(
        id=INT,
        at_utc=TIME,
        actor=STR,
        kind=STR,
        statement=nullable(STR),
        affectedTables=array(STR),
        rows=nullable(INT),
    ),
}
