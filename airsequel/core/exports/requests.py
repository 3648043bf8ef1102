"""What an export job is asked to do, read from the JSON of any of the three APIs that ask for one.

- Airsequel's own (`POST /api/exports`): name, databases, media_type, tables, filters (per table),
  include_assets.
- PixieBrix's (`POST /api/databases/records/jobs/`): name, databases, media_type, and `filters`
  holding `start_date`/`end_date` (ISO 8601 timestamps or days, inclusive) for every table, on each
  table's date column (content.record_dates). A database id may be `<databaseId>:<table>`: that table only.
- Medable's (`POST /:org/v2/exports`, the org being the database): label, description, format, objects
  (one table), paths and include (columns), where (a JSON query: `{"col": value}`, `{"col": null}`,
  `{"col": {"$gte": 1, "$lt": 9}}`, `$eq`, `$gt`, `$gte`, `$lt`, `$lte`, `$exists`), exportFiles (file
  cells and assets beside the data), zipFiles (those files in one zip inside the archive). Medable's
  expand, afterScript, principal and prefix are refused: nothing here does what they say.
Every field of these is accepted on every route; an unknown field is a 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from airsequel.core.errors import InvalidInput
from airsequel.core.formats.writers import MEDIA_TYPES

DATE_KEYS = ("start_date", "end_date", "date_column")
UNSUPPORTED = {
    "expand": "references are not expanded (select the columns you need with paths)",
    "afterScript": "no script runs after an export (poll the export's state instead)",
    "principal": "an export runs as its caller",
    "prefix": "exports read whole tables (filter them with where)",
}
KNOWN = {
    "name",
    "databases",
    "media_type",
    "tables",
    "filters",
    "include_assets",
    "label",
    "description",
    "format",
    "objects",
    "paths",
    "include",
    "where",
    "exportFiles",
    "zipFiles",
    *UNSUPPORTED,
}
_WHERE_OPERATORS = {"$eq": "", "$gt": "__gt", "$gte": "__gte", "$lt": "__lt", "$lte": "__lte"}


@dataclass
class ExportRequest:
    name: str
    databases: list[str]  # database ids as given (without a ':<table>' part)
    tables: list[str] | None
    kind: str  # csv | ndjson | json | xlsx
    filters: dict[str, Any]  # table name → filter (records' query-string form)
    include_assets: bool
    description: str | None = None
    table_sets: list[list[str] | None] = field(default_factory=list)  # per database: tables its id chose
    date_range: dict[str, Any] | None = None  # start_date, end_date, date_column for every table
    columns: list[str] | None = None  # the columns of every table to export (Medable's paths + include)
    where: dict[str, Any] = field(default_factory=dict)  # a filter on every table (Medable's where)
    export_files: bool = False  # file cells and assets beside the data
    zip_files: bool = False  # those files zipped together inside the archive
    archive: bool = False  # always a zip (Medable's exports are)
    media_type: str = "application/json"
    medable: dict[str, Any] = field(default_factory=dict)  # Medable's fields as given, echoed in the job

    @classmethod
    def from_json(cls, body: dict[str, Any], *, database: str | None = None, archive: bool = False) -> ExportRequest:
        """`database`: the one database the route names (Medable's org), in place of `databases`."""
        unknown = sorted(set(body) - KNOWN)
        if unknown:
            raise InvalidInput(
                f"Unknown field(s) {', '.join(map(repr, unknown))}: an export takes {', '.join(sorted(KNOWN))}"
            )
        for name, why in UNSUPPORTED.items():
            if body.get(name) not in (None, [], ""):
                raise InvalidInput(f"{name} is not supported: {why}")
        name = _one_of(body, "name", "label")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidInput("name (or label) must be a non-empty string of at most 200 characters")
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 2000):
            raise InvalidInput("description must be a string of at most 2,000 characters")
        given = body.get("databases", None if database is None else [database])
        if database is not None and given != [database]:
            raise InvalidInput("This export's database is the one in its path: leave databases out")
        if not isinstance(given, list) or not given or not all(isinstance(d, str) and d for d in given):
            raise InvalidInput("databases must be a non-empty list of database ids")
        databases, table_sets = _databases(given)
        media_type = _one_of(body, "media_type", "format", default="application/json")
        if not isinstance(media_type, str) or media_type not in MEDIA_TYPES:
            raise InvalidInput(f"media_type (or format) must be one of {', '.join(MEDIA_TYPES)}")
        tables = body.get("tables")
        if tables is not None and (not isinstance(tables, list) or not all(isinstance(t, str) for t in tables)):
            raise InvalidInput("tables must be a list of table names")
        objects = body.get("objects")
        if objects is not None:
            if not isinstance(objects, str) or not objects:
                raise InvalidInput("objects must be the name of a table")
            if tables is not None and tables != [objects]:
                raise InvalidInput("objects and tables name different tables: give one of them")
            tables = [objects]
        filters, date_range = _filters(body.get("filters"))
        columns = _columns(body)
        export_files = _flag(body, "exportFiles")
        return cls(
            name=name.strip(),
            databases=databases,
            tables=tables,
            kind=MEDIA_TYPES[media_type],
            filters=filters,
            include_assets=_flag(body, "include_assets") or export_files,
            description=description,
            table_sets=table_sets,
            date_range=date_range,
            columns=columns,
            where=filter_from_where(body.get("where")),
            export_files=export_files,
            zip_files=_flag(body, "zipFiles"),
            archive=archive,
            media_type=media_type,
            medable={k: body[k] for k in ("objects", "paths", "include", "where") if k in body},
        )


