"""GraphQL arguments as SQL: filters, ordering, paging. Identifiers are real names, quoted;
every value is a bound parameter."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from airsequel.core.graphql.bindings import ColumnBinding, TableBinding
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.value_kinds import ValueKind

_COMPARE = {"_eq": "=", "_gt": ">", "_gte": ">=", "_lt": "<", "_lte": "<="}


def column_sql(column: ColumnBinding) -> str:
    return column.name if column.is_rowid else quote_identifier(column.name)


def where_sql(binding: TableBinding, where: dict[str, Any] | None, params: list[Any]) -> str:
    """`where` (a T_filter value) as a SQL condition, appending values to `params`; "" for none."""
    if not where:
        return ""
    parts: list[str] = []
    for field_name, comparison in where.items():
        column = binding.columns[field_name]
        if not comparison:
            raise GraphQLError("Filter must not be empty")
        for raw_operator, value in comparison.items():
            operator = raw_operator if raw_operator.startswith("_") else f"_{raw_operator}"
            parts.append(_condition(column, operator, value, params))
    return " AND ".join(parts)


def _bind(column: ColumnBinding, value: Any) -> Any:
    if column.kind == ValueKind.BOOLEAN and isinstance(value, bool):
        return int(value)
    return value


def _condition(column: ColumnBinding, operator: str, value: Any, params: list[Any]) -> str:
    sql = column_sql(column)
    if column.kind == ValueKind.BOOLEAN and isinstance(value, bool) and operator in ("_eq", "_neq"):
        # Any non-zero integer reads as true, so compare the way the value is shown.
        is_true, is_false = f"({sql} IS NOT NULL AND {sql} <> 0)", f"{sql} = 0"
        if operator == "_eq":
            return is_true if value else is_false
        return f"({sql} IS NULL OR {is_false if value else is_true})"
    if operator == "_eq" and value is None:
        return f"{sql} IS NULL"
    if operator == "_neq":
        if value is None:
            return f"{sql} IS NOT NULL"
        params.append(_bind(column, value))
        return f"({sql} IS NOT ? OR {sql} IS NULL)"
    if operator in _COMPARE:
        if value is None:
            return "0"
        params.append(_bind(column, value))
        return f"{sql} {_COMPARE[operator]} ?"
    if operator in ("_in", "_nin"):
        given = value or []
        values = [_bind(column, v) for v in given if v is not None]
        with_null = len(values) < len(given)
        params.extend(values)
        marks = ", ".join("?" for _ in values)
        if operator == "_in":
            found = f"{sql} IN ({marks})" if values else "0"
            return f"({found} OR {sql} IS NULL)" if with_null else found
        if with_null:  # not any of the values, and not empty
            return f"({sql} NOT IN ({marks}) AND {sql} IS NOT NULL)" if values else f"{sql} IS NOT NULL"
        return f"({sql} NOT IN ({marks}) OR {sql} IS NULL)" if values else "1"
    if operator in ("_like", "_ilike"):
        if value is None:
            return "0"
        # The pattern has the column's scalar type (as in AirGQL): `_like: 12` matches the text 12.
        pattern = value if isinstance(value, str) else str(_bind(column, value))
        if operator == "_like":
            params.append(like_to_glob(pattern))
            return f"{sql} GLOB ?"
        params.append(pattern)
        return f"{sql} LIKE ? ESCAPE '\\'"
    raise GraphQLError(f"Unknown filter operator {operator}")


def like_to_glob(pattern: str) -> str:
    """A LIKE pattern (case-insensitive in SQLite) as a GLOB pattern (case-sensitive)."""
    out: list[str] = []
    escaped = False
    for ch in pattern:
        if escaped:
            out.append(f"[{ch}]" if ch in "*?[" else ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


def order_sql(binding: TableBinding, order_by: list[dict[str, str]] | None) -> str:
    terms: list[str] = []
    for item in order_by or []:
        if not item:
            raise GraphQLError("Order must not be empty")
        for field_name, direction in item.items():
            terms.append(f"{column_sql(binding.columns[field_name])} {direction}")
    if not terms:
        if binding.rowid is not None:
            terms = [f"{binding.rowid.name} ASC"]
        elif binding.key:
            terms = [f"{column_sql(c)} ASC" for c in binding.key]
    return ", ".join(terms)


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
        params.append(_bind(column, args[column.field]))
        parts.append(f"{column_sql(column)} = ?")
    return " AND ".join(parts)
