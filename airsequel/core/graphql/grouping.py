"""Grouping: `T_group_by(by:, where:, having:, order_by:, limit:, offset:) { keys { ... } aggregate { ... } }`,
a list of groups with their key columns and aggregates, compiled into one statement:
`SELECT keys, aggregates FROM T WHERE ... GROUP BY keys HAVING ... ORDER BY ... LIMIT ? OFFSET ?`.

- `by: [T_column!]!` names the key columns (BLOB columns are left out); `keys` (type `T_values`, as `min` and
  `max`) has a field per column, and selecting one that is not in `by` is an error.
- `aggregate` is the same `T_aggregate_fields` as on `T_aggregate` (count, sum, avg, min, max).
- `having: T_having` ANDs conditions on aggregates: `count`, or `sum`/`avg`/`min`/`max` of a numeric column, with
  `_eq _neq _gt _gte _lt _lte` (AggregateIntComparison for counts, AggregateFloatComparison otherwise).
- `order_by: [T_group_order_by!]`: terms in list order, each `{keys: {column: ASC}}`, `{count: DESC}` or
  `{sum: {column: ASC}}` (avg, min, max alike; the columns given as in T_order_by); without it groups come in key
  order.
- `limit`/`offset` as on lists: at most graphql_max_rows groups, and without `limit` more groups is an error.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
)

from airsequel.core.graphql.aggregates import (
    FUNCTIONS,
    AggregateTypes,
    Expressions,
    Shape,
    aggregate_shape,
    function_columns,
    measured,
    numeric_columns,
    run_aggregate_sql,
    shaped,
)
from airsequel.core.graphql.bindings import ColumnBinding, TableBinding
from airsequel.core.graphql.names import unique_name
from airsequel.core.graphql.selection import Selected
from airsequel.core.graphql.sql import column_sql, page, where_sql
from airsequel.core.graphql.types import ORDERING_TERM
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.value_kinds import ValueKind

COMPARE = {"_eq": "=", "_gt": ">", "_gte": ">=", "_lt": "<", "_lte": "<="}


def _comparison(name: str, scalar: Any) -> GraphQLInputObjectType:
    return GraphQLInputObjectType(name, {op: GraphQLInputField(scalar) for op in ("_eq", "_neq", *COMPARE)})


def group_by_fields(
    bindings: dict[str, TableBinding],
    input_types: dict[str, dict[str, Any]],
    aggregate_types: AggregateTypes,
    taken: set[str],
) -> dict[str, GraphQLField]:
    """`T_group_by` per table or view with at least one column to group by, by the real table name."""
    int_comparison = _comparison(unique_name("AggregateIntComparison", taken), GraphQLInt)
    float_comparison = _comparison(unique_name("AggregateFloatComparison", taken), GraphQLFloat)
    fields: dict[str, GraphQLField] = {}
    for binding in bindings.values():
        if binding.name not in aggregate_types.values or not binding.columns:
            continue
        base = binding.base
        numeric = numeric_columns(binding)
        group = GraphQLObjectType(
            unique_name(f"{base}_group", taken),
            {
                "keys": GraphQLField(GraphQLNonNull(aggregate_types.values[binding.name])),
                "aggregate": GraphQLField(GraphQLNonNull(aggregate_types.fields[binding.name])),
            },
        )
        having_fields: dict[str, GraphQLInputField] = {"count": GraphQLInputField(int_comparison)}
        if numeric:
            having_columns = GraphQLInputObjectType(
                unique_name(f"{base}_having_columns", taken),
                {n: GraphQLInputField(float_comparison) for n in numeric},
            )
            having_fields.update({f: GraphQLInputField(having_columns) for f in FUNCTIONS})
        having = GraphQLInputObjectType(unique_name(f"{base}_having", taken), having_fields)
        # Keys and aggregates of columns are ordered with T_order_by (a column, ASC or DESC).
        order_fields: dict[str, GraphQLInputField] = {
            "keys": GraphQLInputField(input_types[binding.name]["order_by"]),
            "count": GraphQLInputField(ORDERING_TERM),
        }
        order_fields.update({f: GraphQLInputField(input_types[binding.name]["order_by"]) for f in FUNCTIONS})
        order = GraphQLInputObjectType(unique_name(f"{base}_group_order_by", taken), order_fields)
        fields[binding.name] = GraphQLField(
            GraphQLNonNull(GraphQLList(GraphQLNonNull(group))),
            args={
                "by": GraphQLArgument(GraphQLNonNull(GraphQLList(GraphQLNonNull(input_types[binding.name]["column"])))),
                "where": GraphQLArgument(input_types[binding.name]["filter"]),
                "having": GraphQLArgument(having),
                "order_by": GraphQLArgument(GraphQLList(GraphQLNonNull(order))),
                "limit": GraphQLArgument(GraphQLInt),
                "offset": GraphQLArgument(GraphQLInt),
            },
        )
    return fields


def _aggregate_sql(binding: TableBinding, function: str, field_name: str) -> str:
    column = function_columns(binding, function).get(field_name)
    if column is None:
        raise GraphQLError(
            f"{function} of {field_name}: not a column {function} takes (sum and avg take INTEGER and REAL columns, "
            "min and max every column but BLOBs)"
        )
    return f"{function}({column_sql(column)})"


def having_sql(binding: TableBinding, having: dict[str, Any] | None, params: list[Any]) -> str:
    parts: list[str] = []
    for name, value in (having or {}).items():
        if value is None:
            continue
        if name == "count":
            parts.extend(_compare("count(*)", value, params))
            continue
        for field_name, comparison in value.items():
            if comparison is not None:
                parts.extend(_compare(_aggregate_sql(binding, name, field_name), comparison, params))
    return " AND ".join(parts)


def _compare(expression: str, comparison: dict[str, Any], params: list[Any]) -> list[str]:
    if not comparison:
        raise GraphQLError("A having condition must not be empty")
    parts = []
    for operator, value in comparison.items():
        if operator == "_eq" and value is None:
            parts.append(f"{expression} IS NULL")
        elif operator == "_neq":
            params.append(value)
            parts.append(f"{expression} IS NOT ?")
        elif value is None:
            parts.append("0")
        else:
            params.append(value)
            parts.append(f"{expression} {COMPARE[operator]} ?")
    return parts


def group_order_sql(binding: TableBinding, order_by: list[dict[str, Any]] | None, by: list[ColumnBinding]) -> str:
    terms: list[str] = []
    for item in order_by or []:
        if not item:
            raise GraphQLError("Order must not be empty")
        for name, value in item.items():
            if value is None:
                continue  # a null term orders nothing, as in lists
            if name == "count":
                terms.append(f"count(*) {value}")
            elif name == "keys":
                for field_name, direction in value.items():
                    if direction is None:
                        continue
                    column = binding.columns.get(field_name)  # None: a relationship of T_order_by
                    if column is None or column not in by:  # (a BLOB column is never in by)
                        raise GraphQLError(f"order_by keys.{field_name}: the column is not in by")
                    terms.append(f"{column_sql(column)} {direction}")
            else:
                for field_name, direction in value.items():
                    if direction is not None:
                        terms.append(f"{_aggregate_sql(binding, name, field_name)} {direction}")
    return ", ".join(terms or [f"{column_sql(c)} ASC" for c in by])


def fetch_groups(
    ctx: Any, binding: TableBinding, children: list[Selected], args: dict[str, Any], *, serialize: bool, key: str = ""
) -> list[dict[str, Any]]:
    from airsequel.core.graphql.fetch import ROWS_PER_CHUNK, cell_converter  # fetch imports aggregates

    named = [binding.column_by_name(name) for name in dict.fromkeys(args.get("by") or []) if name is not None]
    by = [column for column in named if column is not None and column.kind != ValueKind.BLOB]
    if not by:
        raise GraphQLError("by must name at least one column to group by")
    expressions = Expressions()
    group_keys = [expressions.need(column_sql(c)) for c in by]
    shape: Shape = []
    for child in children:
        if child.name == "__typename":
            shape.append((child.key, "const", get_named_type(child.definition.type).name))
        elif child.name == "keys":
            inner: Shape = []
            for item in child.children:
                if item.name == "__typename":
                    inner.append((item.key, "const", get_named_type(item.definition.type).name))
                    continue
                column = binding.columns[item.name]
                if column not in by:
                    raise GraphQLError(f"keys.{item.name}: the column is not in by, so the group has no value for it")
                convert = cell_converter(column, serialize) if serialize else None
                inner.append((item.key, "cell", (group_keys[by.index(column)], _keyed(convert) if convert else None)))
            shape.append((child.key, "nested", inner))
        else:
            shape.append((child.key, "nested", aggregate_shape(binding, child.children, expressions, serialize)))
    params: list[Any] = []
    condition = where_sql(binding, args.get("where"), params)
    sql = f"SELECT {', '.join(expressions.sql)} FROM {quote_identifier(binding.name)}"
    if condition:
        sql += f" WHERE {condition}"
    sql += " GROUP BY " + ", ".join(column_sql(c) for c in by)
    having = having_sql(binding, args.get("having"), params)
    if having:
        sql += f" HAVING {having}"
    sql += f" ORDER BY {group_order_sql(binding, args.get('order_by'), by)} LIMIT ? OFFSET ?"
    limit, offset, explicit = page(args.get("limit"), args.get("offset"), ctx.max_rows)
    params.extend([limit, offset])
    budget = ctx.bytes_left()
    groups: list[dict[str, Any]] = []
    total = 2
    raw_rows = run_aggregate_sql(ctx.conn, sql, params)
    for start in range(0, len(raw_rows), ROWS_PER_CHUNK):
        chunk = [shaped(shape, raw) for raw in raw_rows[start : start + ROWS_PER_CHUNK]]
        total += measured(chunk)
        if total > budget:
            ctx.refuse()
        groups.extend(chunk)
    if not explicit and len(groups) > ctx.max_rows:
        raise GraphQLError(
            f"The query would return more than {ctx.max_rows} groups, the maximum: use limit (and offset) to page"
        )
    ctx.count_root(key, total)
    return groups


def _keyed(convert: Any) -> Any:
    return lambda value: convert(value, None)
