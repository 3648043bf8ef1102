"""A table's schema as the schema page shows it: its CREATE statement, its columns with their types
and constraints, its indexes and triggers, and its foreign keys both ways (the tables it references,
the tables that reference it). Read with SQLite's own introspection inside the caller's read
transaction; also which column labels a referenced row (a TEXT column named name, title, label...)."""

from __future__ import annotations

import sqlite3
from typing import Any

from airsequel.core.sql.constraints import read_constraints
from airsequel.core.sql.introspection import ForeignKey, Table
from airsequel.core.sql.value_kinds import ValueKind, column_kind

# Column names that say "this is what the row is called", best first.
LABEL_NAMES = ("name", "title", "label", "display_name", "full_name", "username", "email", "slug")


def label_column(table: Table, key_columns: list[str]) -> str | None:
    """The column that names a row of `table`, where one is obvious: a TEXT (or untyped) column
    called name, title, label, ... that is not the key itself."""
    by_name = {c.name.lower(): c for c in table.columns if c.name not in key_columns}
    for wanted in LABEL_NAMES:
        column = by_name.get(wanted)
        if column is not None and column_kind(column.declared_type) in (ValueKind.STRING, ValueKind.UNTYPED):
            return column.name
    return None


def resolved_target_columns(fk: ForeignKey, target: Table) -> list[str] | None:
    """The referenced columns as `target` names them (a key without a column list references the
    primary key); None when they do not fit the key (SQLite calls that a foreign key mismatch)."""
    if all(c is not None for c in fk.target_columns):
        folded = {c.name.lower(): c.name for c in target.columns}
        names = [folded[c.lower()] for c in fk.target_columns if c is not None and c.lower() in folded]
        return names if len(names) == len(fk.columns) else None
    key = target.primary_key
    return key if len(key) == len(fk.columns) else None


def schema_of(conn: sqlite3.Connection, table: Table, tables: list[Table]) -> dict[str, Any]:
    unique_single = {s[0] for s in table.unique_column_sets if len(s) == 1}
    primary_key = table.primary_key
    constraints = None if table.is_view or table.is_virtual else read_constraints(table.sql)
    return {
        "sql": table.sql,
        "type": table.table_type,
        "without_rowid": table.without_rowid,
        "rowid": table.rowid_name,
        "unreadable": table.unreadable,
        "columns": [
            {
                "name": c.name,
                "type": c.declared_type,
                "not_null": c.not_null,
                "default": c.default,
                "primary_key": c.pk_position if len(primary_key) > 1 else bool(c.pk_position),
                "unique": c.name in unique_single or primary_key == [c.name],
                "generated": {2: "virtual", 3: "stored"}.get(c.hidden),
            }
            for c in table.columns
        ],
        "checks": [check.predicate for check in constraints.checks] if constraints else [],
        "indexes": [] if table.is_view else _indexes(conn, table.name),
        "triggers": [
            {"name": name, "sql": sql}
            for name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND lower(tbl_name) = lower(?) "
                "ORDER BY name",
                (table.name,),
            )
        ],
        "references": [_reference(fk, _named(tables, fk.target_table)) for fk in table.foreign_keys],
        "referenced_by": [
            {
                "table": other.name,
                "columns": fk.columns,
                "target_columns": resolved_target_columns(fk, table) or [c or "?" for c in fk.target_columns],
                "on_update": fk.on_update,
                "on_delete": fk.on_delete,
            }
            for other in tables
            for fk in other.foreign_keys
            if fk.target_table.lower() == table.name.lower()
        ],
    }


def _named(tables: list[Table], name: str) -> Table | None:
    return next((t for t in tables if t.name.lower() == name.lower()), None)


def _reference(fk: ForeignKey, target: Table | None) -> dict[str, Any]:
    resolved = resolved_target_columns(fk, target) if target is not None else None
    return {
        "table": target.name if target is not None else fk.target_table,
        "exists": target is not None,
        "columns": fk.columns,
        "target_columns": resolved or [c or "(primary key)" for c in fk.target_columns],
        "on_update": fk.on_update,
        "on_delete": fk.on_delete,
    }


ORIGINS = {"c": "CREATE INDEX", "u": "UNIQUE constraint", "pk": "PRIMARY KEY"}


def _indexes(conn: sqlite3.Connection, name: str) -> list[dict[str, Any]]:
    indexes = []
    for index_name, unique, origin, partial in conn.execute(
        'SELECT name, "unique", origin, partial FROM pragma_index_list(?) ORDER BY name', (name,)
    ):
        columns = [
            column if column is not None else "(expression)"
            for (column,) in conn.execute(
                "SELECT name FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno", (index_name,)
            )
        ]
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index_name,)).fetchone()
        indexes.append(
            {
                "name": index_name,
                "unique": bool(unique),
                "origin": ORIGINS.get(origin, origin),
                "partial": bool(partial),
                "columns": columns,
                "sql": sql[0] if sql else None,
            }
        )
    return indexes
