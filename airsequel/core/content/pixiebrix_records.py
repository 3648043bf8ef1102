"""PixieBrix's records endpoint, `GET /api/databases/:databaseId/records/`, on hosted databases.

A PixieBrix database is one table of a hosted database: its database id alone when the database holds
one table (views aside), else `<databaseId>:<table>` or the database id with `?table=<table>`. A record is
`{"id": <rowid or primary key>, "data": {<column>: <value>, ...}, "created_at": ..., "updated_at": ...}`;
`created_at` is the table's date column (record_dates), `updated_at` its `updated_at` column, else null.

Query parameters: `data__<field>=value` (exact), `data__<field>__isnull=true|false` (and `__gte`, `__lte`,
`__gt`, `__lt`), `start_date`/`end_date` (a day or an ISO 8601 timestamp, inclusive) on the date column
(`date_column=` names another), `page` (from 1) and `page_size` (at most the records_max_rows setting,
10,000 by default, which is also the default). Any other parameter is a 400. Pages are in key order.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from airsequel.core.auth.access import Action, Principal, PrincipalKind, authorize, is_server_admin, may
from airsequel.core.content.record_dates import UPDATED_AT, date_column
from airsequel.core.content.records import RecordFilter, add_condition, add_date_range, rows_in_key_order
from airsequel.core.errors import CoreError, InvalidInput, NotAuthenticated, NotFound
from airsequel.core.integer_text import parse_count
from airsequel.core.sql.introspection import Table, read_tables
from airsequel.core.sql.runner import json_cell
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.table_schema import find_table
from airsequel.core.storage.hosting import Hosting

PARAMETERS = {"page", "page_size", "start_date", "end_date", "date_column", "table"}
DATA_PREFIX = "data__"
OPERATORS = ("isnull", "gte", "lte", "gt", "lt")


@dataclass
class PixieBrixPage:
    count: int  # records that match, on every page
    page: int
    page_size: int
    columns: list[str]
    rows: list[tuple[Any, ...]]
    records: list[dict[str, Any]]  # the rows as PixieBrix records, JSON-ready

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.count


def split_database_id(database: str) -> tuple[str, str | None]:
    """`<databaseId>` or `<databaseId>:<table>` → (database id, table or None)."""
    database_id, colon, table = database.partition(":")
    if colon and not table:
        raise InvalidInput(f"{database!r} names no table after ':' (use <databaseId>:<table>)")
    return database_id, table if colon else None


def choose_table(conn: sqlite3.Connection, database_id: str, table: str | None) -> Table:
    """The table a PixieBrix database id stands for: the one named, or the database's only table."""
    if table is not None:
        return find_table(conn, table)
    tables = read_tables(conn)
    candidates = [t for t in tables if not t.is_view] or tables
    if len(candidates) == 1:
        return find_table(conn, candidates[0].name)
    if not candidates:
        raise InvalidInput(f"Database {database_id!r} holds no table")
    names = ", ".join(repr(t.name) for t in candidates[:10]) + (", ..." if len(candidates) > 10 else "")
    raise InvalidInput(
        f"Database {database_id!r} holds {len(candidates)} tables ({names}): choose one with"
        f" ?table=<table> or the id {database_id}:<table>"
    )


def pixiebrix_filter(table: Table, pairs: list[tuple[str, str]]) -> RecordFilter:
    result = RecordFilter()
    values = dict(pairs)
    for key, value in pairs:
        if key in PARAMETERS:
            continue
        if not key.startswith(DATA_PREFIX):
            raise InvalidInput(
                f"Unknown query parameter {key!r}: filter with data__<field>=value or data__<field>__isnull=true;"
                f" the others are {', '.join(sorted(PARAMETERS))}"
            )
        field, operator = key[len(DATA_PREFIX) :], ""
        if table.column(field) is None and "=" in field and value == "":
            field, value = field.split("=", 1)  # `data__user%20email%3Ddavid%40...`: the '=' sent encoded
        base, separator, suffix = field.rpartition("__")
        if table.column(field) is None and separator and suffix in OPERATORS:
            field, operator = base, suffix
        add_condition(result, table, field, operator, value, key)
    start, end = values.get("start_date"), values.get("end_date")
    if start is not None or end is not None:
        add_date_range(result, table, start, end, values.get("date_column") or None)
    elif "date_column" in values:
        date_column(table, values["date_column"])  # checked all the same
    return result


