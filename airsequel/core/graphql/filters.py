"""A T_filter value as one SQL condition: columns' comparisons, `_and`/`_or`/`_not` (nestable), and
relationships (exists semantics, nestable); and `distinct_on` as a condition on the same statement.

A relationship is `key IN (SELECT related key FROM related AS "t1" WHERE ...)`: the root table is
referred to by its own quoted name, every subquery's table by a fresh quoted alias ("t1", "t2", ...
never the root's name), so nested levels never collide, a table related to itself included. Values
are bound parameters.

A filter value coerced by graphql-core is a `TableArgument`: a dict that knows its table (the input
type's out_type sets it, filter_types.py), which is how a relationship's filter finds the related
table's columns.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from airsequel.core.graphql.bindings import Relationship, TableBinding
from airsequel.core.graphql.comparisons import balanced, column_sql, comparison_sql
from airsequel.core.sql.script import quote_identifier

LOGICAL = ("_and", "_or", "_not")
MAX_RELATIONSHIP_DEPTH = 8  # relationships a filter or an ordering may nest, one in another
MAX_LOGIC_DEPTH = 32  # _and, _or and _not one in another


class TableArgument(dict[str, Any]):
    """A coerced filter (or ordering) input object of one table's type."""

    binding: TableBinding

    def __init__(self, value: dict[str, Any], binding: TableBinding) -> None:
        super().__init__(value)
        self.binding = binding


class Aliases:
    """Fresh aliases for one statement's subqueries: t1, t2, ..., skipping the root table's name."""

    def __init__(self, root_name: str) -> None:
        self.root = root_name.lower()
        self.count = 0

    def next(self) -> str:
        while True:
            self.count += 1
            alias = f"t{self.count}"
            if alias != self.root:
                return quote_identifier(alias)


def where_sql(
    binding: TableBinding, where: dict[str, Any] | None, params: list[Any], *, qualifier: str | None = None
) -> str:
    """`where` (a T_filter value) as a SQL condition, appending values to `params`; "" for none.
    Columns are qualified by `qualifier` (SQL: an alias or quoted name; default the table's quoted name)."""
    if not where:
        return ""
    return _filter(binding, where, params, qualifier or quote_identifier(binding.name), Aliases(binding.name), 0)


def _filter(
    binding: TableBinding,
    where: dict[str, Any],
    params: list[Any],
    qualifier: str,
    aliases: Aliases,
    depth: int,
    logic: int = 0,
) -> str:
    if logic > MAX_LOGIC_DEPTH:  # SQLite's parser refuses deep expressions with a message of its own
        raise GraphQLError(f"Filters may nest _and, _or and _not at most {MAX_LOGIC_DEPTH} levels deep")
    parts: list[str] = []
    for field_name, value in where.items():
        column = binding.columns.get(field_name)
        if column is not None:
            parts.append(comparison_sql(column, value, params, qualifier))
            continue
        relation = binding.relationships.get(field_name)
        if relation is not None:
            if value is not None:
                parts.append(_exists(binding, relation, value, params, qualifier, aliases, depth + 1))
            continue
        if field_name not in LOGICAL:
            raise GraphQLError(f"Unknown filter field {field_name}")
        if value is None:
            continue
        if field_name == "_not":
            inner = _filter(binding, value, params, qualifier, aliases, depth, logic + 1) if value else "1"
            parts.append(f"NOT ({inner})")
            continue
        branches = [
            (_filter(binding, item, params, qualifier, aliases, depth, logic + 1) if item else "1") for item in value
        ]
        if field_name == "_and":
            parts.append(balanced(branches, "AND") if branches else "1")
        else:
            parts.append(balanced(branches, "OR") if branches else "0")
    if not parts:
        return "1"
    return balanced(parts, "AND")


def related_binding(binding: TableBinding, relation: Relationship, value: Any) -> TableBinding:
    target = getattr(value, "binding", None)
    if not isinstance(target, TableBinding) or target.name != relation.target:
        raise GraphQLError(f"The value of {relation.field} is not a filter of {relation.target!r}")
    return target


