"""Filtered record listing with keyset pagination (the PixieBrix "records" API).

Filters: `column=value`, `column__isnull=true|false`, `column__gte|__lte|__gt|__lt=value`, and
`start_date`/`end_date` (YYYY-MM-DD, inclusive) on the column named by `date_column`. Every value is a
bound parameter; every column is checked against the table. Pages follow the rowid (or primary key),
so a cursor stays valid while rows are inserted.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from airsequel.core.errors import InvalidInput
from airsequel.core.integer_text import parse_count, parse_integer
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.sql.introspection import Column, Table
from airsequel.core.sql.runner import bindable
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.table_schema import find_table
from airsequel.core.sql.value_kinds import ValueKind, column_kind
from airsequel.core.storage.hosting import Hosting

RESERVED = {"limit", "next", "start_date", "end_date", "date_column"}
_OPERATORS = {"gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}
_REAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")  # a SQL real literal


@dataclass
class RecordFilter:
    conditions: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions)


def parse_filter(table: Table, pairs: list[tuple[str, str]] | dict[str, Any]) -> RecordFilter:
    """Filters from query-string pairs (or a dict, as export jobs send them)."""
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    result = RecordFilter()
    values = dict(items)
    for key, value in items:
        if key in RESERVED:
            continue
        column, _, operator = key.partition("__")
        found = _check_column(table, column)
        quoted = quote_identifier(column)
        if operator != "isnull" and (value is None or not bindable(value)):
            raise InvalidInput(
                f"{key} must be a string, a number SQLite can hold or a boolean (for NULL use {column}__isnull=true)"
            )
        if not operator:
            result.conditions.append(f"{quoted} = ?")
            result.params.append(_comparable(found, value))
        elif operator == "isnull":
            flag = str(value).lower()
            if flag not in ("true", "false"):
                raise InvalidInput(f"{key} must be true or false")
            result.conditions.append(f"{quoted} IS {'' if flag == 'true' else 'NOT '}NULL")
        elif operator in _OPERATORS:
            result.conditions.append(f"{quoted} {_OPERATORS[operator]} ?")
            result.params.append(_comparable(found, value))
        else:
            raise InvalidInput(
                f"Unknown filter operator {operator!r} in {key!r}: use __isnull, __gte, __lte, __gt or __lt"
            )
    start, end = values.get("start_date"), values.get("end_date")
    if start is not None or end is not None:
        date_column = values.get("date_column")
        if not date_column:
            raise InvalidInput("start_date and end_date need date_column=<column>")
        _check_column(table, str(date_column))
        quoted = quote_identifier(str(date_column))
        if start is not None:
            result.conditions.append(f"{quoted} >= ?")
            result.params.append(_day(start, "start_date").isoformat())
        if end is not None:
            last = _day(end, "end_date")
            # Compared as text, the next day's ISO string bounds every time of the last day; 9999-12-31
            # has no next day, but '9999-12-32' sorts where it would.
            result.conditions.append(f"{quoted} < ?")
            result.params.append((last + timedelta(days=1)).isoformat() if last < date.max else "9999-12-32")
    return result


def _check_column(table: Table, column: str) -> Column:
    found = table.column(column)
    if found is None:
        raise InvalidInput(f"Unknown column {column!r} in table {table.name!r}")
    return found


def _comparable(column: Column, value: Any) -> Any:
    """A query-string value as SQLite would compare it. Typed columns convert it themselves (affinity); a
    column declared without a type (or as BLOB) does not, so '1' would never equal the 1 stored there:
    numbers are bound as numbers for those columns, as NUMERIC affinity would convert them."""
    if not isinstance(value, str) or column_kind(column.declared_type) not in (ValueKind.UNTYPED, ValueKind.BLOB):
        return value
    number = parse_integer(value)
    if number is not None:
        return number
    return float(value) if _REAL.fullmatch(value) else value


def _day(value: Any, name: str) -> date:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2024-01-31") from None


def page_limit(raw: str | None, most: int) -> int:
    if raw is None:
        return most
    limit = parse_count(raw)
    if limit is None or not 1 <= limit <= most:
        raise InvalidInput(f"limit must be a whole number from 1 to {most}")
    return limit


def key_columns(table: Table) -> list[str]:
    """What pages follow: the rowid, or the primary key of a WITHOUT ROWID table."""
    if table.rowid_name:
        return [table.rowid_name]
    if table.primary_key:
        return [quote_identifier(c) for c in table.primary_key]
    raise InvalidInput(f"{table.name!r} has neither a rowid nor a primary key to page by")


def encode_cursor(values: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise InvalidInput("The next cursor is not valid: pass the value a previous page returned") from None
    if not isinstance(values, list) or len(values) != width:
        raise InvalidInput("The next cursor is not valid: pass the value a previous page returned")
    return values


def fetch_page(
    conn: sqlite3.Connection, table: Table, record_filter: RecordFilter, limit: int, cursor: str | None
) -> tuple[list[str], list[tuple[Any, ...]], str | None]:
    """(column names, rows, next cursor or None)."""
    keys = key_columns(table)
    conditions, params = list(record_filter.conditions), list(record_filter.params)
    if cursor:
        after = decode_cursor(cursor, len(keys))
        conditions.append(f"({', '.join(keys)}) > ({', '.join('?' for _ in keys)})")
        params.extend(after)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = f"SELECT {', '.join(keys)}, * FROM {quote_identifier(table.name)}{where} ORDER BY {', '.join(keys)} LIMIT ?"
    cur = conn.execute(sql, [*params, limit + 1])
    columns = [d[0] for d in cur.description][len(keys) :]
    raw = cur.fetchall()
    more = len(raw) > limit
    raw = raw[:limit]
    next_cursor = encode_cursor(tuple(raw[-1][: len(keys)])) if more and raw else None
    return columns, [tuple(row[len(keys) :]) for row in raw], next_cursor


class Records:
    """Pages of a table's rows, filtered as the records API says, from one read snapshot."""

    def __init__(self, hosting: Hosting) -> None:
        self.hosting = hosting

    def page(
        self,
        record: DatabaseRecord,
        table_name: str,
        filters: list[tuple[str, str]],
        limit_text: str | None,
        cursor: str | None,
    ) -> tuple[list[str], list[tuple[Any, ...]], str | None]:
        """(columns, rows, the next page's cursor or None)."""
        limit = page_limit(limit_text, self.hosting.live.current.records_max_rows)
        with self.hosting.read_snapshot(record) as conn:
            table = find_table(conn, table_name)
            return fetch_page(conn, table, parse_filter(table, filters), limit, cursor)
