"""A T_order_by list as SQL ORDER BY terms: columns, a related row's column (object relationship:
`{artist_by_artist_id: {name: DESC}}`) and an aggregate of related rows (array relationship:
`{albums_by_artist_id_aggregate: {count: DESC}}`, or `max`/`min` of a column), the last two as
subqueries in the ORDER BY of the same statement: a parent looked up by its key (a primary key or
unique columns, indexed), children grouped once per term. No value is bound: terms are names.

A row without a related row (a NULL foreign key) has NULL there, which sorts first ascending (as
SQLite sorts NULLs); a row without children counts 0.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from airsequel.core.graphql.bindings import Relationship, TableBinding
from airsequel.core.graphql.comparisons import column_sql
from airsequel.core.graphql.filters import Aliases, check_depth, correlation, related_binding
from airsequel.core.graphql.names import unique_name
from airsequel.core.sql.script import quote_identifier

AGGREGATES = ("max", "min")  # beside count: of one column of the related rows
_DIRECTIONS = {"ASC", "DESC"}


def aggregate_fields(binding: TableBinding) -> dict[str, Relationship]:
    """The order_by fields for aggregates of array relationships: `<relationship>_aggregate`."""
    taken = set(binding.columns) | set(binding.relationships)
    return {
        unique_name(f"{name}_aggregate", taken): relation
        for name, relation in binding.relationships.items()
        if relation.many
    }


def order_sql(binding: TableBinding, order_by: list[dict[str, Any]] | None, *, qualifier: str | None = None) -> str:
    """ORDER BY terms; without order_by the rowid (or the key) ascending. Plain columns are left
    unqualified unless `qualifier` is given; related rows correlate with `qualifier` or the table's name."""
    terms: list[str] = []
    outer = qualifier or quote_identifier(binding.name)
    aliases = Aliases(binding.name)
    for item in order_by or []:
        if not item:
            raise GraphQLError("Order must not be empty")
        terms.extend(_terms(binding, item, qualifier, outer, aliases, 0))
    if not terms:
        if binding.rowid is not None:
            terms = [f"{column_sql(binding.rowid, qualifier)} ASC"]
        elif binding.key:
            terms = [f"{column_sql(c, qualifier)} ASC" for c in binding.key]
    return ", ".join(terms)


def _direction(value: Any) -> str:
    if value not in _DIRECTIONS:
        raise GraphQLError(f"Unknown order {value!r}")
    return str(value)


def _terms(
    binding: TableBinding, item: dict[str, Any], qualifier: str | None, outer: str, aliases: Aliases, depth: int
) -> list[str]:
    """Each term as (expression) direction; nested levels give their expressions wrapped in the subquery."""
    terms = []
    aggregates = None
    for field_name, value in item.items():
        if value is None:
            continue
        column = binding.columns.get(field_name)
        if column is not None:
            terms.append(f"{column_sql(column, qualifier)} {_direction(value)}")
            continue
        relation = binding.relationships.get(field_name)
        if relation is not None and not relation.many:
            check_depth(depth + 1)
            target = related_binding(binding, relation, value)
            alias = aliases.next()
            source = f"FROM {quote_identifier(target.name)} AS {alias} WHERE {correlation(relation, outer, alias)}"
            for inner in _terms(target, value, alias, alias, aliases, depth + 1):
                expression, direction = inner.rsplit(" ", 1)
                terms.append(f"(SELECT {expression} {source}) {direction}")
            continue
        if aggregates is None:
            aggregates = aggregate_fields(binding)
        relation = aggregates.get(field_name)
        if relation is None:
            raise GraphQLError(f"Unknown order field {field_name}")
        check_depth(depth + 1)
        target = related_binding(binding, relation, value)
        for function, inner_value in value.items():
            if inner_value is None:
                continue
            if function == "count":
                counted = _per_parent(target, relation, "count(*)", outer, aliases.next())
                terms.append(f"coalesce({counted}, 0) {_direction(inner_value)}")
                continue
            if function not in AGGREGATES:
                raise GraphQLError(f"Unknown aggregate {function}")
            for column_field, direction in inner_value.items():
                if direction is None:
                    continue
                aggregated = column_sql(target.columns[column_field], quote_identifier(target.name))
                found = _per_parent(target, relation, f"{function}({aggregated})", outer, aliases.next())
                terms.append(f"{found} {_direction(direction)}")
    return terms


def _per_parent(target: TableBinding, relation: Relationship, expression: str, outer: str, alias: str) -> str:
    """`expression` (an aggregate over `target`'s rows) for this row's children. The children are
    grouped once, in a subquery SQLite materializes and looks rows up in (an automatic index), not
    counted again for every row: without an index on the foreign key that would scan them per row."""
    table = quote_identifier(target.name)
    keys = [quote_identifier(f"_k{i}") for i in range(len(relation.target_columns))]
    columns = [f"{table}.{quote_identifier(c)}" for c in relation.target_columns]
    selected = ", ".join(f"{c} AS {k}" for c, k in zip(columns, keys))
    grouped = f'SELECT {selected}, {expression} AS "_v" FROM {table} GROUP BY {", ".join(columns)}'
    match = " AND ".join(
        f"{alias}.{k} = {outer}.{quote_identifier(local)}" for k, local in zip(keys, relation.local_columns)
    )
    return f'(SELECT {alias}."_v" FROM ({grouped}) AS {alias} WHERE {match})'