def correlation(relation: Relationship, outer: str, alias: str) -> str:
    """The related row's columns (under `alias`) equal this row's (under `outer`)."""
    return " AND ".join(
        f"{alias}.{quote_identifier(target)} = {outer}.{quote_identifier(local)}"
        for local, target in zip(relation.local_columns, relation.target_columns)
    )


def check_depth(depth: int) -> None:
    if depth > MAX_RELATIONSHIP_DEPTH:
        raise GraphQLError(f"Filters and orderings may nest at most {MAX_RELATIONSHIP_DEPTH} relationships")


def _exists(
    binding: TableBinding,
    relation: Relationship,
    value: dict[str, Any],
    params: list[Any],
    outer: str,
    aliases: Aliases,
    depth: int,
) -> str:
    """A row's children (array relationship) or its parent (object relationship) match `value`: the
    row's key is among the keys of the matching related rows. The subquery is not correlated, so
    SQLite runs it once (a list it looks keys up in) rather than once per row, which without an index
    on the foreign key would scan the related table for every row. NULL keys match nothing (coalesce:
    `_not` of it keeps them, as NOT EXISTS would)."""
    check_depth(depth)
    target = related_binding(binding, relation, value)
    alias = aliases.next()
    keys = [f"{alias}.{quote_identifier(c)}" for c in relation.target_columns]
    conditions = [f"{key} IS NOT NULL" for key in keys]
    if value:
        conditions.append(_filter(target, value, params, alias, aliases, depth))
    local = [f"{outer}.{quote_identifier(c)}" for c in relation.local_columns]
    left = local[0] if len(local) == 1 else "(" + ", ".join(local) + ")"
    subquery = (
        f"SELECT {', '.join(keys)} FROM {quote_identifier(target.name)} AS {alias} WHERE {' AND '.join(conditions)}"
    )
    return f"coalesce({left} IN ({subquery}), 0)"


def distinct_sql(
    binding: TableBinding,
    distinct_on: list[str | None],
    order_by: list[dict[str, Any]] | None,
    condition: str,
    condition_params: list[Any],
    order: str,
    params: list[Any],
) -> str:
    """`distinct_on` (real column names) as a condition: the row is the first, in `order`, of the rows
    matching `condition` with its values of those columns. One statement: a window function numbers
    each set's rows. `order_by` must start with the distinct_on columns (as in Hasura)."""
    columns = []
    for name in dict.fromkeys(distinct_on):
        column = binding.column_by_name(name) if name is not None else None
        if column is None:
            raise GraphQLError("distinct_on: the table has no column to be distinct on")
        columns.append(column)
    if not columns:
        return condition
    leading: list[str] = []
    for item in order_by or []:
        leading.extend(item.keys())
    wanted = {c.field for c in columns}
    if order_by and set(leading[: len(columns)]) != wanted:
        raise GraphQLError(
            "distinct_on: order_by must start with the distinct_on columns ("
            + ", ".join(c.field for c in columns)
            + "), in any order, before any other term"
        )
    keys = [binding.rowid] if binding.rowid is not None else binding.key
    if not keys:
        raise GraphQLError("distinct_on needs a table with a rowid or a primary key (this is a view)")
    names = [quote_identifier(f"_k{i}") for i in range(len(keys))]
    selected = ", ".join(f"{column_sql(k)} AS {n}" for k, n in zip(keys, names))
    partition = ", ".join(column_sql(c) for c in columns)
    inner = f'SELECT {selected}, ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {order}) AS "_n" FROM {quote_identifier(binding.name)}'
    if condition:
        inner += f" WHERE {condition}"
        params.extend(condition_params)
    outer = quote_identifier(binding.name)
    key_sql = ", ".join(column_sql(k, outer) for k in keys)
    if len(keys) > 1:
        key_sql = f"({key_sql})"
    return f'{key_sql} IN (SELECT {", ".join(names)} FROM ({inner}) WHERE "_n" = 1)'
