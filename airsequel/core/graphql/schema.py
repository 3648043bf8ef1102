"""Building the GraphQL schema of one hosted file for one access mode, with graphql-core.

The result keeps, beside the schema, the map from GraphQL names back to real tables and columns
(bindings.py, whose names are imported from here too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
)
from graphql.type.directives import GraphQLIncludeDirective, GraphQLSkipDirective

from airsequel.core.graphql import name_checks
from airsequel.core.graphql.aggregates import AggregateTypes, bind_relationship_aggregates, relationship_fields
from airsequel.core.graphql.aggregates import root_args as aggregate_root_args
from airsequel.core.graphql.bindings import ColumnBinding, GeneratedSchema, Mode, Relationship, RootField, TableBinding
from airsequel.core.graphql.cursors import add_connection_fields
from airsequel.core.graphql.filter_types import FilterTypes
from airsequel.core.graphql.grouping import group_by_fields
from airsequel.core.graphql.live_schema import subscription_type
from airsequel.core.graphql.names import encode_name, enum_value_names, unique_name
from airsequel.core.graphql.search import add_search_fields, bind_content_tables
from airsequel.core.graphql.types import SCALARS
from airsequel.core.sql.introspection import Table
from airsequel.core.sql.value_kinds import ValueKind, column_kind


def graphql_kind(declared_type: str) -> ValueKind:
    """The column's kind for GraphQL: `ANY` (a STRICT table's any-value column, NUMERIC affinity
    elsewhere) holds text, integers, reals and BLOBs alike, so it is untyped (String), not Int."""
    if declared_type.strip().upper() == "ANY":
        return ValueKind.UNTYPED
    return column_kind(declared_type)


Resolver = Callable[..., Any]
name_checks.install()  # graphql-core's name check, at a fraction of its cost (name_checks.py)


def build_schema(tables: list[Table], mode: Mode, resolver_for: Callable[[RootField], Resolver]) -> GeneratedSchema:
    taken_types = {
        "Query",
        "Mutation",
        "IntComparison",
        "FloatComparison",
        "StringComparison",
        "BooleanComparison",
        "OrderingTerm",
        "Int",
        "Float",
        "String",
        "Boolean",
        "ID",
    }
    bindings = {table.name: _bind_table(table, taken_types) for table in tables}
    _bind_relationships(bindings)
    bind_content_tables(bindings)  # an external-content FTS5 table's row: its content row
    bind_relationship_aggregates(bindings)
    aggregate_types = AggregateTypes(mode)
    types: dict[str, dict[str, Any]] = {}

    def aggregate_fields(binding: TableBinding) -> dict[str, GraphQLField]:
        return relationship_fields(binding, aggregate_types, types)

    for binding in bindings.values():
        _build_row_type(binding, bindings, mode, taken_types, aggregate_fields)

    query_fields: dict[str, GraphQLField] = {}
    mutation_fields: dict[str, GraphQLField] = {}
    roots: dict[tuple[str, str], RootField] = {}
    taken_roots: set[str] = set()

    def add(
        operation: str,
        target: dict[str, GraphQLField],
        wanted: str,
        kind: str,
        binding: TableBinding,
        graphql_field: GraphQLField,
    ) -> None:
        name = unique_name(wanted, taken_roots)
        root = RootField(kind, binding)
        graphql_field.resolve = resolver_for(root)
        target[name] = graphql_field
        roots[(operation, name)] = root

    filter_types = FilterTypes(bindings, mode)  # filters and orderings (filter_types.py)
    types.update({name: _input_types(b, taken_types, filter_types) for name, b in bindings.items()})
    for binding in bindings.values():
        filter_type, order_type = types[binding.name]["filter"], types[binding.name]["order_by"]
        add(
            "query",
            query_fields,
            binding.base,
            "list",
            binding,
            GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(binding.built_row_type))),
                args={
                    "where": GraphQLArgument(filter_type),
                    "filter": GraphQLArgument(filter_type, deprecation_reason="Use where"),
                    "order_by": GraphQLArgument(GraphQLList(order_type)),
                    "limit": GraphQLArgument(GraphQLInt),
                    "offset": GraphQLArgument(GraphQLInt),
                    "distinct_on": GraphQLArgument(GraphQLList(GraphQLNonNull(types[binding.name]["column"]))),
                },
            ),
        )
    for binding in bindings.values():
        if binding.key and not binding.table.is_view:
            add(
                "query",
                query_fields,
                f"{binding.base}_by_pk",
                "by_pk",
                binding,
                GraphQLField(binding.built_row_type, args=_key_args(binding)),
            )
    for binding in bindings.values():
        aggregate = aggregate_types.result_type(binding, taken_types)
        add(
            "query",
            query_fields,
            f"{binding.base}_aggregate",
            "aggregate",
            binding,
            GraphQLField(GraphQLNonNull(aggregate), args=aggregate_root_args(types[binding.name], mode)),
        )

    if mode.can_read:  # keyset pages and full-text search: read fields, none for insert-only callers
        add_connection_fields(list(bindings.values()), types, taken_types, lambda *a: add("query", query_fields, *a))
        add_search_fields(list(bindings.values()), types, taken_types, lambda *a: add("query", query_fields, *a))

    if mode.can_write:
        for binding in bindings.values():
            if binding.table.is_view:
                continue
            _add_mutations(
                binding, types[binding.name], mode, taken_types, lambda *a: add("mutation", mutation_fields, *a)
            )

    # Aggregates and grouping (aggregates.py, grouping.py): readers only, named after everything else.
    aggregate_types.build(bindings, types, taken_types)
    if mode.can_read:
        for name, group_field in group_by_fields(bindings, types, aggregate_types, taken_types).items():
            add("query", query_fields, f"{bindings[name].base}_group_by", "group_by", bindings[name], group_field)

    # Every named type is handed to graphql-core up front: it then collects each one's references
    # without following them from type to type, so a long chain of foreign keys is no deep recursion.
    # ID is listed though no field uses it: AirGQL's schema has it, and clients generated from it may name it.
    named_types: list[Any] = [GraphQLID, *(b.built_row_type for b in bindings.values())]
    named_types.extend(t for table_types in types.values() for t in table_types.values())
    schema = GraphQLSchema(
        query=GraphQLObjectType("Query", query_fields or {"_empty": GraphQLField(GraphQLInt)}),
        mutation=GraphQLObjectType("Mutation", mutation_fields) if mutation_fields else None,
        subscription=subscription_type(query_fields, mode, taken_types),  # live queries (live_schema.py)
        types=named_types,
        directives=[GraphQLIncludeDirective, GraphQLSkipDirective],
    )
    return GeneratedSchema(
        schema=schema,
        mode=mode,
        tables=bindings,
        row_types={b.row_type.name: b for b in bindings.values() if b.row_type is not None},
        roots=roots,
    )


def _bind_table(table: Table, taken_types: set[str]) -> TableBinding:
    base = encode_name(table.name)
    binding = TableBinding(table=table, base=base)
    taken_fields: set[str] = set()
    rowid_name = table.rowid_name
    if rowid_name is not None:
        field_name = unique_name(rowid_name, taken_fields)
        binding.rowid = ColumnBinding(rowid_name, field_name, ValueKind.INT, nullable=False, is_rowid=True)
        binding.columns[field_name] = binding.rowid
    pk = table.primary_key
    for column in table.columns:
        field_name = unique_name(encode_name(column.name), taken_fields)
        kind = graphql_kind(column.declared_type)
        nullable = not column.not_null and not (pk and column.name == pk[0])
        binding.columns[field_name] = ColumnBinding(
            column.name,
            field_name,
            kind,
            nullable,
            writable=not column.is_generated,
            # AirGQL's rule: an integer key (SQLite assigns a rowid alias), a default, or NULL allowed.
            omittable=bool(column.pk_position and column.declared_type.lower().startswith("int"))
            or column.default is not None
            or not (column.not_null or column.pk_position),
        )
    if pk and not table.is_view:
        binding.key = [c for name in pk for c in [binding.column_by_name(name)] if c is not None]
    elif binding.rowid is not None:
        binding.key = [binding.rowid]
    return binding


def _bind_relationships(bindings: dict[str, TableBinding]) -> None:
    for binding in bindings.values():
        for key in binding.table.foreign_keys:
            target = bindings.get(key.target_table) or next(
                (b for name, b in bindings.items() if name.lower() == key.target_table.lower()), None
            )
            if target is None:
                continue
            primary_key: list[str | None] = list(target.table.primary_key) or [None] * len(key.columns)
            named = [t or p for t, p in zip(key.target_columns, primary_key)]
            target_columns = [column for column in named if column is not None]
            if len(target_columns) < len(named):
                continue
            suffix = "_and_".join(encode_name(c) for c in key.columns)
            taken = set(binding.columns) | set(binding.relationships)
            outgoing = unique_name(f"{target.base}_by_{suffix}", taken)
            binding.relationships[outgoing] = Relationship(outgoing, False, target.name, key.columns, target_columns)
            taken = set(target.columns) | set(target.relationships)
            incoming = unique_name(f"{binding.base}_by_{suffix}", taken)
            target.relationships[incoming] = Relationship(incoming, True, binding.name, target_columns, key.columns)


def _build_row_type(
    binding: TableBinding,
    bindings: dict[str, TableBinding],
    mode: Mode,
    taken_types: set[str],
    extra_fields: Callable[[TableBinding], dict[str, GraphQLField]],
) -> None:
    def fields() -> dict[str, GraphQLField]:
        result: dict[str, GraphQLField] = {}
        for name, column in binding.columns.items():
            scalar = SCALARS[column.kind]
            result[name] = GraphQLField(scalar if column.nullable else GraphQLNonNull(scalar))
        if mode.can_read:
            for name, relation in binding.relationships.items():
                target = bindings[relation.target].row_type
                assert target is not None
                result[name] = GraphQLField(
                    GraphQLNonNull(GraphQLList(GraphQLNonNull(target))) if relation.many else target
                )
        result.update(extra_fields(binding))
        return result

    binding.row_type = GraphQLObjectType(unique_name(f"{binding.base}_row", taken_types), fields)


def _input_types(binding: TableBinding, taken_types: set[str], filter_types: FilterTypes) -> dict[str, Any]:
    base = binding.base
    writable = {n: c for n, c in binding.columns.items() if c.writable}
    names = enum_value_names(list(writable))
    column_enum = GraphQLEnumType(
        unique_name(f"{base}_column", taken_types),
        {names[n]: GraphQLEnumValue(c.name) for n, c in writable.items()} or {"_none": GraphQLEnumValue(None)},
    )
    types: dict[str, Any] = {
        "filter": filter_types.filter_type(binding, taken_types),
        "order_by": filter_types.order_type(binding, taken_types),
        "insert": GraphQLInputObjectType(
            unique_name(f"{base}_insert_input", taken_types),
            {
                n: GraphQLInputField(SCALARS[c.kind] if c.omittable else GraphQLNonNull(SCALARS[c.kind]))
                for n, c in writable.items()
            }
            or {"_none": GraphQLInputField(GraphQLInt)},
        ),
        "set": GraphQLInputObjectType(
            unique_name(f"{base}_set_input", taken_types),
            {n: GraphQLInputField(SCALARS[c.kind]) for n, c in writable.items()}
            or {"_none": GraphQLInputField(GraphQLInt)},
        ),
        "column": column_enum,
    }
    types.update(filter_types.extra_types(binding, taken_types))
    return types


def _key_args(binding: TableBinding) -> dict[str, GraphQLArgument]:
    return {c.field: GraphQLArgument(GraphQLNonNull(SCALARS[c.kind])) for c in binding.key}


def _add_mutations(
    binding: TableBinding, types: dict[str, Any], mode: Mode, taken_types: set[str], add: Callable[..., None]
) -> None:
    base = binding.base
    returning = mode.can_read
    response_fields: dict[str, GraphQLField] = {"affected_rows": GraphQLField(GraphQLNonNull(GraphQLInt))}
    by_pk_fields = dict(response_fields)
    if returning:
        response_fields["returning"] = GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(binding.built_row_type))))
        by_pk_fields["returning"] = GraphQLField(binding.built_row_type)
    response = GraphQLObjectType(unique_name(f"{base}_mutation_response", taken_types), response_fields)
    by_pk_response = GraphQLObjectType(unique_name(f"{base}_mutation_by_pk_response", taken_types), by_pk_fields)
    upsert = GraphQLInputObjectType(
        unique_name(f"{base}_upsert_on_conflict", taken_types),
        {
            "constraint": GraphQLInputField(GraphQLNonNull(GraphQLList(GraphQLNonNull(types["column"])))),
            "update_columns": GraphQLInputField(GraphQLNonNull(GraphQLList(GraphQLNonNull(types["column"])))),
            "where": GraphQLInputField(types["filter"]),
        },
    )
    add(
        f"insert_{base}",
        "insert",
        binding,
        GraphQLField(
            GraphQLNonNull(response),
            args={
                "objects": GraphQLArgument(GraphQLNonNull(GraphQLList(GraphQLNonNull(types["insert"])))),
                "on_conflict": GraphQLArgument(GraphQLList(GraphQLNonNull(upsert))),
            },
        ),
    )
    if mode.inserts_only:
        return
    taken_args: set[str] = {c.field for c in binding.key}
    binding.set_args = (unique_name("_set", taken_args), unique_name("set", taken_args))
    set_arg, set_alias = binding.set_args
    # `_set` may be left out (as in AirGQL's schema): the update then says it needs columns to set.
    set_args = {
        set_arg: GraphQLArgument(types["set"]),
        set_alias: GraphQLArgument(types["set"], deprecation_reason=f"Use {set_arg}"),
    }
    add(
        f"update_{base}",
        "update",
        binding,
        GraphQLField(
            GraphQLNonNull(response),
            args={
                "_set": GraphQLArgument(types["set"]),
                "set": GraphQLArgument(types["set"], deprecation_reason="Use _set"),
                "where": GraphQLArgument(types["filter"]),
                "filter": GraphQLArgument(types["filter"], deprecation_reason="Use where"),
            },
        ),
    )
    add(
        f"delete_{base}",
        "delete",
        binding,
        GraphQLField(
            GraphQLNonNull(response),
            args={
                "where": GraphQLArgument(types["filter"]),
                "filter": GraphQLArgument(types["filter"], deprecation_reason="Use where"),
            },
        ),
    )
    if binding.key:
        add(
            f"update_{base}_by_pk",
            "update_by_pk",
            binding,
            GraphQLField(
                GraphQLNonNull(by_pk_response),
                args={**_key_args(binding), **set_args},
            ),
        )
        add(
            f"delete_{base}_by_pk",
            "delete_by_pk",
            binding,
            GraphQLField(GraphQLNonNull(by_pk_response), args=_key_args(binding)),
        )
