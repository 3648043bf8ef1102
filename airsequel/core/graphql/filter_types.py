"""The filter and ordering input types of each table: T_filter (columns' comparisons, `_and`, `_or`,
`_not`, and a field per relationship holding the related table's T_filter) and T_order_by (columns,
object relationships holding the parent's T_order_by, `<relationship>_aggregate` for array
relationships holding T_aggregate_order_by: count, max and min of a column).

The types refer to each other (artists_filter -> albums_filter -> artists_filter): their fields are
thunks, resolved once every table's types exist. Each type's out_type tags its coerced value with
its table (filters.TableArgument), so the compiler knows which table a nested value belongs to.
Relationship fields exist only for callers that may read: they are the row types' fields too.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLInputField, GraphQLInputObjectType, GraphQLInt, GraphQLList, GraphQLNonNull

from airsequel.core.graphql.bindings import Mode, TableBinding
from airsequel.core.graphql.filters import LOGICAL, TableArgument
from airsequel.core.graphql.names import unique_name
from airsequel.core.graphql.ordering import AGGREGATES, aggregate_fields
from airsequel.core.graphql.types import COMPARISONS, ORDERING_TERM, SCALARS
from airsequel.core.sql.value_kinds import ValueKind


def _tagger(binding: TableBinding) -> Any:
    return lambda value: TableArgument(value, binding)


class FilterTypes:
    """Builds, per table, its filter and order_by types (names reserved in the schema's order)."""

    def __init__(self, bindings: dict[str, TableBinding], mode: Mode) -> None:
        self.bindings = bindings
        self.relationships = mode.can_read
        self.filters: dict[str, GraphQLInputObjectType] = {}
        self.orders: dict[str, GraphQLInputObjectType] = {}
        self.aggregate_orders: dict[str, GraphQLInputObjectType] = {}

    def filter_type(self, binding: TableBinding, taken_types: set[str]) -> GraphQLInputObjectType:
        def fields() -> dict[str, GraphQLInputField]:
            result: dict[str, GraphQLInputField] = {
                n: GraphQLInputField(COMPARISONS[SCALARS[c.kind]])
                for n, c in binding.columns.items()
                if c.kind != ValueKind.BLOB
            }
            if not result and not self.relationships:
                return {"_none": GraphQLInputField(GraphQLInt)}
            if self.relationships:
                for name, relation in binding.relationships.items():
                    result[name] = GraphQLInputField(
                        self.filters[relation.target],
                        description=f"Rows with {'a related row' if relation.many else 'a parent row'} "
                        f"in {relation.target} matching this filter",
                    )
            own = self.filters[binding.name]
            for name in LOGICAL:
                if name not in binding.columns and name not in binding.relationships:
                    type_: Any = own if name == "_not" else GraphQLList(GraphQLNonNull(own))
                    result[name] = GraphQLInputField(type_)
            return result

        created = GraphQLInputObjectType(
            unique_name(f"{binding.base}_filter", taken_types), fields, out_type=_tagger(binding)
        )
        self.filters[binding.name] = created
        return created

    def order_type(self, binding: TableBinding, taken_types: set[str]) -> GraphQLInputObjectType:
        def fields() -> dict[str, GraphQLInputField]:
            result: dict[str, GraphQLInputField] = {n: GraphQLInputField(ORDERING_TERM) for n in binding.columns}
            if self.relationships:
                for name, relation in binding.relationships.items():
                    if not relation.many:
                        result[name] = GraphQLInputField(self.orders[relation.target])
                for name, relation in aggregate_fields(binding).items():
                    result[name] = GraphQLInputField(self.aggregate_orders[relation.target])
            return result or {"_none": GraphQLInputField(ORDERING_TERM)}

        created = GraphQLInputObjectType(
            unique_name(f"{binding.base}_order_by", taken_types), fields, out_type=_tagger(binding)
        )
        self.orders[binding.name] = created
        return created

    def extra_types(self, binding: TableBinding, taken_types: set[str]) -> dict[str, GraphQLInputObjectType]:
        """Named after the table's other input types: T_aggregate_order_by, T_max_order_by, T_min_order_by."""
        if not self.relationships or not any(not r.many for r in binding.relationships.values()):
            return {}  # no array relationship reaches this table: nothing orders by its aggregates
        columns = {n: GraphQLInputField(ORDERING_TERM) for n, c in binding.columns.items() if c.kind != ValueKind.BLOB}
        by_function = {
            function: GraphQLInputObjectType(
                unique_name(f"{binding.base}_{function}_order_by", taken_types),
                columns or {"_none": GraphQLInputField(ORDERING_TERM)},
            )
            for function in AGGREGATES
        }
        aggregate = GraphQLInputObjectType(
            unique_name(f"{binding.base}_aggregate_order_by", taken_types),
            {"count": GraphQLInputField(ORDERING_TERM), **{f: GraphQLInputField(t) for f, t in by_function.items()}},
            out_type=_tagger(binding),
        )
        self.aggregate_orders[binding.name] = aggregate
        return {"aggregate_order_by": aggregate, **{f"{f}_order_by": t for f, t in by_function.items()}}
