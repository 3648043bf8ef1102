"""Rows of a hosted table as the row and schema pages show them: each cell capped while it is read
(a long text is cut in SQL, a BLOB is only measured), each row with the address of its row page.

A row is addressed by its rowid, or for a WITHOUT ROWID table (or wherever a key is wanted) by a
key: a JSON object naming the columns of the primary key or of a UNIQUE index and their values,
so that it names one row at most."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from airsequel.core.errors import InvalidInput
from airsequel.core.integer_text import fits_sqlite_integer, parse_integer
from airsequel.core.sql.introspection import Table
from airsequel.core.sql.script import quote_identifier

# SQLite returns at most 2,000 columns; each cell takes three (its type, its length, its capped value).
COLUMNS_PER_READ = 600


@dataclass
class Cell:
    """A value as a page shows it: `text` (capped), its SQLite type, and how long the whole value is."""

    text: str
    kind: str  # "null", "integer", "real", "text", "blob"
    length: int = 0
    cut: bool = False
    value: Any = None  # the value itself for numbers and whole texts (keys and links are built from it)


@dataclass
class ShownRow:
    cells: dict[str, Cell]
    address: str | None  # the query string of its row page (`rowid=12` or `key=...`), None when it has none
    extra: dict[str, Any] = field(default_factory=dict)


def actual_name(table: Table, name: str) -> str | None:
    """The column `name` as the table spells it (SQLite's names are case-insensitive), or None."""
    return next((c.name for c in table.columns if c.name.lower() == name.lower()), None)


def actual_names(table: Table, names: list[str]) -> list[str]:
    """`names` as the table spells them (a foreign key may spell its columns otherwise); unknown ones as given."""
    return [actual_name(table, name) or name for name in names]


def row_address(table: Table, rowid: Any, cells: dict[str, Cell]) -> str | None:
    if table.rowid_name is not None and isinstance(rowid, int):
        return f"rowid={rowid}"
    key = table.primary_key
    if not key or any(cells[c].kind not in ("integer", "real", "text") or cells[c].cut for c in key):
        return None
    return "key=" + quote(orjson.dumps({c: cells[c].value for c in key}).decode(), safe="")


def key_condition(table: Table, rowid: str | None, key: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of the row `?rowid=` or `?key=` names; a clear 400 when
    neither or both are given, or when the key does not name one row at most."""
    if (rowid is None) == (key is None):
        raise InvalidInput("Name one row: ?rowid=<number>, or ?key=<JSON object of its key columns and values>")
    if rowid is not None:
        number = parse_integer(rowid)
        if table.rowid_name is None:
            raise InvalidInput(f"{table.name!r} has no rowid: name its row by ?key= (its primary key)")
        if number is None:
            raise InvalidInput(f"The rowid must be a whole number, not {rowid!r}")
        return f"{table.rowid_name} = ?", [number]
    assert key is not None
    try:
        wanted = orjson.loads(key)
    except orjson.JSONDecodeError:
        raise InvalidInput('The key must be a JSON object, e.g. {"id": 12}') from None
    if not isinstance(wanted, dict) or not wanted:
        raise InvalidInput('The key must be a JSON object of column names and values, e.g. {"id": 12}')
    unknown = [name for name in wanted if actual_name(table, name) is None]
    if unknown:
        raise InvalidInput(f"{table.name!r} has no column {unknown[0]!r}")
    unique_sets = [table.primary_key, *table.unique_column_sets]
    if not any(s and {c.lower() for c in s} <= {c.lower() for c in wanted} for s in unique_sets):
        raise InvalidInput(
            f"The key's columns must hold the primary key or a UNIQUE index of {table.name!r}, so that it names one row"
        )
    for name, value in wanted.items():
        if value is not None and not isinstance(value, int | float | str):
            raise InvalidInput(f"The key's value of {name!r} must be a number or a text")
        if isinstance(value, int) and not fits_sqlite_integer(value):
            raise InvalidInput(f"The key's value of {name!r} is too large for SQLite (64-bit integers)")
    if any(value is None for value in wanted.values()):
        return "0", []  # NULL equals nothing: no row
    return " AND ".join(f"{quote_identifier(name)} = ?" for name in wanted), list(wanted.values())


def read_rows(
    conn: sqlite3.Connection, table: Table, where: str, params: list[Any], *, limit: int, max_chars: int
) -> list[ShownRow]:
    """At most `limit` rows of `table` matching `where`, in rowid (or primary key) order, each text cut
    at `max_chars` characters. Wide tables are read a slice of columns at a time, each slice in the
    same order within the caller's read transaction, so the slices line up."""
    names = [c.name for c in table.columns]
    rowid = table.rowid_name
    order = rowid or ", ".join(quote_identifier(c) for c in table.primary_key) or "rowid"
    tail = f"FROM {quote_identifier(table.name)} WHERE {where} ORDER BY {order} LIMIT {int(limit)}"
    rows: list[dict[str, Cell]] = []
    keys: list[Any] = []
    for start in range(0, max(1, len(names)), COLUMNS_PER_READ):
        part = names[start : start + COLUMNS_PER_READ]
        expressions = [_cell_expressions(quote_identifier(n), max_chars) for n in part]
        first = start == 0
        if first:
            expressions.insert(0, rowid or "NULL")
        fetched = conn.execute(f"SELECT {', '.join(expressions)} {tail}", params).fetchall()
        if first:
            keys = [raw[0] for raw in fetched]
            rows = [{} for _ in fetched]
            fetched = [raw[1:] for raw in fetched]
        for target, raw in zip(rows, fetched):
            for i, name in enumerate(part):
                target[name] = _cell(raw[3 * i], raw[3 * i + 1], raw[3 * i + 2], max_chars)
    return [ShownRow(cells, row_address(table, key, cells)) for key, cells in zip(keys, rows)]


def _cell_expressions(column: str, max_chars: int) -> str:
    return (
        f"typeof({column}), length({column}), "
        f"CASE typeof({column}) WHEN 'blob' THEN NULL WHEN 'text' THEN substr({column}, 1, {int(max_chars)}) "
        f"ELSE {column} END"
    )


def _cell(kind: str, length: int | None, value: Any, max_chars: int) -> Cell:
    if kind == "null":
        return Cell("NULL", kind)
    if kind == "blob":
        return Cell(f"BLOB, {length:,} bytes", kind, length or 0)
    if isinstance(value, bytes):  # text that is not UTF-8
        value = value.decode("utf-8", errors="replace")
    if kind == "text":
        cut = (length or 0) > max_chars
        return Cell(str(value), kind, length or 0, cut, None if cut else value)
    return Cell(str(value), kind, len(str(value)), False, value)
