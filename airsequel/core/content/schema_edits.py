"""Schema edits without SQL, each one whole operation: the change to the hosted file, the table and
column metadata it implies (descriptions, order; kept in the control plane, never in the user's
file) and its audit entry, committed together (see Hosting.write_transaction)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from airsequel.core.admin.audit import AuditEntry
from airsequel.core.auth.access import Principal
from airsequel.core.content.tables import Tables
from airsequel.core.errors import Conflict, InvalidInput, NotFound
from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.sql import table_schema
from airsequel.core.sql.table_schema import ColumnSpec
from airsequel.core.storage.hosting import Hosting

Metadata = Callable[[ControlConnection], None]
UNCHANGED: Any = ...  # a field the request did not name


class SchemaEdits:
    def __init__(self, hosting: Hosting, tables: Tables) -> None:
        self.hosting = hosting
        self.tables = tables
        self.control = hosting.control

    def create_table(
        self, record: DatabaseRecord, actor: Principal, name: str, columns: list[ColumnSpec] | None, description: Any
    ) -> dict[str, Any]:
        """The new table's object. `columns` None (the body named none): the table gets one column, `id
        INTEGER PRIMARY KEY`, since SQLite has no table without columns. `description`: text, None for
        none, or UNCHANGED."""
        if columns is None:
            columns = [ColumnSpec("id", "INTEGER", primary_key=True)]
        self._edit(
            record,
            AuditEntry(actor, "schema", f"create table {name}", [name]),
            lambda conn: table_schema.create_table(conn, name, columns),
            _table_meta(record, name, description=description),
        )
        return self.tables.table_json(self.hosting.get(record.id), name)

    def change_table(
        self,
        record: DatabaseRecord,
        actor: Principal,
        name: str,
        *,
        new_name: str | None = None,
        description: Any = UNCHANGED,
        after: Any = UNCHANGED,
    ) -> None:
        """Rename (a schema change), describe, and place a table after another (`after`: a table
        name, None for first) in the database's table list, all or nothing."""
        if after is not UNCHANGED and after is not None and not isinstance(after, str):
            raise InvalidInput("after must be a table name or null (first)")
        names = [t["name"] for t in self.tables.ordered_tables(record)]
        if name not in names:
            raise NotFound(f"Table {name!r} does not exist")
        renaming = new_name is not None and new_name != name
        target = new_name if renaming and new_name is not None else name
        position = UNCHANGED
        if after is not UNCHANGED:
            listed = [target if n == name else n for n in names]
            if after is not None and after not in listed:
                raise NotFound(f"Table {after!r} does not exist")
            position = listed.index(after) + 0.5 if after is not None else -0.5

        def metadata(conn: ControlConnection) -> None:
            if renaming:
                for meta in ("table_meta", "column_meta"):
                    conn.execute(
                        f"UPDATE {meta} SET table_name = ? WHERE file_key = ? AND table_name = ?",
                        (target, record.file_key, name),
                    )
            _table_meta(record, target, description=description, position=position)(conn)

        if renaming:
            entry = AuditEntry(actor, "schema", f"rename table {name} to {target}", [target])
            self._edit(record, entry, lambda conn: table_schema.rename_table(conn, name, target), metadata)
        else:
            with self.control.transaction() as conn:
                metadata(conn)

    def drop_table(self, record: DatabaseRecord, actor: Principal, name: str) -> None:
        def metadata(conn: ControlConnection) -> None:
            for meta in ("table_meta", "column_meta"):
                conn.execute(f"DELETE FROM {meta} WHERE file_key = ? AND table_name = ?", (record.file_key, name))

        entry = AuditEntry(actor, "schema", f"drop table {name}", [name])
        self._edit(record, entry, lambda conn: table_schema.drop_table(conn, name), metadata)

    def add_column(
        self, record: DatabaseRecord, actor: Principal, table: str, column: ColumnSpec, description: Any
    ) -> dict[str, Any]:
        """The new column's object."""
        entry = AuditEntry(actor, "schema", f"add column {column.name} to {table}", [table])
        self._edit(
            record,
            entry,
            lambda conn: table_schema.add_column(conn, table, column),
            _column_description(record, table, column.name, description),
        )
        columns = self.tables.table_json(self.hosting.get(record.id), table)["columns"]
        return next(c for c in columns if c["name"] == column.name)

    def change_column(
        self,
        record: DatabaseRecord,
        actor: Principal,
        table: str,
        column: str,
        changes: dict[str, Any],
        description: Any = UNCHANGED,
    ) -> None:
        """`changes`: name, sqliteDataType, isNonNull, isUnique, isPrimaryKey, default (those given)."""
        new_name = changes.get("name", column)

        def metadata(conn: ControlConnection) -> None:
            if new_name != column:
                conn.execute(
                    "UPDATE column_meta SET column_name = ? WHERE file_key = ? AND table_name = ? AND column_name = ?",
                    (new_name, record.file_key, table, column),
                )
            _column_description(record, table, new_name, description)(conn)

        if not changes:
            with self.hosting.read_snapshot(record) as conn:  # the schema only: no row is read
                if table_schema.find_table(conn, table).column(column) is None:
                    raise NotFound(f"Column {column!r} does not exist in {table!r}")
            with self.control.transaction() as control:
                metadata(control)
            return
        entry = AuditEntry(actor, "schema", f"change column {column} of {table}: {changes}", [table])
        self._edit(record, entry, lambda conn: table_schema.change_column(conn, table, column, changes), metadata)

    def drop_column(self, record: DatabaseRecord, actor: Principal, table: str, column: str) -> None:
        def metadata(conn: ControlConnection) -> None:
            conn.execute(
                "DELETE FROM column_meta WHERE file_key = ? AND table_name = ? AND column_name = ?",
                (record.file_key, table, column),
            )

        entry = AuditEntry(actor, "schema", f"drop column {column} of {table}", [table])
        self._edit(record, entry, lambda conn: table_schema.drop_column(conn, table, column), metadata)

    def _edit(
        self,
        record: DatabaseRecord,
        entry: AuditEntry,
        change: Callable[[sqlite3.Connection], None],
        metadata: Metadata,
    ) -> None:
        """One schema change, unless the schema is locked."""
        if record.schema_locked:
            raise Conflict("The schema of this database is locked: unlock it in the database settings first")
        with self.hosting.write_transaction(record, entry, schema_changes=True, metadata=metadata) as conn:
            change(conn)


def _table_meta(
    record: DatabaseRecord, table: str, *, description: Any = UNCHANGED, position: Any = UNCHANGED
) -> Metadata:
    def write(conn: ControlConnection) -> None:
        if description is UNCHANGED and position is UNCHANGED:
            return
        conn.execute(
            "INSERT INTO table_meta(file_key, table_name) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (record.file_key, table),
        )
        if description is not UNCHANGED:
            conn.execute(
                "UPDATE table_meta SET description = ? WHERE file_key = ? AND table_name = ?",
                (description, record.file_key, table),
            )
        if position is not UNCHANGED:
            conn.execute(
                "UPDATE table_meta SET position = ? WHERE file_key = ? AND table_name = ?",
                (position, record.file_key, table),
            )

    return write


def _column_description(record: DatabaseRecord, table: str, column: str, description: Any) -> Metadata:
    def write(conn: ControlConnection) -> None:
        if description is not UNCHANGED:
            conn.execute(
                "INSERT INTO column_meta(file_key, table_name, column_name, description) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(file_key, table_name, column_name) DO UPDATE SET description = excluded.description",
                (record.file_key, table, column, description),
            )

    return write
