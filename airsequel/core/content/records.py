"""Filtered record listing with keyset pagination (the PixieBrix "records" API).

Filters: `column=value`, `column__isnull=true|false`, `column__gte|__lte|__gt|__lt=value`, and
`start_date`/`end_date` (a day or an ISO 8601 timestamp, inclusive) on the table's date column
(record_dates: `date_column`, else `created_at`, else its one date or time column). Every value is a
bound parameter; every column is checked against the table. Pages follow the rowid (or primary key),
so a cursor stays valid while rows are inserted. PixieBrix's own records endpoint is pixiebrix_records.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from airsequel.core.auth.access import Principal
from airsequel.core.content.record_dates import date_column, range_conditions
from airsequel.core.errors import InvalidInput
from airsequel.core.integer_text import parse_count, parse_integer
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.sql.introspection import Column, Table
from airsequel.core.sql.runner import bindable
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.table_schema import find_table
from airsequel.core.sql.value_kinds import ValueKind, column_kind
from airsequel.core.storage.hosting import Hosting

if TYPE_CHECKING:
    from airsequel.core.content.pixiebrix_records import PixieBrixPage

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
        add_condition(result, table, column, operator, value, key)
    start, end = values.get("start_date"), values.get("end_date")
    if start is not None or end is not None:
        explicit = values.get("date_column")
        add_date_range(result, table, start, end, str(explicit) if explicit else None)
    return result


def add_condition(result: RecordFilter, table: Table, column: str, operator: str, value: Any, key: str) -> None:
    """`column` compared with `value` by `operator` ('' is equality, or isnull, gte, lte, gt, lt)."""
    found = _check_column(table, column)
    quoted = quote_identifier(column)
    if operator != "isnull" and (value is None or not bindable(value)):
        raise InvalidInput(
            f"{key} must be a string, a number SQLite can hold or a boolean (for NULL use {key}__isnull=true)"
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
        raise InvalidInput(f"Unknown filter operator {operator!r} in {key!r}: use __isnull, __gte, __lte, __gt or __lt")


def add_date_range(result: RecordFilter, table: Table, start: Any, end: Any, explicit: str | None) -> None:
    """start_date/end_date on the table's date column (record_dates: named, created_at, or the one date column)."""
    column = date_column(table, explicit)
    for bound in range_conditions(column.name, start, end):
        result.conditions.append(bound.sql)
        result.params.extend(bound.params)


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
    columns, found, rows = rows_in_key_order(conn, table, RecordFilter(conditions, params), limit + 1)
    more = len(rows) > limit
    return columns, rows[:limit], encode_cursor(found[limit - 1]) if more else None


def rows_in_key_order(
    conn: sqlite3.Connection, table: Table, record_filter: RecordFilter, limit: int, offset: int = 0
) -> tuple[list[str], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(column names, each row's key values, the rows): at most `limit` rows after `offset`, in key order."""
    keys = key_columns(table)
    source = quote_identifier(table.name)
    where = f" WHERE {record_filter.sql}" if record_filter.conditions else ""
    order = f" ORDER BY {', '.join(keys)}"
    window = [*record_filter.params, limit, offset]
    if len(table.columns) + len(keys) <= conn.getlimit(sqlite3.SQLITE_LIMIT_COLUMN):
        cur = conn.execute(f"SELECT {', '.join(keys)}, * FROM {source}{where}{order} LIMIT ? OFFSET ?", window)
        raw = cur.fetchall()
        columns = [d[0] for d in cur.description][len(keys) :]
        return columns, [tuple(row[: len(keys)]) for row in raw], [tuple(row[len(keys) :]) for row in raw]
    # A table as wide as SQLite's result allows has no room for the keys beside `*`: the keys first, then
    # the rows between the first and the last of them (in the same snapshot, so the same rows).
    found = [
        tuple(row)
        for row in conn.execute(f"SELECT {', '.join(keys)} FROM {source}{where}{order} LIMIT ? OFFSET ?", window)
    ]
    columns = [d[0] for d in conn.execute(f"SELECT * FROM {source} LIMIT 0").description]
    if not found:
        return columns, [], []
    marks = ", ".join("?" for _ in keys)
    between = f"({', '.join(keys)}) >= ({marks}) AND ({', '.join(keys)}) <= ({marks})"
    rows = conn.execute(
        f"SELECT * FROM {source} WHERE {' AND '.join([*record_filter.conditions, between])}{order}",
        [*record_filter.params, *found[0], *found[-1]],
    ).fetchall()
    return columns, found, [tuple(row) for row in rows]


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

    def pixiebrix_page(self, caller: Principal, database: str, pairs: list[tuple[str, str]]) -> PixieBrixPage:
        """A page of GET /api/databases/:databaseId/records/ (pixiebrix_records, which builds on this module)."""
        from airsequel.core.content.pixiebrix_records import pixiebrix_page

        return pixiebrix_page(self.hosting, caller, database, pairs)

    def organization_databases(self, caller: Principal, team: str) -> list[dict[str, Any]]:
        """GET /api/organizations/:organizationId/databases/, the organization being a team (pixiebrix_records)."""
        from airsequel.core.content.pixiebrix_records import organization_databases

        return organization_databases(self.hosting, caller, team)
