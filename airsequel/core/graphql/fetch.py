"""Running read fields as SQL: one statement per root field, one batched statement per relationship
and level (never one per row), only the requested columns.

Rows come back as dicts keyed by response key (alias or field name). With `serialize=True` (the
compiled path) values go through the GraphQL scalar's own `serialize`, so the JSON is exactly what
graphql-core would produce; any value it would turn into a field error raises `CellError`, and the
request is executed by graphql-core instead, which reports the error with its path.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from graphql import GraphQLError, get_named_type

from airsequel.core.graphql.schema import GeneratedSchema, Mode, Relationship, TableBinding
from airsequel.core.graphql.selection import Selected
from airsequel.core.graphql.sql import column_sql, key_condition, order_sql, page, where_sql
from airsequel.core.graphql.types import SCALARS
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.value_kinds import ValueKind

KEYS_PER_BATCH = 400


class CellError(Exception):
    """A value the compiled path cannot represent; graphql-core will report it as a field error."""


@dataclass
class FetchContext:
    conn: sqlite3.Connection
    schema: GeneratedSchema
    readonly_id: str
    mode: Mode
    max_rows: int  # rows a field returns at most without an explicit limit (graphql_max_rows)
    max_depth: int  # levels a selection may nest (graphql_max_depth)
    changes_before: int = 0


def fetch_list(
    ctx: FetchContext, binding: TableBinding, children: list[Selected], args: dict[str, Any], *, serialize: bool
) -> list[dict[str, Any]]:
    params: list[Any] = []
    condition = where_sql(binding, args.get("where") or args.get("filter"), params)
    order = order_sql(binding, args.get("order_by"))
    limit, offset, explicit = page(args.get("limit"), args.get("offset"), ctx.max_rows)
    rows, _ = select_rows(ctx, binding, children, condition, params, order, limit, offset, serialize=serialize)
    if not explicit and len(rows) > ctx.max_rows:
        count_params: list[Any] = []
        count_condition = where_sql(binding, args.get("where") or args.get("filter"), count_params)
        total = ctx.conn.execute(
            f"SELECT count(*) FROM {quote_identifier(binding.name)}"
            + (f" WHERE {count_condition}" if count_condition else ""),
            count_params,
        ).fetchone()[0]
        raise GraphQLError(
            f"The query would return {total} rows, more than the maximum of {ctx.max_rows}: use limit (and offset) to page"
        )
    return rows


def fetch_by_key(
    ctx: FetchContext, binding: TableBinding, children: list[Selected], args: dict[str, Any], *, serialize: bool
) -> dict[str, Any] | None:
    params: list[Any] = []
    condition = key_condition(binding, args, params)
    rows, _ = select_rows(ctx, binding, children, condition, params, "", 1, 0, serialize=serialize)
    return rows[0] if rows else None


def fetch_count(
    ctx: FetchContext, binding: TableBinding, children: list[Selected], args: dict[str, Any]
) -> dict[str, Any]:
    params: list[Any] = []
    condition = where_sql(binding, args.get("where"), params)
    sql = f"SELECT count(*) FROM {quote_identifier(binding.name)}" + (f" WHERE {condition}" if condition else "")
    count = ctx.conn.execute(sql, params).fetchone()[0]
    return {c.key: (count if c.name == "count" else get_named_type(c.definition.type).name) for c in children}


def select_rows(
    ctx: FetchContext,
    binding: TableBinding,
    children: list[Selected],
    condition: str,
    params: list[Any],
    order: str,
    limit: int | None,
    offset: int,
    *,
    serialize: bool,
    hidden: list[str] | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """Rows of `binding` matching `condition`, shaped for `children`; plus the values of the `hidden`
    SQL expressions (quoted columns) for each row, for joining relationships and ordering."""
    expressions: list[str] = []
    positions: dict[str, int] = {}

    def need(expression: str) -> int:
        if expression not in positions:
            positions[expression] = len(expressions)
            expressions.append(expression)
        return positions[expression]

    plan: list[tuple[Selected, str, Any]] = []
    relationships: list[tuple[Selected, Relationship, list[int]]] = []
    rowid_position = need(binding.rowid.name) if binding.rowid and _has_blob(binding, children) else None
    for child in children:
        if child.name == "__typename":
            plan.append((child, "typename", get_named_type(child.definition.type).name))
        elif child.name in binding.columns:
            column = binding.columns[child.name]
            plan.append((child, "column", (need(column_sql(column)), column)))
        else:
            relation = binding.relationships[child.name]
            relationships.append((child, relation, [need(quote_identifier(c)) for c in relation.local_columns]))
    hidden_positions = [need(expression) for expression in hidden or []]
    if not expressions:
        need("1")
    sql = f"SELECT {', '.join(expressions)} FROM {quote_identifier(binding.name)}"
    if condition:
        sql += f" WHERE {condition}"
    if order:
        sql += f" ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params = [*params, limit, offset]
    raw_rows = ctx.conn.execute(sql, params).fetchall()

    # One converter per selected field, chosen once: the row loop below is the hot path.
    fields: list[tuple[str, Any, Any]] = []  # (response key, position or constant, converter or None)
    for child, kind, detail in plan:
        if kind == "typename":
            fields.append((child.key, detail, None))
            continue
        position, column = detail
        convert = _converter(column, serialize)
        if column.kind == ValueKind.BLOB:
            convert = _blob_converter(ctx, binding, column, rowid_position, convert)
        fields.append((child.key, position, convert))
    rows: list[dict[str, Any]] = []
    for raw in raw_rows:
        rows.append(
            {key: (convert(raw[where], raw) if convert is not None else where) for key, where, convert in fields}
        )
    for child, relation, positions_of_keys in relationships:
        keys = [tuple(raw[p] for p in positions_of_keys) for raw in raw_rows]
        _attach(ctx, rows, keys, child, relation, serialize=serialize)
    return rows, [tuple(raw[p] for p in hidden_positions) for raw in raw_rows]


def _attach(
    ctx: FetchContext,
    rows: list[dict[str, Any]],
    keys: list[tuple[Any, ...]],
    child: Selected,
    relation: Relationship,
    *,
    serialize: bool,
) -> None:
    """Load one relationship for all `rows` in batches, and put each row's share under `child.key`."""
    target = ctx.schema.tables[relation.target]
    distinct = list(dict.fromkeys(key for key in keys if None not in key))
    found: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    columns = ", ".join(quote_identifier(c) for c in relation.target_columns)
    for start in range(0, len(distinct), KEYS_PER_BATCH):
        batch = distinct[start : start + KEYS_PER_BATCH]
        params = [value for key in batch for value in key]
        if len(relation.target_columns) == 1:
            condition = f"{columns} IN ({', '.join('?' for _ in batch)})"
        else:
            tuple_marks = "(" + ", ".join("?" for _ in relation.target_columns) + ")"
            condition = f"({columns}) IN (VALUES {', '.join(tuple_marks for _ in batch)})"
        fetched, fetched_keys = select_rows(
            ctx,
            target,
            child.children,
            condition,
            params,
            order_sql(target, None),
            None,
            0,
            serialize=serialize,
            hidden=[quote_identifier(c) for c in relation.target_columns],
        )
        for row, key in zip(fetched, fetched_keys):
            found.setdefault(key, []).append(row)
    for row, key in zip(rows, keys):
        matches = found.get(key, []) if None not in key else []
        row[child.key] = matches if relation.many else (matches[0] if matches else None)


