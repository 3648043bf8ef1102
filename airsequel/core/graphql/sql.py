"""GraphQL arguments as SQL: filters (filters.py, comparisons.py), ordering (ordering.py),
`distinct_on`, paging. Identifiers are real names, quoted; every value is a bound parameter."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from airsequel.core.graphql.bindings import TableBinding
from airsequel.core.graphql.comparisons import bind_value, column_sql, like_to_glob
from airsequel.core.graphql.filters import distinct_sql, where_sql
from airsequel.core.graphql.ordering import order_sql

__all__ = ["column_sql", "key_condition", "like_to_glob", "list_clauses", "order_sql", "page", "where_sql"]


def list_clauses(binding: TableBinding, args: dict[str, Any], params: list[Any]) -> tuple[str, str]:
    """A list field's WHERE condition ("" for none) and ORDER BY terms, from its where (or filter),
    order_by and distinct_on arguments; the condition's values are appended to `params`."""
    where_params: list[Any] = []
    condition = where_sql(binding, args.get("where") or args.get("filter"), where_params)
    order = order_sql(binding, args.get("order_by"))
    distinct_on = args.get("distinct_on")
    if distinct_on:
        return distinct_sql(binding, distinct_on, args.get("order_by"), condition, where_params, order, params), order
    params.extend(where_params)
    return condition, order


def page(limit: int | None, offset: int | None, max_rows: int) -> tuple[int, int, bool]:
    """(limit, offset, explicit): the row cap `max_rows` applies when no limit was given."""
    if limit is not None and limit < 0:
        raise GraphQLError("limit must be positive")
    if offset is not None and offset < 0:
        raise GraphQLError("offset must be positive")
    if offset is not None and limit is None:
        raise GraphQLError("cannot specify offset without also specifying a limit")
    if limit is None:
        return max_rows + 1, 0, False
    return min(limit, max_rows), offset or 0, True


def key_condition(binding: TableBinding, args: dict[str, Any], params: list[Any]) -> str:
    parts = []
    for column in binding.key:
        params.append(bind_value(column, args[column.field]))
        parts.append(f"{column_sql(column)} = ?")
    return " AND ".join(parts)


def keys_in(columns: list[str], count: int) -> str:
    """`columns` (SQL expressions) equal one of `count` keys, bound as that many `?` (or tuples of them):
    the condition of a batch of keys, each key's values given in order."""
    if len(columns) == 1:
        return f"{columns[0]} IN ({', '.join('?' for _ in range(count))})"
    marks = "(" + ", ".join("?" for _ in columns) + ")"
    return f"({', '.join(columns)}) IN (VALUES {', '.join(marks for _ in range(count))})"
