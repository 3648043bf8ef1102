"""Mutations: insert (with upsert), update, delete, and their `_by_pk` forms.

Each root field runs in its own `BEGIN IMMEDIATE` transaction on the file's writer connection:
a constraint failure is an error on that field and nothing of it is written. `returning` rows are
read inside the same transaction with the same shaping as queries.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from graphql import GraphQLError, get_named_type

from airsequel.core.errors import Forbidden
from airsequel.core.graphql.bindings import ColumnBinding, Mode, TableBinding
from airsequel.core.graphql.fetch import FetchContext, select_rows
from airsequel.core.graphql.selection import Selected
from airsequel.core.graphql.sql import column_sql, key_condition, keys_in, order_sql, where_sql
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.value_kinds import ValueKind


def refuse_upsert_without_read(kind: str, args: dict[str, Any], mode: Mode) -> None:
    """An insert-only caller may not use `on_conflict`: an upsert changes existing rows, and whether
    it did tells what they hold. Checked before any SQL (limits.check_operation) and where the SQL
    is written (run_mutation)."""
    if kind == "insert" and args.get("on_conflict") and mode == Mode.READ_INSERT:
        raise Forbidden(
            "on_conflict is not allowed with insert access: it would update existing rows. Insert new rows only, "
            "or use a token that may write"
        )
    if kind == "insert" and args.get("on_conflict") and not mode.can_read:
        raise Forbidden(
            "on_conflict is not allowed with insert-only access: it would update existing rows, and whether "
            "it did tells what they hold. Insert new rows only, or use a token that may write"
        )


def run_mutation(
    ctx: FetchContext, kind: str, binding: TableBinding, args: dict[str, Any], children: list[Selected]
) -> dict[str, Any]:
    conn = ctx.conn
    refuse_upsert_without_read(kind, args, ctx.mode)
    # One savepoint per mutation field, inside the operation's transaction (the engine begins and
    # commits it, with the operation's audit entry): a field that fails undoes only itself.
    conn.execute("SAVEPOINT mutation_field")
    try:
        if kind == "insert":
            keys = _insert(conn, binding, args["objects"], args.get("on_conflict") or [])
        elif kind in ("update", "update_by_pk"):
            keys = _update(conn, binding, kind, args)
        else:
            keys = None
        returning = next((c for c in children if c.name == "returning"), None)
        if kind in ("delete", "delete_by_pk"):
            rows = _rows(ctx, binding, returning, *_target(binding, kind, args)) if returning else []
            affected = _delete(conn, binding, kind, args)
        else:
            affected = len(keys or [])
            rows = _rows_by_keys(ctx, binding, returning, keys or []) if returning else []
        conn.execute("RELEASE mutation_field")
    except sqlite3.Error as error:
        _rollback(conn)
        raise GraphQLError(str(error)) from None
    except BaseException:
        _rollback(conn)
        raise
    result: dict[str, Any] = {}
    for child in children:
        if child.name == "affected_rows":
            result[child.key] = affected
        elif child.name == "returning":
            result[child.key] = (rows[0] if rows else None) if kind.endswith("_by_pk") else rows
        else:  # __typename
            result[child.key] = get_named_type(child.definition.type).name
    return result


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo this field's changes, unless SQLite already rolled the transaction back (an interrupt)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK TO mutation_field")
        conn.execute("RELEASE mutation_field")


def _key_columns(binding: TableBinding) -> list[ColumnBinding]:
    return [binding.rowid] if binding.rowid is not None else binding.key


def _values(binding: TableBinding, given: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field_name, value in given.items():
        column = binding.columns[field_name]
        values[column.name] = int(value) if column.kind == ValueKind.BOOLEAN and isinstance(value, bool) else value
    return values


def _insert(
    conn: sqlite3.Connection, binding: TableBinding, objects: list[dict[str, Any]], on_conflict: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    table = quote_identifier(binding.name)
    returning = ", ".join(column_sql(c) for c in _key_columns(binding))
    keys: list[tuple[Any, ...]] = []
    for given in objects:
        values = _values(binding, given)
        if values:
            columns = ", ".join(quote_identifier(name) for name in values)
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' for _ in values)})"
        else:
            sql = f"INSERT INTO {table} DEFAULT VALUES"
        params = list(values.values())
        for clause in on_conflict:
            sql += " " + _upsert_clause(binding, clause, values, params)
        keys.extend(conn.execute(f"{sql} RETURNING {returning}", params).fetchall())
    return keys


def _upsert_clause(binding: TableBinding, clause: dict[str, Any], values: dict[str, Any], params: list[Any]) -> str:
    target = ", ".join(quote_identifier(name) for name in clause["constraint"])
    updates = clause["update_columns"]
    missing = [name for name in updates if name not in values]
    if missing:
        raise GraphQLError(f"update_columns must be among the inserted columns: {', '.join(missing)} are not")
    if not updates:
        return f"ON CONFLICT ({target}) DO NOTHING"
    assignments = ", ".join(f"{quote_identifier(name)} = excluded.{quote_identifier(name)}" for name in updates)
    condition = where_sql(binding, clause.get("where"), params)
    return f"ON CONFLICT ({target}) DO UPDATE SET {assignments}" + (f" WHERE {condition}" if condition else "")


def _target(binding: TableBinding, kind: str, args: dict[str, Any]) -> tuple[str, list[Any]]:
    params: list[Any] = []
    if kind.endswith("_by_pk"):
        return key_condition(binding, args, params), params
    where = args.get("where") or args.get("filter")
    if not where:
        raise GraphQLError("Filter must not be empty")
    return where_sql(binding, where, params), params


def _update(conn: sqlite3.Connection, binding: TableBinding, kind: str, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    set_arg, set_alias = ("_set", "set") if kind == "update" else binding.set_args
    if args.get(set_arg) is not None and args.get(set_alias) is not None:
        raise GraphQLError(f"Give the columns to set in {set_arg} or in {set_alias} (its AirGQL spelling), not both")
    given = args.get(set_arg) if args.get(set_arg) is not None else args.get(set_alias)
    values = _values(binding, given or {})
    if not values:
        raise GraphQLError(f"{set_arg} must name at least one column")
    condition, where_params = _target(binding, kind, args)
    assignments = ", ".join(f"{quote_identifier(name)} = ?" for name in values)
    returning = ", ".join(column_sql(c) for c in _key_columns(binding))
    sql = f"UPDATE {quote_identifier(binding.name)} SET {assignments} WHERE {condition} RETURNING {returning}"
    return conn.execute(sql, [*values.values(), *where_params]).fetchall()


def _delete(conn: sqlite3.Connection, binding: TableBinding, kind: str, args: dict[str, Any]) -> int:
    condition, params = _target(binding, kind, args)
    return conn.execute(f"DELETE FROM {quote_identifier(binding.name)} WHERE {condition}", params).rowcount


def _rows(
    ctx: FetchContext, binding: TableBinding, returning: Selected, condition: str, params: list[Any]
) -> list[dict[str, Any]]:
    fetched = select_rows(
        ctx, binding, returning.children, condition, params, order_sql(binding, None), None, 0, serialize=False
    )
    ctx.count_root(returning.key, fetched.total + 2)
    return fetched.rows


def _rows_by_keys(
    ctx: FetchContext, binding: TableBinding, returning: Selected, keys: list[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    if not keys:
        return []
    columns = [column_sql(c) for c in _key_columns(binding)]
    condition = keys_in(columns, len(keys))
    params = [value for key in keys for value in key]
    fetched = select_rows(
        ctx,
        binding,
        returning.children,
        condition,
        params,
        "",
        None,
        0,
        serialize=False,
        hidden=columns,
    )
    ctx.count_root(returning.key, fetched.total + 2)
    order = {key: index for index, key in enumerate(keys)}
    pairs = sorted(zip(fetched.rows, fetched.hidden), key=lambda pair: order.get(tuple(pair[1]), 0))
    return [row for row, _ in pairs]
