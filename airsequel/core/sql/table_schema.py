"""Changing a table's shape without SQL: create, rename, drop tables; add, change, drop columns.

Where ALTER TABLE cannot do a change, the table is rebuilt with SQLite's 12-step procedure inside one
transaction (foreign keys checked before commit): data, indexes, triggers and foreign keys are kept,
and a change the data does not fit (NULLs into NOT NULL, duplicates into UNIQUE, text into INTEGER)
is refused with a clear error and leaves the table as it was.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, replace
from typing import Any

from airsequel.core.errors import Conflict, InvalidInput, NotFound, Unprocessable
from airsequel.core.sql.introspection import Table, read_tables
from airsequel.core.sql.script import quote_identifier

# The declared types a new or changed column may get: SQLite's storage classes, then the other names its affinity
# rules read as it means them (the examples of its documentation, with the dates and JSON that tools write), each
# optionally with a size, VARCHAR(255) or DECIMAL(10, 2); or "" for a column with no type. SQLite itself takes any
# words ("NOTATYPE" would be a NUMERIC column), so a typo would silently make a column of another kind.
STORAGE_TYPES = ("TEXT", "INTEGER", "REAL", "NUMERIC", "BLOB")
OTHER_TYPES = (
    "INT", "TINYINT", "SMALLINT", "MEDIUMINT", "BIGINT", "UNSIGNED BIG INT", "INT2", "INT8",
    "CHARACTER", "VARCHAR", "VARYING CHARACTER", "NCHAR", "NATIVE CHARACTER", "NVARCHAR", "CLOB",
    "DOUBLE", "DOUBLE PRECISION", "FLOAT", "DECIMAL", "BOOLEAN", "DATE", "DATETIME", "TIMESTAMP", "TIME", "JSON",
)  # fmt: skip
COLUMN_TYPES = STORAGE_TYPES + OTHER_TYPES
_TYPE = re.compile(r"([A-Za-z][A-Za-z0-9 ]{0,30}?)\s*(\(\s*\d+\s*(,\s*\d+\s*)?\))?")
_UNSUPPORTED_IN_REBUILD = re.compile(r"\b(CHECK|GENERATED|COLLATE|AS\s*\()", re.IGNORECASE)


@dataclass
class ColumnSpec:
    name: str
    type: str = "TEXT"
    not_null: bool = False
    primary_key: bool = False
    unique: bool = False
    default_sql: str | None = None  # a SQL literal, e.g. 'abc' or 42

    @classmethod
    def from_json(cls, body: dict[str, Any], *, name: str | None = None, current_type: str = "") -> ColumnSpec:
        """`current_type`: the column's type today, kept even when it is not one of COLUMN_TYPES."""
        column_name = name if name is not None else body.get("name")
        if not isinstance(column_name, str) or not column_name.strip() or len(column_name) > 200:
            raise InvalidInput("Each column needs a name of 1 to 200 characters")
        data_type = body.get("sqliteDataType", "TEXT") or ""
        if not isinstance(data_type, str):
            raise InvalidInput("sqliteDataType must be a type name such as TEXT, INTEGER, REAL, NUMERIC, BLOB")
        if data_type.upper() != current_type.upper():
            check_column_type(data_type)
        spec = cls(column_name, data_type.upper())
        for field, attribute in (("isNonNull", "not_null"), ("isPrimaryKey", "primary_key"), ("isUnique", "unique")):
            value = body.get(field, False)
            if not isinstance(value, bool):
                raise InvalidInput(f"{field} must be true or false")
            setattr(spec, attribute, value)
        if "default" in body:
            spec.default_sql = sql_literal(body["default"])
        return spec


def check_column_type(data_type: str) -> None:
    """InvalidInput unless `data_type` is "" or one of COLUMN_TYPES, with or without a size."""
    match = _TYPE.fullmatch(data_type)
    base = " ".join(match.group(1).upper().split()) if match else None
    if data_type and base not in COLUMN_TYPES:
        raise InvalidInput(
            f"sqliteDataType {data_type!r} is not a column type: use TEXT, INTEGER, REAL, NUMERIC or BLOB "
            f"(or {', '.join(OTHER_TYPES)}, with a size such as VARCHAR(255) if wanted), or an empty type for none"
        )


