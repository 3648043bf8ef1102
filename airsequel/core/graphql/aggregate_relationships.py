"""`R_aggregate` beside every array relationship `R`: the aggregates of each parent row's related rows, for all
parent rows of a level in one `GROUP BY` statement per 400 parent keys (as fetch.py loads relationships), plus
one statement for `nodes` when selected. Parents without related rows get counts of 0 and nulls."""

from __future__ import annotations

from typing import Any

from airsequel.core.graphql.aggregates import (
    KEYS_PER_BATCH,
    Expressions,
    measured,
    result_shape,
    run_aggregate_sql,
    shaped,
)
from airsequel.core.graphql.bindings import Relationship
from airsequel.core.graphql.selection import Selected
from airsequel.core.graphql.sql import keys_in, order_sql, where_sql
from airsequel.core.sql.script import quote_identifier


def attach_aggregate(
    ctx: Any,
    rows: list[dict[str, Any]],
    sizes: list[int] | None,
    keys: list[tuple[Any, ...]],
    child: Selected,
    relation: Relationship,
    *,
    serialize: bool,
) -> int:
    """`R_aggregate` for all `rows` of a level: one GROUP BY statement per 400 parent keys (plus one
    for `nodes`, if selected). Returns the bytes added to the rows together (and adds each row's to `sizes`)."""
    from airsequel.core.graphql.fetch import GRAPHQL_CORE_OBJECT_BYTES, select_rows  # fetch imports this module

    target = ctx.schema.tables[relation.target]
    distinct = list(dict.fromkeys(key for key in keys if None not in key))
    expressions = Expressions()
    key_positions = [expressions.need(quote_identifier(c)) for c in relation.target_columns]
    shape, nodes_fields = result_shape(target, child.children, expressions, serialize)
    aggregates_selected = len(expressions.sql) > len(key_positions)
    found: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    nodes: dict[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = {}
    where = child.args.get("where")
    budget = ctx.bytes_left()
    for start in range(0, len(distinct), KEYS_PER_BATCH):
        batch = distinct[start : start + KEYS_PER_BATCH]
        params: list[Any] = [value for key in batch for value in key]
        condition = keys_in([quote_identifier(c) for c in relation.target_columns], len(batch))
        filtered = where_sql(target, where, params)
        if filtered:
            condition += f" AND ({filtered})"
        if aggregates_selected:
            group = ", ".join(quote_identifier(c) for c in relation.target_columns)
            sql = f"SELECT {', '.join(expressions.sql)} FROM {quote_identifier(target.name)} WHERE {condition}"
            for raw in run_aggregate_sql(ctx.conn, sql + f" GROUP BY {group}", params):
                found[tuple(raw[p] for p in key_positions)] = raw
        for node_field in nodes_fields:
            fetched = select_rows(
                ctx,
                target,
                node_field.children,
                condition,
                params,
                order_sql(target, None),
                None,
                0,
                serialize=serialize,
                hidden=[quote_identifier(c) for c in relation.target_columns],
            )
            if fetched.total > budget:
                ctx.refuse()
            for row, row_key in zip(fetched.rows, fetched.hidden):
                nodes.setdefault(row_key, {}).setdefault(node_field.key, []).append(row)
    empty_raw = expressions.empty_row()
    values: dict[tuple[Any, ...], dict[str, Any]] = {}
    value_sizes: dict[tuple[Any, ...], int] = {}
    overhead = len(child.key) + 4
    weight = 0 if serialize else GRAPHQL_CORE_OBJECT_BYTES
    added = 0
    for row, key in zip(rows, keys):
        value = values.get(key)
        if value is None:
            value = shaped(shape, found.get(key, empty_raw), nodes.get(key))
            values[key] = value
            value_sizes[key] = overhead + measured(value)
        row[child.key] = value  # parents with one key share one value
        added += value_sizes[key] + weight
    if sizes is not None:
        sizes[:] = [size + value_sizes[key] + weight for size, key in zip(sizes, keys)]
    return added
