"""The data of the row page, the schema page and the table page's foreign-key links.

A row page shows one row of a table (by rowid, or by a key: see row_values.py), every column of it,
where its foreign keys lead (with the referenced row's label), and for every foreign key of every
table that points at this table the number of rows referencing this one and the first of them.
Everything is read in one read transaction under the SQL deadline, and bounded: counts stop at
COUNT_CAP, each list at REFERENCING_ROWS rows, each text at a fixed number of characters.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import orjson

from airsequel.core.auth.access import Action, Principal, authorize
from airsequel.core.content.row_values import Cell, ShownRow, actual_names, key_condition, read_rows
from airsequel.core.content.table_schemas import label_column, resolved_target_columns, schema_of
from airsequel.core.errors import NotFound
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.sql.introspection import ForeignKey, Table, read_tables
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.table_schema import find_table
from airsequel.core.storage.hosting import Hosting

COUNT_CAP = 10_000
REFERENCING_ROWS = 10
ROW_PAGE_CHARS = 100_000  # a row page shows a text this long whole; longer ones are cut, with their length
LIST_CHARS = 200  # in the lists of referencing rows


class Navigation(Protocol):
    def navigation(self, caller: Principal) -> dict[str, Any]: ...


class RowPages:
    def __init__(self, hosting: Hosting, pages: Navigation) -> None:
        self.hosting = hosting
        self.pages = pages

    def row(
        self, caller: Principal, record: DatabaseRecord, name: str, *, rowid: str | None, key: str | None
    ) -> dict[str, Any]:
        """One row and the rows that reference it; NotFound for an unknown table or row, InvalidInput
        for an address that names no single row."""
        authorize(caller, Action.READ, record)
        with self.hosting.read_snapshot(record) as conn:
            tables = read_tables(conn)
            table = _table(conn, tables, name)
            if table.is_view:
                raise NotFound(f"{name!r} is a view: its rows have no pages of their own")
            where, params = key_condition(table, rowid, key)
            found = read_rows(conn, table, where, params, limit=1, max_chars=ROW_PAGE_CHARS)
            if not found:
                raise NotFound(f"{name!r} has no such row")
            row = found[0]
            outgoing = [_outgoing(conn, tables, table, fk, row) for fk in table.foreign_keys]
            incoming = [
                _incoming(conn, other, fk, table, row)
                for other in tables
                for fk in other.foreign_keys
                if fk.target_table.lower() == table.name.lower()
            ]
        return {
            **self.pages.navigation(caller),
            "db": record,
            "table": table,
            "row": row,
            "named": f"row {rowid}" if rowid is not None else _named_by_key(key),
            "columns": [_column_info(table, column.name) for column in table.columns],
            "outgoing": {column: link for links in outgoing for column, link in links.items()},
            "incoming": incoming,
            "count_cap": COUNT_CAP,
        }

    def schema(self, caller: Principal, record: DatabaseRecord, name: str) -> dict[str, Any]:
        """The schema page: the CREATE statement, columns with their constraints, indexes, triggers,
        foreign keys both ways."""
        authorize(caller, Action.READ, record)
        with self.hosting.read_snapshot(record) as conn:
            tables = read_tables(conn, with_unreadable=True)
            table = find_table(conn, name, readable=False)
            schema = schema_of(conn, table, tables)
        return {**self.pages.navigation(caller), "db": record, "table": table, "schema": schema}

    def foreign_keys(self, caller: Principal, record: DatabaseRecord, name: str) -> dict[str, Any]:
        """The table's foreign keys as the table page links them: the columns, the referenced table and
        columns (a missing target list resolved to its primary key) and the label column chosen there;
        and the table's primary key (a WITHOUT ROWID table's rows are linked to their pages by it)."""
        authorize(caller, Action.READ, record)
        with self.hosting.read_snapshot(record) as conn:
            tables = read_tables(conn)
            table = _table(conn, tables, name)
            keys = []
            for fk in table.foreign_keys:
                target = _named(tables, fk.target_table)
                if target is None:
                    continue  # a key to a table that is not there links nowhere
                targets = resolved_target_columns(fk, target)
                if targets is None:
                    continue
                keys.append(
                    {
                        "columns": actual_names(table, fk.columns),
                        "table": target.name,
                        "targetColumns": targets,
                        "labelColumn": label_column(target, targets),
                    }
                )
        return {"foreignKeys": keys, "primaryKey": table.primary_key}


def _named_by_key(key: str | None) -> str:
    """How the page names a row found by its key (already checked): `id = 12`, `code = "jazz"`."""
    wanted = orjson.loads(key or "{}")
    return ", ".join(f"{name} = {orjson.dumps(value).decode()}" for name, value in wanted.items())


def _table(conn: sqlite3.Connection, tables: list[Table], name: str) -> Table:
    table = next((t for t in tables if t.name == name), None)
    return table if table is not None else find_table(conn, name)  # NotFound, or why it cannot be read


def _named(tables: list[Table], name: str) -> Table | None:
    return next((t for t in tables if t.name.lower() == name.lower()), None)


def _column_info(table: Table, name: str) -> dict[str, Any]:
    column = table.column(name)
    assert column is not None
    return {
        "name": name,
        "type": column.declared_type,
        "primary_key": bool(column.pk_position),
        "not_null": column.not_null,
        "generated": column.is_generated,
    }


def _key_json(columns: list[str], cells: list[Cell]) -> str:
    return quote(orjson.dumps(dict(zip(columns, (c.value for c in cells)))).decode(), safe="")


def _outgoing(
    conn: sqlite3.Connection, tables: list[Table], table: Table, fk: ForeignKey, row: ShownRow
) -> dict[str, dict[str, Any]]:
    """Where each column of a foreign key leads from this row: {column: {table, address, label}} (one
    entry per column of the key; none when a value is NULL or the target is not there)."""
    target = _named(tables, fk.target_table)
    columns = actual_names(table, fk.columns)
    cells = [row.cells[c] for c in columns if c in row.cells]
    if target is None or len(cells) != len(columns) or any(c.kind == "null" or c.cut for c in cells):
        return {}
    targets = resolved_target_columns(fk, target)
    if targets is None:
        return {}
    address = "key=" + _key_json(targets, cells)
    label_name = label_column(target, targets)
    label = None
    if label_name is not None:
        condition = " AND ".join(f"{quote_identifier(c)} = ?" for c in targets)
        found = conn.execute(
            f"SELECT substr({quote_identifier(label_name)}, 1, {LIST_CHARS}) FROM {quote_identifier(target.name)} "
            f"WHERE {condition} LIMIT 1",
            [c.value for c in cells],
        ).fetchone()
        label = None if found is None or found[0] is None else str(found[0])
    link = {"table": target.name, "address": address, "label": label}
    return dict.fromkeys(columns, link)


def _incoming(conn: sqlite3.Connection, other: Table, fk: ForeignKey, table: Table, row: ShownRow) -> dict[str, Any]:
    """The rows of `other` whose foreign key `fk` points at this row: how many (up to COUNT_CAP and
    a sign that there are more) and the first REFERENCING_ROWS of them."""
    columns = actual_names(other, fk.columns)
    entry: dict[str, Any] = {"table": other.name, "columns": columns, "count": 0, "more": False, "rows": []}
    targets = resolved_target_columns(fk, table)
    entry["target_columns"] = targets
    if targets is None or any(t not in row.cells for t in targets):
        return entry
    cells = [row.cells[t] for t in targets]
    if any(c.kind == "null" or c.cut or c.kind == "blob" for c in cells):
        return entry
    values = [c.value for c in cells]
    where = " AND ".join(f"{quote_identifier(c)} = ?" for c in columns)
    counted = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {quote_identifier(other.name)} WHERE {where} LIMIT {COUNT_CAP + 1})",
        values,
    ).fetchone()[0]
    entry["count"] = min(counted, COUNT_CAP)
    entry["more"] = counted > COUNT_CAP
    # The table page's address of these rows: its filters are `eq:<column>=<value>`.
    entry["filter"] = urlencode({f"eq:{column}": str(value) for column, value in zip(columns, values)})
    entry["rows"] = read_rows(conn, other, where, values, limit=REFERENCING_ROWS, max_chars=LIST_CHARS)
    entry["column_names"] = [c.name for c in other.columns]
    return entry
