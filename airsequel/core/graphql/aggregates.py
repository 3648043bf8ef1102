"""Aggregates in Hasura's shape: `T_aggregate { count aggregate { count sum avg min max } nodes }` on the
root field, and `R_aggregate` beside every array relationship `R` of a row type.

Types: `count` is Int; `sum` and `avg` exist for INTEGER and REAL columns and are Float (SQLite's `sum()`:
exact while the integers fit in 64 bits, then the error "integer overflow", reported as the field's error;
`total()` would hide the overflow as a rounded float); `min` and `max` exist for every column but BLOBs and keep
the column's scalar. All are null over no rows, except the counts (0).

Statements: the root field runs one statement for `count` and `aggregate` together and one for `nodes` (a list
like `T`, capped by graphql_max_rows); a relationship's aggregate runs one `GROUP BY` statement per level for all
parent rows (aggregate_relationships.py), and one more for its `nodes`.
"""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from collections.abc import Callable
from typing import Any

import orjson
from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
)

from airsequel.core.graphql.bindings import ColumnBinding, Mode, TableBinding
from airsequel.core.graphql.cells import CellError
from airsequel.core.graphql.names import unique_name
from airsequel.core.graphql.selection import Selected
from airsequel.core.graphql.sql import column_sql, list_clauses, page
from airsequel.core.graphql.types import SCALARS
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.value_kinds import ValueKind

KEYS_PER_BATCH = 400  # parent keys per GROUP BY statement (as fetch.py loads relationships)
FUNCTIONS = ("sum", "avg", "min", "max")
OVERFLOW = (
    "The sum of an integer column is beyond 64 bits (SQLite: integer overflow): sum a REAL column, "
    "or filter to fewer rows"
)


def numeric_columns(binding: TableBinding) -> dict[str, ColumnBinding]:
    return {n: c for n, c in binding.columns.items() if c.kind in (ValueKind.INT, ValueKind.FLOAT)}


def comparable_columns(binding: TableBinding) -> dict[str, ColumnBinding]:
    return {n: c for n, c in binding.columns.items() if c.kind != ValueKind.BLOB}


def function_columns(binding: TableBinding, function: str) -> dict[str, ColumnBinding]:
    return numeric_columns(binding) if function in ("sum", "avg") else comparable_columns(binding)


# --- types -------------------------------------------------------------------------------------


