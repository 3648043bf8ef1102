"""The answers of the data routes (databases, files, tables, records, assets, SQL, GraphQL, charts,
exports, backups), keyed by (method, path) as the routing table names them."""

from __future__ import annotations

from airsequel.core.exports.jobs import ARTIFACT_TYPES
from airsequel.http.openapi.declarations import (
    JSON,
    Declared,
    declare,
    file,
    html,
    json,
    listing,
    named,
    or_as,
    redirect,
    text,
)
from airsequel.http.openapi.schemas import BOOL, EMPTY, INT, NUM, STR, TIME, array, nullable, record, ref

SQLITE = "application/vnd.sqlite3"
PAGING = {"limit": {"type": "integer", "minimum": 0}, "offset": {"type": "integer", "minimum": 0}}
TEAM = {"team": {"type": "string", "description": "The team that owns the new database (default: your own)"}}
FILE_CELL = "/tables/{table}/columns/{column}/files/{key_column}/{key_value}"

STATEMENT = record(("truncated",), rows=array(ref("Row")), columns=array(STR), numChanges=INT, truncated=BOOL)
SQL_RESULT = record(
    ("statements", "truncated", "warnings"),
    rows=array(ref("Row")),
    columns={**array(STR), "description": "In order; a repeated name is keyed name:N in the rows"},
    affectedTables=array(STR),
    errors={**array(STR), "description": "The SQL's errors (the answer is still 200)"},
    runtimeSeconds=NUM,
    numChanges=INT,
    statements={**array(STATEMENT), "description": "Each statement's result, for a script of several"},
    truncated=BOOL,
    warnings=array(STR),
)
GRAPHQL_RESULT = record(
    ("data", "errors", "extensions"),
    data=nullable({"type": "object", "description": "The selected fields, as the query names them"}),
    errors=array(ref("GraphQLError")),
    extensions={"type": "object"},
)
GRAPHQL = {"errors": (400, 404, 413, 429, 504), "error_schema": "GraphQLErrors"}
UPLOAD_ERRORS = (400, 401, 403, 404, 413, 422, 429, 507)  # 422: not a SQLite file, or a damaged one
CREATED_DATABASE = named("Ownership", 201, "The new database: its id and owner")
READONLY = json(record(readonlyId=nullable(STR)))

DATABASES: dict[tuple[str, str], Declared] = {
    ("GET", "/api/dbs"): declare(
        json(record(databases=array(ref("Database")), numberOfDatabases=INT)), query=PAGING, errors=(400, 401)
    ),
    ("POST", "/api/dbs"): declare(CREATED_DATABASE, errors=(400, 401, 403, 404, 413, 507)),
    ("GET", "/api/dbs/{db_id}"): declare(named("Database")),
    ("PATCH", "/api/dbs/{db_id}"): declare(json(EMPTY)),
    ("DELETE", "/api/dbs/{db_id}"): declare(json(EMPTY)),
    ("POST", "/api/dbs/{db_id}/readonly-id"): declare(READONLY),
    ("DELETE", "/api/dbs/{db_id}/readonly-id"): declare(READONLY),
    ("GET", "/api/dbs/{db_id}/schema"): declare(text("The schema as SQL (CREATE statements)")),
    ("POST", "/api/dbs/{db_id}/vacuum"): declare(json(record(size=INT))),
    ("POST", "/dbs"): declare(CREATED_DATABASE, upload=True, query={**TEAM, "filename": STR}, errors=UPLOAD_ERRORS),
    ("PUT", "/dbs/{db_id}"): declare(
        named("Ownership", description="The database, its content replaced"), upload=True, errors=UPLOAD_ERRORS
    ),
    ("GET", "/dbs/{db_id}/download"): declare(file("The SQLite file, a consistent snapshot", SQLITE)),
    ("POST", "/dbs/{db_id}/duplicate"): declare(
        json(record(id=STR), description="The copy's id"), redirect("From a browser's form"), query=TEAM
    ),
    ("POST", "/readonly/{readonly_id}/duplicate"): declare(
        json(record(id=STR), description="The copy's id"), redirect("From a browser's form"), query=TEAM
    ),
    ("POST", "/dbs/{db_id}/regenerate-db-id"): declare(json(record(id=STR)), redirect("From a browser's form")),
    ("POST", "/dbs/{db_id}/regenerate-readonly-id"): declare(
        json(record(readonlyId=STR)), redirect("From a browser's form")
    ),
    ("GET", "/api/dbs/{db_id}/backups"): declare(json(record(earliest=nullable(TIME), latest=nullable(TIME)))),
    ("POST", "/api/dbs/{db_id}/restore"): declare(
        named("Ownership", 201, "Restored into a new database"),
        named("Ownership", 200, "Restored in place (as_new: false)"),
    ),
}

