"""Which tables, columns and rows of a database an export job writes (its request as stored, a dict)."""

from __future__ import annotations

import sqlite3
from typing import Any

from airsequel.core.content.records import RecordFilter, add_date_range, parse_filter
from airsequel.core.errors import InvalidInput
from airsequel.core.sql.introspection import Table, read_tables
from airsequel.core.sql.script import quote_identifier


def selected_tables(conn: sqlite3.Connection, request: dict[str, Any], index: int) -> list[Table]:
    """The tables of the request's `index`-th database that the export writes."""
    chosen = (request.get("table_sets") or [None] * (index + 1))[index]
    wanted = request.get("tables")
    return [
        t for t in read_tables(conn) if (wanted is None or t.name in wanted) and (chosen is None or t.name in chosen)
    ]


def table_filter(table: Table, request: dict[str, Any]) -> RecordFilter:
    """The table's own filter, the filter on every table (Medable's where) and the date range, together."""
    result = parse_filter(table, request["filters"].get(table.name, {}))
    where = request.get("where") or {}
    if where:
        extra = parse_filter(table, where)
        result.conditions.extend(extra.conditions)
        result.params.extend(extra.params)
    date_range = request.get("date_range")
    if date_range:
        add_date_range(
            result, table, date_range.get("start_date"), date_range.get("end_date"), date_range.get("date_column")
        )
    return result


def column_list(table: Table, request: dict[str, Any]) -> str:
    """`*`, or the quoted columns the request names (each checked against the table)."""
    columns = request.get("columns")
    if not columns:
        return "*"
    missing = [c for c in columns if table.column(c) is None]
    if missing:
        raise InvalidInput(f"Table {table.name!r} has no column(s) {', '.join(map(repr, missing))} (paths, include)")
    return ", ".join(quote_identifier(c) for c in columns)


def check(conn: sqlite3.Connection, request: dict[str, Any], index: int, database_id: str) -> set[str]:
    """Refuse now what the job would fail on later; the names of the database's tables."""
    tables = read_tables(conn)
    names = {t.name for t in tables}
    chosen = (request.get("table_sets") or [None] * (index + 1))[index]
    missing = sorted(set(chosen or []) - names)
    if missing:
        raise InvalidInput(f"Database {database_id!r} has no table(s) {', '.join(map(repr, missing))}")
    for table in selected_tables(conn, request, index):
        table_filter(table, request)
        column_list(table, request)
    return names