def _has_blob(binding: TableBinding, children: list[Selected]) -> bool:
    return any(c.name in binding.columns and binding.columns[c.name].kind == ValueKind.BLOB for c in children)


def _file_url(ctx: FetchContext, binding: TableBinding, column: str, rowid: Any) -> str | None:
    if rowid is None:
        return None
    path = (
        f"/readonly/{ctx.readonly_id}/tables/{quote(binding.name, safe='')}/columns/"
        f"{quote(column, safe='')}/files/rowid/{rowid}"
    )
    return json.dumps({"url": path})


def _converter(column: Any, serialize: bool) -> Any:
    """A function (value, raw row) -> the field's value: as stored, or serialized exactly as the
    GraphQL scalar would (fast paths for the common types, the scalar's own serialize otherwise)."""
    if not serialize:
        return lambda value, _raw: value
    scalar_serialize = SCALARS[column.kind].serialize
    nullable = column.nullable

    def general(value: Any, _raw: Any) -> Any:
        if value is None:
            if not nullable:
                raise CellError("null in a non-null field")
            return None
        if isinstance(value, bytes) or (isinstance(value, float) and not math.isfinite(value)):
            raise CellError("not representable")
        try:
            return scalar_serialize(value)
        except GraphQLError as error:
            raise CellError(str(error)) from None

    exact: type[Any] | None = {ValueKind.INT: int, ValueKind.STRING: str, ValueKind.FLOAT: float}.get(column.kind)
    if exact is None:
        return general
    low, high = -(2**31), 2**31 - 1

    def fast(value: Any, raw: Any) -> Any:
        if (
            type(value) is exact
            and (exact is not int or low <= value <= high)
            and (exact is not float or math.isfinite(value))
        ):
            return value
        return general(value, raw)

    return fast


def _blob_converter(
    ctx: FetchContext, binding: TableBinding, column: Any, rowid_position: int | None, convert: Any
) -> Any:
    def blob(value: Any, raw: Any) -> Any:
        if value is not None:
            value = _file_url(ctx, binding, column.name, raw[rowid_position] if rowid_position is not None else None)
        return convert(value, raw)

    return blob