class AggregateTypes:
    """The aggregate types of one schema, by real table name; filled by `build` once every table's
    input types exist (the result types' fields are thunks that read them)."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.fields: dict[str, GraphQLObjectType] = {}  # T_aggregate_fields
        self.results: dict[str, GraphQLObjectType] = {}  # T_aggregate_result
        self.values: dict[str, GraphQLObjectType] = {}  # T_values: a nullable field per column but BLOBs

    def result_type(self, binding: TableBinding, taken_types: set[str]) -> GraphQLObjectType:
        """T_aggregate_result: `count` as before, `aggregate` and `nodes` for callers who may read."""

        def fields() -> dict[str, GraphQLField]:
            result = {"count": GraphQLField(GraphQLNonNull(GraphQLInt))}
            if self.mode.can_read:
                result["aggregate"] = GraphQLField(self.fields[binding.name])
                result["nodes"] = GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(binding.built_row_type))))
            return result

        result_type = GraphQLObjectType(unique_name(f"{binding.base}_aggregate_result", taken_types), fields)
        self.results[binding.name] = result_type
        return result_type

    def build(self, bindings: dict[str, TableBinding], input_types: dict[str, dict[str, Any]], taken: set[str]) -> None:
        if not self.mode.can_read:
            return
        for binding in bindings.values():
            base = binding.base
            fields: dict[str, GraphQLField] = {
                "count": GraphQLField(
                    GraphQLNonNull(GraphQLInt),
                    args={
                        "columns": GraphQLArgument(GraphQLList(GraphQLNonNull(input_types[binding.name]["column"]))),
                        "distinct": GraphQLArgument(GraphQLBoolean),
                    },
                )
            }
            # sum and avg share one type (numeric columns, Float), min and max another (every column but
            # BLOBs, their own scalars; T_group_by's keys use it too): fewer types in a schema of many tables.
            numeric = numeric_columns(binding)
            if numeric:
                numbers = GraphQLObjectType(
                    unique_name(f"{base}_numeric_values", taken), {n: GraphQLField(GraphQLFloat) for n in numeric}
                )
                fields["sum"] = fields["avg"] = GraphQLField(numbers)
            comparable = comparable_columns(binding)
            if comparable:
                values = GraphQLObjectType(
                    unique_name(f"{base}_values", taken),
                    {n: GraphQLField(SCALARS[c.kind]) for n, c in comparable.items()},
                )
                self.values[binding.name] = values
                fields["min"] = fields["max"] = GraphQLField(values)
            self.fields[binding.name] = GraphQLObjectType(unique_name(f"{base}_aggregate_fields", taken), fields)


def root_args(binding_types: dict[str, Any], mode: Mode) -> dict[str, GraphQLArgument]:
    args = {"where": GraphQLArgument(binding_types["filter"])}
    if mode.can_read:
        args["order_by"] = GraphQLArgument(GraphQLList(binding_types["order_by"]))
        args["limit"] = GraphQLArgument(GraphQLInt)
        args["offset"] = GraphQLArgument(GraphQLInt)
        args["distinct_on"] = GraphQLArgument(GraphQLList(GraphQLNonNull(binding_types["column"])))
    return args


def bind_relationship_aggregates(bindings: dict[str, TableBinding]) -> None:
    """Name `R_aggregate` for every array relationship `R` (unique among the row type's fields)."""
    for binding in bindings.values():
        taken = set(binding.columns) | set(binding.relationships)
        for name, relation in binding.relationships.items():
            if relation.many:
                binding.aggregates[unique_name(f"{name}_aggregate", taken)] = relation


def relationship_fields(
    binding: TableBinding, aggregate_types: AggregateTypes, input_types: dict[str, dict[str, Any]]
) -> dict[str, GraphQLField]:
    if not aggregate_types.mode.can_read:
        return {}
    return {
        name: GraphQLField(
            GraphQLNonNull(aggregate_types.results[relation.target]),
            args={"where": GraphQLArgument(input_types[relation.target]["filter"])},
        )
        for name, relation in binding.aggregates.items()
    }


# --- compiling a selection into one statement's expressions and the shape of its rows ---------


Shape = list[tuple[str, str, Any]]  # (response key, "const" | "cell" | "nested", value | (position, convert) | Shape)


class Expressions:
    """The expressions one statement selects, each once, and which of them are counts (0, not null,
    for a parent without rows)."""

    def __init__(self, cell: Callable[[ColumnBinding], str] = column_sql) -> None:
        self.cell = cell  # a column in SQL: the table's, or a subquery's alias
        self.sql: list[str] = []
        self.positions: dict[str, int] = {}
        self.counts: set[int] = set()

    def need(self, expression: str, *, count: bool = False) -> int:
        if expression not in self.positions:
            self.positions[expression] = len(self.sql)
            self.sql.append(expression)
        if count:
            self.counts.add(self.positions[expression])
        return self.positions[expression]

    def empty_row(self) -> tuple[Any, ...]:
        return tuple(0 if p in self.counts else None for p in range(len(self.sql)))


def count_sql(binding: TableBinding, args: dict[str, Any], cell: Callable[[ColumnBinding], str]) -> str:
    """`count(columns:, distinct:)`: rows (no columns), rows where every named column is not null, or
    distinct non-null values (of several columns: distinct combinations)."""
    names = [n for n in dict.fromkeys(args.get("columns") or []) if n is not None]
    columns = [c for n in names for c in [binding.column_by_name(n)] if c is not None]
    distinct = bool(args.get("distinct"))
    if not columns:
        return "count(*)"
    cells = [cell(c) for c in columns]
    if len(cells) == 1:
        return f"count(DISTINCT {cells[0]})" if distinct else f"count({cells[0]})"
    all_set = " AND ".join(f"{c} IS NOT NULL" for c in cells)
    if distinct:
        combined = " || ',' || ".join(f"quote({c})" for c in cells)
        return f"count(DISTINCT CASE WHEN {all_set} THEN {combined} END)"
    return f"count(CASE WHEN {all_set} THEN 1 END)"


def aggregate_shape(
    binding: TableBinding, children: list[Selected], expressions: Expressions, serialize: bool
) -> Shape:
    """The shape of a T_aggregate_fields selection."""
    shape: Shape = []
    for child in children:
        if child.name == "__typename":
            shape.append((child.key, "const", get_named_type(child.definition.type).name))
        elif child.name == "count":
            shape.append(
                (
                    child.key,
                    "cell",
                    (expressions.need(count_sql(binding, child.args, expressions.cell), count=True), None),
                )
            )
        else:
            function = child.name
            columns = function_columns(binding, function)
            inner: Shape = []
            for item in child.children:
                if item.name == "__typename":
                    inner.append((item.key, "const", get_named_type(item.definition.type).name))
                    continue
                column = columns[item.name]
                position = expressions.need(f"{function}({expressions.cell(column)})")
                inner.append((item.key, "cell", (position, value_converter(column, function, serialize))))
            shape.append((child.key, "nested", inner))
    return shape


def result_shape(
    binding: TableBinding, children: list[Selected], expressions: Expressions, serialize: bool
) -> tuple[Shape, list[Selected]]:
    """The shape of a T_aggregate_result selection, and its `nodes` fields (fetched on their own)."""
    shape: Shape = []
    nodes: list[Selected] = []
    for child in children:
        if child.name == "__typename":
            shape.append((child.key, "const", get_named_type(child.definition.type).name))
        elif child.name == "count":
            shape.append((child.key, "cell", (expressions.need("count(*)", count=True), None)))
        elif child.name == "aggregate":
            shape.append((child.key, "nested", aggregate_shape(binding, child.children, expressions, serialize)))
        else:
            nodes.append(child)
            shape.append((child.key, "nodes", None))
    return shape, nodes


def shaped(shape: Shape, raw: tuple[Any, ...], nodes: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, kind, detail in shape:
        if kind == "const":
            result[key] = detail
        elif kind == "cell":
            position, convert = detail
            value = raw[position]
            result[key] = convert(value) if convert is not None else value
        elif kind == "nested":
            result[key] = shaped(detail, raw)
        else:
            result[key] = (nodes or {}).get(key, [])
    return result


def value_converter(column: ColumnBinding, function: str, serialize: bool) -> Callable[[Any], Any] | None:
    """sum/avg as Float, min/max as the column's scalar, serialized exactly as graphql-core would."""
    if not serialize:
        return None
    if function in ("sum", "avg"):

        def to_float(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                number = float(value)
                if math.isfinite(number):
                    return number
            raise CellError("not representable as a Float")

        return to_float
    from airsequel.core.graphql.fetch import cell_converter  # fetch imports this module

    convert = cell_converter(dataclasses.replace(column, nullable=True), serialize)
    return lambda value: convert(value, None)


def run_aggregate_sql(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Rows of an aggregate statement; SQLite's integer overflow in `sum()` is the field's error."""
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as error:
        if "integer overflow" in str(error):
            raise GraphQLError(OVERFLOW) from None
        raise


def measured(value: Any) -> int:
    return len(orjson.dumps(value, default=str))


# --- the root field ----------------------------------------------------------------------------


def fetch_aggregate(
    ctx: Any, binding: TableBinding, children: list[Selected], args: dict[str, Any], *, serialize: bool, key: str = ""
) -> dict[str, Any]:
    """T_aggregate: one statement for `count` and `aggregate` (over the rows `where`, `order_by`,
    `distinct_on`, `limit` and `offset` select), one for each `nodes` (a list, as T(...) returns it)."""
    from airsequel.core.graphql.fetch import fetch_list  # fetch imports this module

    limit, offset = args.get("limit"), args.get("offset")
    paged = limit is not None or offset is not None
    if paged:
        page(limit, offset, ctx.max_rows)  # the list's own checks and messages
    expressions = Expressions(_alias if paged else column_sql)
    shape, nodes_fields = result_shape(binding, children, expressions, serialize)
    raw: tuple[Any, ...] = ()
    if expressions.sql:
        params: list[Any] = []
        condition, order = list_clauses(binding, args, params)  # where, order_by and distinct_on, as a list's
        if paged:
            source = _limited_source(binding, condition, order, params, limit, offset or 0)
            sql = f"SELECT {', '.join(expressions.sql)} FROM ({source})"
        else:
            sql = f"SELECT {', '.join(expressions.sql)} FROM {quote_identifier(binding.name)}"
            if condition:
                sql += f" WHERE {condition}"
        raw = run_aggregate_sql(ctx.conn, sql, params)[0]
    nodes: dict[str, Any] = {}
    for child in nodes_fields:
        list_args = {k: args.get(k) for k in ("where", "order_by", "limit", "offset", "distinct_on")}
        nodes[child.key] = fetch_list(ctx, binding, child.children, list_args, serialize=serialize, key=child.key)
    result = shaped(shape, raw, nodes)
    without_nodes = {k: v for k, v in result.items() if k not in nodes}
    ctx.count_root(key, measured(without_nodes))
    return result


def _alias(column: ColumnBinding) -> str:
    return quote_identifier(f"c_{column.field}")


def _limited_source(
    binding: TableBinding, condition: str, order: str, params: list[Any], limit: Any, offset: int
) -> str:
    """The rows a limit and offset select, each column under an alias (the rowid has no name in a subquery)."""
    columns = ", ".join(f"{column_sql(c)} AS {_alias(c)}" for c in binding.columns.values()) or "1"
    sql = f"SELECT {columns} FROM {quote_identifier(binding.name)}"
    if condition:
        sql += f" WHERE {condition}"
    if order:
        sql += f" ORDER BY {order}"
    params.extend([limit, offset])
    return sql + " LIMIT ? OFFSET ?"