def _whole_number(pairs: dict[str, str], name: str, default: int, most: int | None = None) -> int:
    raw = pairs.get(name)
    if raw is None:
        return default
    number = parse_count(raw)
    if number is None or number < 1 or (most is not None and number > most):
        bound = f"from 1 to {most:,}" if most is not None else "of 1 or more"
        raise InvalidInput(f"{name} must be a whole number {bound}")
    return number


def pixiebrix_page(hosting: Hosting, caller: Principal, database: str, pairs: list[tuple[str, str]]) -> PixieBrixPage:
    database_id, table_in_id = split_database_id(database)
    record = hosting.get(database_id)
    authorize(caller, Action.READ, record)
    values = dict(pairs)
    table_param = values.get("table")
    if table_in_id is not None and table_param is not None and table_param != table_in_id:
        raise InvalidInput(f"The id names table {table_in_id!r} and ?table= names {table_param!r}: name one")
    most = hosting.live.current.records_max_rows
    page_size = _whole_number(values, "page_size", most, most)
    page = _whole_number(values, "page", 1)
    with hosting.read_snapshot(record) as conn:
        table = choose_table(conn, database_id, table_in_id or table_param)
        record_filter = pixiebrix_filter(table, pairs)
        where = f" WHERE {record_filter.sql}" if record_filter.conditions else ""
        count = conn.execute(
            f"SELECT count(*) FROM {quote_identifier(table.name)}{where}", record_filter.params
        ).fetchone()[0]
        if page > 1 and (page - 1) * page_size >= count:
            raise NotFound(f"Invalid page: page {page} is past the last page ({max(1, -(-count // page_size))})")
        columns, keys, rows = rows_in_key_order(conn, table, record_filter, page_size, (page - 1) * page_size)
    return PixieBrixPage(count, page, page_size, columns, rows, _records(table, columns, keys, rows))


def _records(
    table: Table, columns: list[str], keys: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    try:
        created = date_column(table).name
    except CoreError:
        created = None
    updated = UPDATED_AT if table.column(UPDATED_AT) is not None else None
    records = []
    for key, row in zip(keys, rows, strict=True):
        data = {c: json_cell(v) for c, v in zip(columns, row, strict=True)}
        records.append(
            {
                "id": json_cell(key[0]) if len(key) == 1 else [json_cell(k) for k in key],
                "data": data,
                "created_at": data.get(created) if created else None,
                "updated_at": data.get(updated) if updated else None,
            }
        )
    return records


def organization_databases(hosting: Hosting, caller: Principal, team: str) -> list[dict[str, Any]]:
    """GET /api/organizations/:organizationId/databases/: the team's databases the caller may read, as
    PixieBrix databases (one entry per table of a database that holds several, its id `<databaseId>:<table>`)."""
    if caller.kind not in (PrincipalKind.USER, PrincipalKind.TOKEN):
        raise NotAuthenticated("Log in or send an API token to list an organization's databases")
    records, _ = hosting.control.list_databases(owners=[team])
    readable = [
        r
        for r in records
        if may(caller, Action.READ, r)
        and (caller.kind == PrincipalKind.USER or caller.token_permissions.get(r.file_key) in ("read", "write"))
    ]
    member = caller.kind == PrincipalKind.USER and (
        bool(caller.roles_in(team))
        or (is_server_admin(caller) and bool(hosting.control.query("SELECT 1 FROM teams WHERE name = ?", (team,))))
    )
    if not member and not readable:  # its members' (a token: those databases of it the token reads)
        raise NotFound(f"Organization {team!r} does not exist")
    listed = []
    for record in readable:
        with hosting.read_snapshot(record) as conn:
            tables = read_tables(conn)
        base = [t for t in tables if not t.is_view] or tables
        entry = {"organization": record.owner, "created_at": record.created_utc, "updated_at": record.last_modified_utc}
        if len(base) == 1:
            listed.append({"id": record.id, "name": record.name, "table": base[0].name, **entry})
        else:
            listed += [
                {"id": f"{record.id}:{t.name}", "name": f"{record.name}: {t.name}", "table": t.name, **entry}
                for t in base
            ]
    return listed