def _one_of(body: dict[str, Any], ours: str, theirs: str, default: Any = None) -> Any:
    if ours in body and theirs in body and body[ours] != body[theirs]:
        raise InvalidInput(f"{ours} and {theirs} say different things: give one of them")
    return body.get(ours, body.get(theirs, default))


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false")
    return value


def _databases(given: list[str]) -> tuple[list[str], list[list[str] | None]]:
    """Ids in order, once each; `<id>:<table>` entries choose tables of their database."""
    chosen: dict[str, list[str] | None] = {}
    for entry in given:
        database_id, colon, table = entry.partition(":")
        if colon and not table:
            raise InvalidInput(f"{entry!r} names no table after ':' (use <databaseId>:<table>)")
        if not colon:
            chosen[database_id] = None
        elif database_id not in chosen or chosen[database_id] is not None:
            chosen[database_id] = [*(chosen.get(database_id) or []), table]
    return list(chosen), list(chosen.values())


def _filters(raw: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(per-table filters, the date range for every table or None)."""
    if raw is None:
        return {}, None
    if not isinstance(raw, dict):
        raise InvalidInput("filters must be an object")
    date_range = {k: raw[k] for k in DATE_KEYS if k in raw and not isinstance(raw[k], dict)}
    per_table = {k: v for k, v in raw.items() if k not in date_range}
    if not all(isinstance(v, dict) for v in per_table.values()):
        raise InvalidInput(
            "filters holds start_date and end_date (ISO 8601) for every table, or maps table names to filters,"
            ' e.g. {"start_date": "2024-01-01T00:00:00Z", "orders": {"total__gte": 10}}'
        )
    if date_range and not ({"start_date", "end_date"} & set(date_range)):
        raise InvalidInput("filters.date_column needs start_date or end_date")
    return per_table, date_range or None


def _columns(body: dict[str, Any]) -> list[str] | None:
    lists = []
    for name in ("paths", "include"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise InvalidInput(f"{name} must be a list of column names")
        lists.append(value)
    if not lists or (body.get("paths") is None and not body.get("include")):
        return None  # no paths: every column (include only adds to paths)
    return list(dict.fromkeys(c for names in lists for c in names)) or None


def filter_from_where(where: Any) -> dict[str, Any]:
    """Medable's `where` (a JSON string or object) as a records filter."""
    if where is None or where == "":
        return {}
    if isinstance(where, str):
        try:
            where = orjson.loads(where)
        except orjson.JSONDecodeError:
            raise InvalidInput('where must be a JSON object, e.g. {"total": {"$gte": 10}}') from None
    if not isinstance(where, dict):
        raise InvalidInput('where must be a JSON object, e.g. {"total": {"$gte": 10}}')
    result: dict[str, Any] = {}
    for column, condition in where.items():
        if column.startswith("$") or "__" in column:
            raise InvalidInput(f"where: {column!r} is not supported (conditions on columns only, all of them hold)")
        if not isinstance(condition, dict):
            result[f"{column}__isnull" if condition is None else column] = "true" if condition is None else condition
            continue
        for operator, value in condition.items():
            if operator == "$exists" and isinstance(value, bool):
                result[f"{column}__isnull"] = "false" if value else "true"
            elif operator == "$eq" and value is None:
                result[f"{column}__isnull"] = "true"
            elif operator in _WHERE_OPERATORS:
                result[column + _WHERE_OPERATORS[operator]] = value
            else:
                raise InvalidInput(
                    f"where: operator {operator!r} is not supported (use $eq, $gt, $gte, $lt, $lte or $exists)"
                )
    return result