def sql_literal(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise InvalidInput("default must be a string, number, boolean or null")


def find_table(conn: sqlite3.Connection, name: str, *, readable: bool = True) -> Table:
    """The table or view `name`; one SQLite cannot read (a view calling load_extension()) is a clear 422,
    unless `readable` is False (dropping it is what its owner may want)."""
    table = next((t for t in read_tables(conn, with_unreadable=True) if t.name == name), None)
    if table is None:
        raise NotFound(f"Table {name!r} does not exist")
    if readable and table.unreadable is not None:
        what = "view" if table.is_view else "table"
        raise Unprocessable(
            f"The {what} {name!r} cannot be read: {table.unreadable} (the rest of the database can be; "
            f"change or drop the {what} with SQL)"
        )
    return table


def _check_table_name(name: str) -> None:
    if not name.strip() or name.lower().startswith("sqlite_"):
        raise InvalidInput("Table names must not be empty or start with sqlite_")


def create_table(conn: sqlite3.Connection, name: str, columns: list[ColumnSpec]) -> None:
    _check_table_name(name)
    if not columns:
        raise InvalidInput("A table needs at least one column")
    if conn.execute("SELECT 1 FROM sqlite_master WHERE lower(name) = lower(?)", (name,)).fetchone():
        raise Conflict(f"A table or view named {name!r} exists already")
    conn.execute(_create_sql(name, columns, foreign_keys=[]))


def rename_table(conn: sqlite3.Connection, old: str, new: str) -> None:
    find_table(conn, old)
    _check_table_name(new)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE lower(name) = lower(?) AND name <> ?", (new, old)).fetchone():
        raise Conflict(f"A table or view named {new!r} exists already")
    conn.execute(f"ALTER TABLE {quote_identifier(old)} RENAME TO {quote_identifier(new)}")


def drop_table(conn: sqlite3.Connection, name: str) -> None:
    table = find_table(conn, name, readable=False)
    conn.execute(f"DROP {'VIEW' if table.is_view else 'TABLE'} {quote_identifier(name)}")


def add_column(conn: sqlite3.Connection, table_name: str, spec: ColumnSpec) -> None:
    table = _editable(conn, table_name)
    if table.column(spec.name) or any(c.name.lower() == spec.name.lower() for c in table.columns):
        raise Conflict(f"The column {spec.name!r} exists already")
    if spec.primary_key:
        _check_key_change(table, spec.name, True)
    if spec.primary_key or spec.unique or (spec.not_null and spec.default_sql is None):
        _rebuild(conn, table, [*_specs(conn, table), spec], {}, added=spec.name)
        return
    conn.execute(f"ALTER TABLE {quote_identifier(table_name)} ADD COLUMN {_column_sql(spec, inline_pk=False)}")


def change_column(conn: sqlite3.Connection, table_name: str, column: str, changes: dict[str, Any]) -> None:
    table = _editable(conn, table_name)
    if table.column(column) is None:
        raise NotFound(f"Column {column!r} does not exist in {table_name!r}")
    if "isPrimaryKey" in changes:
        _check_key_change(table, column, changes["isPrimaryKey"])
    specs = _specs(conn, table)
    current = next(s for s in specs if s.name == column)
    merged = ColumnSpec.from_json(
        {
            "name": changes.get("name", current.name),
            "sqliteDataType": changes.get("sqliteDataType", current.type),
            "isNonNull": changes.get("isNonNull", current.not_null),
            "isPrimaryKey": changes.get("isPrimaryKey", current.primary_key),
            "isUnique": changes.get("isUnique", current.unique),
        },
        current_type=current.type,
    )
    merged.default_sql = sql_literal(changes["default"]) if "default" in changes else current.default_sql
    if merged.name != column and any(s.name.lower() == merged.name.lower() for s in specs if s.name != column):
        raise Conflict(f"The column {merged.name!r} exists already")
    if replace(merged, name=column) == current:
        if merged.name != column:
            conn.execute(
                f"ALTER TABLE {quote_identifier(table_name)} RENAME COLUMN "
                f"{quote_identifier(column)} TO {quote_identifier(merged.name)}"
            )
        return
    new_specs = [merged if s.name == column else s for s in specs]
    _rebuild(conn, table, new_specs, {column: merged.name} if merged.name != column else {}, changed=merged)


def drop_column(conn: sqlite3.Connection, table_name: str, column: str) -> None:
    table = _editable(conn, table_name)
    if table.column(column) is None:
        raise NotFound(f"Column {column!r} does not exist in {table_name!r}")
    if len(table.columns) == 1:
        raise Unprocessable("A table needs at least one column: drop the table instead")
    try:
        conn.execute("SAVEPOINT drop_column")
        conn.execute(f"ALTER TABLE {quote_identifier(table_name)} DROP COLUMN {quote_identifier(column)}")
        conn.execute("RELEASE drop_column")
    except sqlite3.OperationalError:
        conn.execute("ROLLBACK TO drop_column")
        conn.execute("RELEASE drop_column")
        _rebuild(conn, table, [s for s in _specs(conn, table) if s.name != column], {}, dropped=column)


def _check_key_change(table: Table, column: str, wanted: Any) -> None:
    """A column edit may make a keyless table's key, or drop a one-column key; it does not grow or shrink a
    key (which would silently turn an INTEGER PRIMARY KEY, the rowid, into part of a composite key)."""
    key = table.primary_key
    if wanted is True and column not in key and key:
        raise Conflict(
            f"{table.name!r} has a primary key already ({', '.join(key)}): change the key with SQL "
            "(POST /dbs/:dbId/sql)"
        )
    if wanted is False and column in key and len(key) > 1:
        raise Conflict(
            f"{column!r} is part of the composite primary key of {table.name!r} ({', '.join(key)}): "
            "change the key with SQL (POST /dbs/:dbId/sql)"
        )


# --- the 12-step rebuild ------------------------------------------------------------------------


def _editable(conn: sqlite3.Connection, name: str) -> Table:
    table = find_table(conn, name)
    if table.is_view or table.is_virtual:
        raise Unprocessable(f"{name!r} is a view or virtual table: change it with SQL")
    return table


def _specs(conn: sqlite3.Connection, table: Table) -> list[ColumnSpec]:
    unique_single = {
        columns[0] for columns, origin in _unique_constraints(conn, table.name) if origin == "u" and len(columns) == 1
    }
    pk = table.primary_key
    return [
        ColumnSpec(
            c.name,
            c.declared_type,
            c.not_null,
            bool(c.pk_position) and len(pk) == 1,
            c.name in unique_single,
            c.default,
        )
        for c in table.columns
    ]


def _unique_constraints(conn: sqlite3.Connection, table: str) -> list[tuple[list[str], str]]:
    result = []
    for name, unique, origin in conn.execute('SELECT name, "unique", origin FROM pragma_index_list(?)', (table,)):
        if unique:
            columns = [row[0] for row in conn.execute("SELECT name FROM pragma_index_info(?) ORDER BY seqno", (name,))]
            result.append((columns, origin))
    return result


def _rebuild(
    conn: sqlite3.Connection,
    table: Table,
    specs: list[ColumnSpec],
    renames: dict[str, str],
    *,
    added: str | None = None,
    dropped: str | None = None,
    changed: ColumnSpec | None = None,
) -> None:
    if table.sql and _UNSUPPORTED_IN_REBUILD.search(table.sql):
        raise Unprocessable(
            f"{table.name!r} has CHECK constraints, generated columns or collations, which this change would have to "
            "rebuild: change it with SQL (POST /dbs/:dbId/sql)"
        )
    name = table.name
    temporary = f"{name}__airsequel_rebuild"
    kept = [s for s in specs if s.name != added]
    source_columns = [next((old for old, new in renames.items() if new == s.name), s.name) for s in kept]
    composite_pk = [c for c in table.primary_key if c != dropped] if len(table.primary_key) > 1 else []
    multi_unique = [
        cols
        for cols, origin in _unique_constraints(conn, name)
        if origin == "u" and len(cols) > 1 and dropped not in cols
    ]
    foreign_keys = [fk for fk in table.foreign_keys if dropped not in fk.columns]
    saved = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL",
        (name,),
    ).fetchall()
    autoincrement = bool(table.sql and re.search(r"\bAUTOINCREMENT\b", table.sql, re.IGNORECASE))
    create = _create_sql(
        temporary,
        specs,
        foreign_keys=foreign_keys,
        composite_pk=composite_pk,
        multi_unique=multi_unique,
        renames=renames,
        autoincrement=autoincrement,
    )
    conn.execute("PRAGMA legacy_alter_table=ON")
    try:
        conn.execute(create)
        target_columns = ", ".join(quote_identifier(s.name) for s in kept)
        conn.execute(
            f"INSERT INTO {quote_identifier(temporary)} ({target_columns}) "
            f"SELECT {', '.join(quote_identifier(c) for c in source_columns)} FROM {quote_identifier(name)}"
        )
        if changed is not None:
            _check_fits(conn, temporary, changed)
        conn.execute(f"DROP TABLE {quote_identifier(name)}")
        conn.execute(f"ALTER TABLE {quote_identifier(temporary)} RENAME TO {quote_identifier(name)}")
        for _kind, _object_name, sql in saved:
            if dropped and re.search(
                rf'(?<![\w"]){re.escape(dropped)}(?![\w"])|"{re.escape(dropped)}"', sql.split(" ON ", 1)[-1]
            ):
                continue  # an index or trigger on the dropped column goes with it
            for old, new in renames.items():
                sql = sql.replace(quote_identifier(old), quote_identifier(new))
            conn.execute(sql)
        problems = conn.execute("SELECT * FROM pragma_foreign_key_check").fetchall()
        if problems:
            raise Unprocessable(f"The change would break {len(problems)} foreign key reference(s)")
    except sqlite3.IntegrityError as error:
        # The constraint is named after the temporary copy; the caller knows only the table.
        message = str(error).replace(f"{temporary}.", f"{name}.")
        raise Unprocessable(f"The data does not fit the new definition: {message}") from None
    finally:
        conn.execute("PRAGMA legacy_alter_table=OFF")