TABLES: dict[tuple[str, str], Declared] = {
    ("GET", "/api/dbs/{db_id}/azimutt-schema"): declare(
        json(record(tables=array({"type": "object"}), relations=array({"type": "object"})))
    ),
    ("GET", "/api/dbs/{db_id}/tables/{table}"): declare(named("Table")),
    ("PUT", "/api/dbs/{db_id}/tables/{table}"): declare(named("Table", 201, "The new table")),
    ("PATCH", "/api/dbs/{db_id}/tables/{table}"): declare(json(EMPTY)),
    ("DELETE", "/api/dbs/{db_id}/tables/{table}"): declare(json(EMPTY)),
    ("PUT", "/api/dbs/{db_id}/tables/{table}/columns/{column}"): declare(named("Column", 201, "The new column")),
    ("PATCH", "/api/dbs/{db_id}/tables/{table}/columns/{column}"): declare(json(EMPTY)),
    ("DELETE", "/api/dbs/{db_id}/tables/{table}/columns/{column}"): declare(json(EMPTY)),
    ("GET", "/api/dbs/{db_id}/tables/{table}/export"): declare(file("The table as CSV", "text/csv")),
    ("GET", "/api/dbs/{db_id}/tables/{table}/search/{term}"): declare(
        json({"allOf": [ref("Table"), record(rows=array(ref("Row")))]})
    ),
    ("GET", "/api/dbs/{db_id}" + FILE_CELL): declare(
        file("The cell's bytes, their media type sniffed from them", "*/*")
    ),
    ("PUT", "/api/dbs/{db_id}" + FILE_CELL): declare(json(EMPTY), upload=True, errors=(400, 401, 403, 404, 413, 507)),
    ("GET", "/readonly/{readonly_id}" + FILE_CELL): declare(
        file("The cell's bytes, their media type sniffed from them", "*/*")
    ),
    ("GET", "/api/dbs/{db_id}/tables/{table}/records"): declare(
        or_as(
            json(record(records=array(ref("Row")), next=nullable(STR)), description="A page of rows; `next` pages on"),
            "text/csv",
            STR,
        ),
        query={"limit": {"type": "integer", "minimum": 0}, "next": STR},
    ),
    ("POST", "/api/dbs/{db_id}/assets"): declare(named("Asset", 201, "The new asset, to upload with PUT")),
    ("GET", "/api/dbs/{db_id}/assets"): declare(listing("assets", "Asset")),
    ("PUT", "/api/dbs/{db_id}/assets/{asset_id}"): declare(named("Asset"), upload=True),
    ("PATCH", "/api/dbs/{db_id}/assets/{asset_id}"): declare(named("Asset")),
    ("GET", "/api/dbs/{db_id}/assets/{asset_id}"): declare(
        or_as(file("The asset's bytes; with ?meta=true its metadata", "application/octet-stream"), JSON, ref("Asset")),
        query={"meta": {"type": "string", "enum": ["true", "false"]}},
    ),
    ("DELETE", "/api/dbs/{db_id}/assets/{asset_id}"): declare(json(EMPTY)),
}

QUERIES: dict[tuple[str, str], Declared] = {
    ("POST", "/dbs/{db_id}/sql"): declare(
        json(SQL_RESULT), errors=(400, 401, 403, 404, 409, 413, 429, 503, 504, 507), error_schema="SqlRefusal"
    ),
    ("POST", "/readonly/{readonly_id}/sql"): declare(
        json(SQL_RESULT), errors=(400, 401, 403, 404, 413, 429, 503, 504), error_schema="SqlRefusal"
    ),
    ("POST", "/dbs/{db_id}/graphql"): declare(json(GRAPHQL_RESULT), **GRAPHQL),
    ("POST", "/readonly/{readonly_id}/graphql"): declare(json(GRAPHQL_RESULT), **GRAPHQL),
    ("GET", "/dbs/{db_id}/graphql"): declare(html("GraphiQL"), errors=(404,), error_schema="GraphQLErrors"),
    ("GET", "/dbs/{db_id}/graphiql"): declare(html("GraphiQL"), errors=(404,), error_schema="GraphQLErrors"),
    ("GET", "/readonly/{readonly_id}/graphql"): declare(html("GraphiQL"), errors=(404,), error_schema="GraphQLErrors"),
    ("GET", "/dbs/{db_id}/playground/default-query"): declare(
        text("The playground's first query"), errors=(404,), error_schema="GraphQLErrors"
    ),
}

CHARTS: dict[tuple[str, str], Declared] = {
    ("GET", "/api/dbs/{db_id}/charts"): declare(listing("charts", "Chart")),
    ("POST", "/api/dbs/{db_id}/charts"): declare(named("Chart", 201, "The new chart")),
    ("PATCH", "/api/dbs/{db_id}/charts/{item_id}"): declare(json(EMPTY)),
    ("DELETE", "/api/dbs/{db_id}/charts/{item_id}"): declare(json(EMPTY)),
    ("GET", "/api/dbs/{db_id}/charts/{item_id}/svg"): declare(file("The chart drawn as SVG", "image/svg+xml")),
    ("GET", "/api/dbs/{db_id}/dashboards"): declare(listing("dashboards", "Dashboard")),
    ("POST", "/api/dbs/{db_id}/dashboards"): declare(named("Dashboard", 201, "The new dashboard")),
    ("PATCH", "/api/dbs/{db_id}/dashboards/{item_id}"): declare(json(EMPTY)),
    ("DELETE", "/api/dbs/{db_id}/dashboards/{item_id}"): declare(json(EMPTY)),
}

EXPORT_TYPES = (*ARTIFACT_TYPES.values(), "application/octet-stream")
EXPORTS: dict[tuple[str, str], Declared] = {
    ("POST", "/api/exports"): declare(
        json(record(id=STR, status=STR), 202, "The job, started: poll GET /api/exports/:id"),
        errors=(400, 401, 403, 404, 413, 429),
    ),
    ("GET", "/api/exports"): declare(listing("exports", "ExportJob"), errors=(401,)),
    ("GET", "/api/exports/{export_id}"): declare(named("ExportJob"), errors=(401, 404)),
    ("DELETE", "/api/exports/{export_id}"): declare(json(EMPTY), errors=(401, 404)),
    ("GET", "/api/exports/{export_id}/data"): declare(
        file("The export's data: a zip of one file per table, or one file", *EXPORT_TYPES),
        errors=(400, 401, 404),
    ),
}

RESPONSES: dict[tuple[str, str], Declared] = {**DATABASES, **TABLES, **QUERIES, **CHARTS, **EXPORTS}
