"""The table API of a hosted database: table objects, schema edits with their metadata, CSV export,
search, and files stored in BLOB cells.

Descriptions and ordering live in the control plane (`table_meta`, `column_meta`), never in the
user's file, so a downloaded file is exactly the user's schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from airsequel.core.admin.audit import AuditEntry
from airsequel.core.auth.access import Principal
from airsequel.core.errors import InvalidInput, NotFound, TooLarge, Unprocessable
from airsequel.core.formats.writers import csv_chunks
from airsequel.core.integer_text import parse_integer
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.sql.constraints import TableConstraints, read_constraints
from airsequel.core.sql.introspection import Table, read_tables
from airsequel.core.sql.runner import json_cell
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.table_schema import find_table
from airsequel.core.sql.value_kinds import ValueKind, column_kind
from airsequel.core.storage.hosting import Hosting

INPUT_ELEMENTS = {
    ValueKind.INT: "InputNumber",
    ValueKind.FLOAT: "InputNumber",
    ValueKind.BOOLEAN: "InputCheckbox",
    ValueKind.BLOB: "InputFile",
    ValueKind.STRING: "InputText",
    ValueKind.UNTYPED: "InputText",
}
GRAPHQL_TYPES = {
    ValueKind.INT: "Int",
    ValueKind.FLOAT: "Float",
    ValueKind.BOOLEAN: "Boolean",
    ValueKind.BLOB: "String",
    ValueKind.STRING: "String",
    ValueKind.UNTYPED: "String",
}
MAX_CELLS = 10_000_000


class Tables:
    def __init__(self, hosting: Hosting) -> None:
        self.hosting = hosting
        self.control = hosting.control

    # --- reading ----------------------------------------------------------------------------

    def table_json(self, record: DatabaseRecord, name: str) -> dict[str, Any]:
        with self.hosting.read_snapshot(record) as conn:
            table = find_table(conn, name)
            rows = conn.execute(f"SELECT count(*) FROM {quote_identifier(name)}").fetchone()[0]
            unique = _unique_columns(conn, table)
        return self._shape(record, table, rows, unique)

    def _shape(self, record: DatabaseRecord, table: Table, rows: int, unique: set[str]) -> dict[str, Any]:
        descriptions = {
            row["column_name"]: row["description"]
            for row in self.control.query(
                "SELECT column_name, description FROM column_meta WHERE file_key = ? AND table_name = ?",
                (record.file_key, table.name),
            )
        }
        pk = table.primary_key
        columns = []
        for column in table.columns:
            kind = column_kind(column.declared_type)
            is_rowid_alias = len(pk) == 1 and pk[0] == column.name and column.declared_type.upper() == "INTEGER"
            columns.append(
                {
                    "description": descriptions.get(column.name),
                    "gqlDataType": GRAPHQL_TYPES[kind],
                    "inputElement": INPUT_ELEMENTS[kind],
                    "isGenerated": column.is_generated,
                    "isNonNull": column.not_null,
                    "isOmittable": (not column.not_null)
                    or column.default is not None
                    or is_rowid_alias
                    or column.is_generated,
                    "isPrimaryKey": column.name in pk,
                    "isUnique": column.name in unique or pk == [column.name],
                    "items": None,
                    "name": column.name,
                    "sqliteDataType": column.declared_type,
                    "validations": None,
                }
            )
        meta = self.control.query(
            "SELECT description FROM table_meta WHERE file_key = ? AND table_name = ?", (record.file_key, table.name)
        )
        return {
            "columns": columns,
            "description": meta[0]["description"] if meta else None,
            "maxCellLimitReached": rows * max(1, len(columns)) > MAX_CELLS,
            "name": table.name,
            "numberOfRows": rows,
            "rowidColumnName": table.rowid_name,
            "tableType": table.table_type,
        }

    def azimutt_schema(self, record: DatabaseRecord) -> dict[str, Any]:
        """Tables, columns, keys, uniques, checks and relations in Azimutt's JSON schema format."""
        with self.hosting.read_snapshot(record) as conn:
            tables = read_tables(conn)
        comments = {
            row["table_name"]: row["description"]
            for row in self.control.query(
                "SELECT table_name, description FROM table_meta WHERE file_key = ?", (record.file_key,)
            )
        }
        result_tables: list[dict[str, Any]] = []
        relations: list[dict[str, Any]] = []
        for table in tables:
            pk = table.primary_key
            # Names and CHECKs as the CREATE TABLE text gives them; what it cannot tell is generated.
            named = (None if table.is_view or table.is_virtual else read_constraints(table.sql)) or TableConstraints()
            result_tables.append(
                {
                    "checks": [
                        {
                            "columns": check.columns,
                            "name": check.name or f"{table.name}_check_{number}",
                            "predicate": check.predicate,
                        }
                        for number, check in enumerate(named.checks, start=1)
                    ],
                    "columns": [
                        {
                            "columns": [],
                            "comment": None,
                            "default": c.default,
                            "name": c.name,
                            "nullable": not c.not_null,
                            "type": c.declared_type,
                        }
                        for c in table.columns
                    ],
                    "comment": comments.get(table.name),
                    "primaryKey": {"columns": pk, "name": named.primary_key_name or f"{table.name}_pk"} if pk else None,
                    "schema": "main",
                    "table": table.name,
                    "uniques": [
                        {
                            "columns": cols,
                            "definition": "(" + ", ".join(cols) + ")",
                            "name": named.unique_name(cols) or f"{table.name}_{'_'.join(cols)}_unique",
                        }
                        for cols in table.unique_column_sets
                    ],
                    "view": table.is_view,
                }
            )
            for fk in table.foreign_keys:
                relations.append(
                    {
                        "name": named.foreign_key_name(fk.columns, fk.target_table)
                        or f"fk_{table.name}_{'_'.join(fk.columns)}",
                        "src": {"schema": "main", "table": table.name, "columns": fk.columns},
                        "ref": {
                            "schema": "main",
                            "table": fk.target_table,
                            "columns": [c for c in fk.target_columns if c],
                        },
                    }
                )
        return {"relations": relations, "tables": result_tables}

    # --- schema edits -----------------------------------------------------------------------

    def ordered_tables(self, record: DatabaseRecord) -> list[dict[str, Any]]:
        positions = {
            row["table_name"]: row["position"]
            for row in self.control.query(
                "SELECT table_name, position FROM table_meta WHERE file_key = ? AND position IS NOT NULL",
                (record.file_key,),
            )
        }
        indexed = list(enumerate(record.tables))
        indexed.sort(key=lambda pair: positions.get(pair[1]["name"], pair[0]))
        return [table for _, table in indexed]

    # --- data ---------------------------------------------------------------------------------

    def export_csv(self, record: DatabaseRecord, name: str) -> Iterator[bytes]:
        """The table as CSV, produced in batches from one read transaction (constant memory); an
        unknown table is NotFound here, before the first byte."""
        with self.hosting.read_snapshot(record) as conn:
            find_table(conn, name)
        return self._csv(record, name)

    def _csv(self, record: DatabaseRecord, name: str) -> Iterator[bytes]:
        with self.hosting.read_snapshot(record) as conn:
            find_table(conn, name)
            for text, _ in csv_chunks(conn.execute(f"SELECT * FROM {quote_identifier(name)}")):
                yield text.encode()

    def search(self, record: DatabaseRecord, name: str, term: str) -> dict[str, Any]:
        """Rows whose text columns contain `term` (FTS5 MATCH for FTS5 tables), at most the search_max_rows setting."""
        if not term.strip():
            raise InvalidInput("The search term is empty")
        limit = self.hosting.live.current.search_max_rows
        with self.hosting.read_snapshot(record) as conn:
            table = find_table(conn, name)
            quoted = quote_identifier(name)
            if table.is_virtual and table.sql and "fts5" in table.sql.lower():
                phrase = '"' + term.replace('"', '""') + '"'
                cursor = conn.execute(f"SELECT * FROM {quoted} WHERE {quoted} MATCH ? LIMIT ?", (phrase, limit))
            else:
                texts = [
                    c.name
                    for c in table.columns
                    if column_kind(c.declared_type) in (ValueKind.STRING, ValueKind.UNTYPED)
                ]
                if not texts:
                    texts = [c.name for c in table.columns]
                pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                condition = " OR ".join(f"{quote_identifier(c)} LIKE ? ESCAPE '\\'" for c in texts)
                cursor = conn.execute(
                    f"SELECT * FROM {quoted} WHERE {condition} LIMIT ?", [*[pattern] * len(texts), limit]
                )
            columns = [d[0] for d in cursor.description]
            rows = [{c: json_cell(v) for c, v in zip(columns, row)} for row in cursor.fetchall()]
            count = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
            unique = _unique_columns(conn, table)
        return {**self._shape(record, table, count, unique), "rows": rows}

    def read_file(self, record: DatabaseRecord, table: str, column: str, key_column: str, key_value: str) -> bytes:
        with self.hosting.pool.reader(record.file_key, self.hosting.file_path(record)) as conn:
            sql, params = _cell_query(conn, table, column, key_column, key_value)
            row = conn.execute(f"SELECT {quote_identifier(column)} FROM {sql}", params).fetchone()
        if row is None:
            raise NotFound("No row has that key")
        if row[0] is None:
            raise NotFound("The cell is empty")
        value = row[0]
        return value if isinstance(value, bytes) else str(value).encode()

    def write_file(
        self,
        record: DatabaseRecord,
        table: str,
        column: str,
        key_column: str,
        key_value: str,
        content: bytes,
        actor: Principal,
    ) -> None:
        """Store `content` in one cell, the row named by its key; at most the file-cell size setting."""
        current = self.hosting.live.current
        max_bytes = min(current.max_upload_bytes, current.max_file_cell_bytes)
        if len(content) > max_bytes:
            raise TooLarge(f"The file is larger than the limit of {max_bytes} bytes")
        entry = AuditEntry(actor, "file", f"file into {table}.{column}", [table], 1)
        with self.hosting.write_transaction(record, entry) as conn:
            sql, params = _cell_query(conn, table, column, key_column, key_value)
            try:
                changed = conn.execute(
                    f"UPDATE {quote_identifier(table)} SET {quote_identifier(column)} = ? "
                    f"WHERE {sql.split(' WHERE ', 1)[1]}",
                    [content, *params],
                ).rowcount
            except sqlite3.IntegrityError as error:
                # A constraint, or a trigger's RAISE(ABORT, '...'): the transaction is rolled back.
                raise Unprocessable(f"The database refused the file: {error}") from None
            if not changed:
                raise NotFound("No row has that key")


def _cell_query(
    conn: sqlite3.Connection, table: str, column: str, key_column: str, key_value: str
) -> tuple[str, list[Any]]:
    """`<table> WHERE <key> = ?` after checking every identifier against the real schema."""
    found = find_table(conn, table)
    if found.column(column) is None:
        raise NotFound(f"Column {column!r} does not exist in {table!r}")
    if key_column.lower() in ("rowid", "_rowid_", "oid") and found.rowid_name:
        key_sql = found.rowid_name
    elif found.column(key_column) is not None:
        key_sql = quote_identifier(key_column)
    else:
        raise NotFound(f"Column {key_column!r} does not exist in {table!r}")
    number = parse_integer(key_value)
    value: Any = key_value if number is None else number
    return f"{quote_identifier(table)} WHERE {key_sql} = ?", [value]


def _unique_columns(conn: sqlite3.Connection, table: Table) -> set[str]:
    return {columns[0] for columns in table.unique_column_sets if len(columns) == 1}