def _check_fits(conn: sqlite3.Connection, table: str, spec: ColumnSpec) -> None:
    allowed = {"INTEGER": ("integer", "null"), "REAL": ("integer", "real", "null")}
    affinity = (
        "INTEGER" if "INT" in spec.type else "REAL" if any(t in spec.type for t in ("REAL", "FLOA", "DOUB")) else None
    )
    if affinity is None:
        return
    kinds = allowed[affinity]
    bad = conn.execute(
        f"SELECT count(*) FROM {quote_identifier(table)} WHERE typeof({quote_identifier(spec.name)}) NOT IN ({', '.join('?' for _ in kinds)})",
        kinds,
    ).fetchone()[0]
    if bad:
        raise Unprocessable(
            f"{bad} value(s) in {spec.name!r} are not {affinity.lower()} numbers: the type cannot change"
        )


def _column_sql(spec: ColumnSpec, *, inline_pk: bool, autoincrement: bool = False) -> str:
    parts = [quote_identifier(spec.name)]
    if spec.type:
        parts.append(spec.type)
    if spec.primary_key and inline_pk:
        parts.append("PRIMARY KEY" + (" AUTOINCREMENT" if autoincrement else ""))
    if spec.not_null:
        parts.append("NOT NULL")
    if spec.unique and not spec.primary_key:
        parts.append("UNIQUE")
    if spec.default_sql is not None:
        parts.append(
            f"DEFAULT ({spec.default_sql})"
            if not _is_simple_literal(spec.default_sql)
            else f"DEFAULT {spec.default_sql}"
        )
    return " ".join(parts)


