"""What the model is told of a database: its tables and views, their columns with types and
constraints, and their foreign keys. Never row data, unless the operator allows a few sample rows
per table (`llm_sample_rows`). The text is cut to fit the prompt's size limit, and says so."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import orjson

from airsequel.core.sql.introspection import Table, read_tables
from airsequel.core.sql.script import quote_identifier

MAX_SAMPLE_CELL = 200


def column_line(table: Table, index: int) -> str:
    column = table.columns[index]
    parts = [f"  {column.name} {column.declared_type or '(untyped)'}"]
    if column.pk_position:
        parts.append("PRIMARY KEY" if sum(1 for c in table.columns if c.pk_position) == 1 else "part of PRIMARY KEY")
    if column.not_null:
        parts.append("NOT NULL")
    if column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    for key in table.foreign_keys:
        if column.name in key.columns:
            target = key.target_columns[key.columns.index(column.name)]
            parts.append(f"REFERENCES {key.target_table}({target or 'its primary key'})")
    if column.hidden in (2, 3):
        parts.append("GENERATED")
    return " ".join(parts)


def table_text(table: Table, samples: list[str]) -> str:
    kind = "View" if table.kind == "view" else ("Table (WITHOUT ROWID)" if table.without_rowid else "Table")
    lines = [f"{kind} {table.name}:"]
    lines += [column_line(table, i) for i in range(len(table.columns)) if table.columns[i].hidden != 1]
    if samples:
        lines.append(f"  sample rows ({len(samples)}):")
        lines += [f"    {row}" for row in samples]
    return "\n".join(lines)


def _cell(value: object) -> object:
    if isinstance(value, bytes):
        return f"<BLOB of {len(value)} bytes>"
    if isinstance(value, str) and len(value) > MAX_SAMPLE_CELL:
        return value[:MAX_SAMPLE_CELL] + "…"
    return value


def sample_rows(conn: sqlite3.Connection, table: Table, count: int) -> list[str]:
    if count <= 0:
        return []
    cursor = conn.execute(f"SELECT * FROM {quote_identifier(table.name)} LIMIT {int(count)}")
    names = [d[0] for d in cursor.description]
    return [orjson.dumps(dict(zip(names, map(_cell, row), strict=True))).decode() for row in cursor.fetchall()]


def schema_text(
    conn: sqlite3.Connection, *, sample_count: int, max_chars: int, only: Iterable[str] | None = None
) -> str:
    """The schema of the database open on `conn` (tables named in `only`, or all), at most
    `max_chars` long: the tables that do not fit are named at the end."""
    wanted = set(only) if only is not None else None
    tables = [t for t in read_tables(conn) if wanted is None or t.name in wanted]
    texts: list[str] = []
    size = 0
    for position, table in enumerate(tables):
        samples = sample_rows(conn, table, sample_count) if table.kind != "view" else []
        text = table_text(table, samples)
        if size + len(text) + 2 > max_chars:
            left = [t.name for t in tables[position:]]
            texts.append(f"(shortened to fit: {len(left)} more table(s) not described: {', '.join(left)})"[:max_chars])
            break
        texts.append(text)
        size += len(text) + 2
    return "\n\n".join(texts) if texts else "(the database has no tables yet)"