def _is_simple_literal(sql: str) -> bool:
    return bool(re.fullmatch(r"'(?:[^']|'')*'|-?\d+(\.\d+)?|NULL|CURRENT_(TIMESTAMP|DATE|TIME)", sql, re.IGNORECASE))


def _create_sql(
    name: str,
    specs: list[ColumnSpec],
    *,
    foreign_keys: list[Any],
    composite_pk: list[str] | None = None,
    multi_unique: list[list[str]] | None = None,
    renames: dict[str, str] | None = None,
    autoincrement: bool = False,
) -> str:
    renames = renames or {}
    single_pk = [s for s in specs if s.primary_key]
    if len(single_pk) > 1:
        composite_pk = [s.name for s in single_pk]
    parts = [_column_sql(s, inline_pk=not composite_pk, autoincrement=autoincrement) for s in specs]
    if composite_pk:
        parts.append(f"PRIMARY KEY ({', '.join(quote_identifier(renames.get(c, c)) for c in composite_pk)})")
    for columns in multi_unique or []:
        parts.append(f"UNIQUE ({', '.join(quote_identifier(renames.get(c, c)) for c in columns)})")
    for fk in foreign_keys:
        local = ", ".join(quote_identifier(renames.get(c, c)) for c in fk.columns)
        target_columns = [c for c in fk.target_columns if c]
        target = f" ({', '.join(quote_identifier(c) for c in target_columns)})" if target_columns else ""
        actions = "".join(
            f" ON {event} {action}"
            for event, action in (("UPDATE", fk.on_update), ("DELETE", fk.on_delete))
            if action and action != "NO ACTION"
        )
        parts.append(f"FOREIGN KEY ({local}) REFERENCES {quote_identifier(fk.target_table)}{target}{actions}")
    return f"CREATE TABLE {quote_identifier(name)} ({', '.join(parts)})"
