"""What a GraphQL operation may ask for, checked on the document before any SQL runs.

- Depth (`graphql_max_depth`): a root field is level 1, each object field below it one more
  (`{ a { b_by_x { c } } }` is 2 levels: scalars add none). Introspection (`__schema`, `__type`)
  does not count: it reads no rows and GraphiQL's own query is 12 levels deep; its allowance bounds it.
- Cost (`graphql_max_cost`): the rows the operation may produce, estimated. Each object field
  produces its parent's rows times its own row limit: a root list its `limit` (at most
  `graphql_max_rows`, which is also the default), a `_by_pk`, aggregate, outgoing relationship or
  mutation response 1, a nested list (an incoming relationship, which has no limit argument)
  NESTED_LIST_ROWS per parent row, `returning` the objects inserted (update and delete:
  `graphql_max_rows`). Aggregates: an aggregate object 1, its `nodes` the root's `limit` (or
  `graphql_max_rows`), an `R_aggregate`'s `nodes` NESTED_LIST_ROWS per parent row, `T_group_by` its `limit`
  (or `graphql_max_rows`) groups. Aliases are separate fields, so they add up.
- Introspection reads no rows and has its own allowance: twice the schema's size (or the cost limit,
  if larger). Its lists count their average length in this schema per parent, so GraphiQL's query
  is estimated at the schema's size, and aliases or lists nested back and forth multiply.
- An insert-only caller may not use `on_conflict`: an upsert changes existing rows, and whether it
  did (`affected_rows`) tells what they hold.

The walk follows graphql-core's field collection (fragments, `@skip`/`@include`, merged response
keys), iteratively, and gives up after MAX_VISITS fields so that fragments spread inside fragments
cannot make the check itself expensive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    is_list_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from airsequel.core.errors import TooLarge
from airsequel.core.graphql.bindings import GeneratedSchema
from airsequel.core.graphql.mutations import refuse_upsert_without_read

NESTED_LIST_ROWS = 10  # rows per parent a nested list (incoming relationship) is estimated at
MAX_VISITS = 100_000  # fields (counted once per place they appear in the response) the check walks at most


class QueryTooCostly(TooLarge):
    """The operation would ask for more rows than `graphql_max_cost` (413), refused before any SQL."""


@dataclass
class Limits:
    max_depth: int
    max_cost: int
    max_rows: int


@dataclass
class _Step:
    parent: GraphQLObjectType
    level: int  # of the fields of this selection (roots: 1)
    rows: float  # rows of the parent (roots: 1; introspection estimates are averages)
    introspection: bool
    mutation_kind: str | None = None  # below a mutation root field: its kind
    objects: int | None = None  # below an insert: how many objects it inserts
    nodes_rows: int | None = None  # below an aggregate field: the rows its `nodes` list may hold


def check_operation(
    generated: GeneratedSchema,
    document_fragments: dict[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    limits: Limits,
) -> int:
    """Refuse the operation (GraphQLError for depth, QueryTooCostly, Forbidden) or return its
    estimated cost (rows, plus introspection items). `variables` are the coerced variable values."""
    schema = generated.schema
    root = schema.mutation_type if operation.operation == OperationType.MUTATION else schema.query_type
    if root is None:
        return 0
    sizes = _introspection_sizes(generated)
    # Introspection reads the schema, no rows: it has its own allowance, twice the whole schema (what
    # GraphiQL's introspection query returns, once), so that it works for every schema that can be built.
    introspection_allowance = max(limits.max_cost, 2 * sizes.elements)
    cost = 0
    introspection_cost = 0.0
    visits = 0
    roots = collect_fields(schema, document_fragments, variables, root, operation.selection_set)
    pending: list[tuple[str, list[FieldNode], _Step]] = [
        (key, nodes, _Step(root, 1, 1, False)) for key, nodes in roots.items()
    ]
    pending.reverse()
    while pending:
        _key, nodes, step = pending.pop()
        visits += 1
        if visits > MAX_VISITS:
            raise QueryTooCostly(
                f"The query selects more than {MAX_VISITS} fields (counting each place a fragment is spread): "
                "select fewer fields"
            )
        name = nodes[0].name.value
        if name == "__typename":
            continue
        definition = _field(schema, step.parent, name)
        if definition is None:
            continue
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType):
            continue
        introspection = step.introspection or name in ("__schema", "__type")
        if not introspection and step.level > limits.max_depth:
            raise GraphQLError(f"The query is nested too deeply (at most {limits.max_depth} levels)")
        args = get_argument_values(definition, nodes[0], variables)
        mutation_kind, objects = step.mutation_kind, step.objects
        nodes_rows: int | None = None
        if introspection:
            # Lists multiply by their average length in this schema; objects (type, ofType) do not add.
            per_list = _introspection_rows(name, definition, sizes)
            rows = step.rows * (per_list or 1)
            introspection_cost += rows if per_list else 0
            if introspection_cost > introspection_allowance:
                raise QueryTooCostly(
                    f"The introspection query would return about {int(introspection_cost)} items or more (estimated from "
                    f"this schema's sizes), more than the {introspection_allowance} allowed (twice the schema's "
                    f"{sizes.elements} types, fields, arguments and values, or graphql_max_cost if larger): ask for "
                    "fewer nested lists (fields of types of fields, ...) or fewer aliases"
                )
            children = collect_sub_fields(schema, document_fragments, variables, named, nodes)
            below = _Step(named, step.level + 1, rows, True)
            for child_key, child_nodes in reversed(list(children.items())):
                pending.append((child_key, child_nodes, below))
            continue
        if step.parent is schema.query_type:
            kind = generated.roots[("query", name)].kind
            per_parent = _root_rows(kind, args, limits.max_rows)
            if kind == "aggregate":  # its nodes: a list like T's
                nodes_rows = _root_rows("list", args, limits.max_rows)
        elif step.parent is schema.mutation_type:
            mutation_kind = generated.roots[("mutation", name)].kind
            refuse_upsert_without_read(mutation_kind, args, generated.mode)
            per_parent = 1
            given = args.get("objects")
            objects = len(given) if isinstance(given, list) else None
        elif name == "returning" and mutation_kind is not None:
            per_parent = _returning_rows(mutation_kind, objects, limits.max_rows)
        else:
            binding = generated.row_types.get(step.parent.name)
            relation = binding.relationships.get(name) if binding is not None else None
            per_parent = NESTED_LIST_ROWS if relation is not None and relation.many else 1
            if binding is not None and name in binding.aggregates:  # R_aggregate: one object, nested nodes
                nodes_rows = NESTED_LIST_ROWS
            elif name == "nodes" and step.nodes_rows is not None:
                per_parent = step.nodes_rows
        rows = step.rows * per_parent
        cost += max(int(rows), 1)
        if cost > limits.max_cost:
            raise QueryTooCostly(
                f"The query would ask for about {cost} rows or more (estimated before running it: each list's limit "
                f"times its parents' rows, nested lists {NESTED_LIST_ROWS} rows per parent, aliases added up), "
                f"more than the maximum of {limits.max_cost} (graphql_max_cost): give list fields a smaller limit, "
                "nest fewer lists, or split the aliases over several requests"
            )
        children = collect_sub_fields(schema, document_fragments, variables, named, nodes)
        below = _Step(named, step.level + 1, rows, introspection, mutation_kind, objects, nodes_rows)
        for child_key, child_nodes in reversed(list(children.items())):
            pending.append((child_key, child_nodes, below))
    return cost + int(introspection_cost)


def _field(schema: GraphQLSchema, parent: GraphQLObjectType, name: str) -> GraphQLField | None:
    if name == "__schema" and parent is schema.query_type:
        return SchemaMetaFieldDef
    if name == "__type" and parent is schema.query_type:
        return TypeMetaFieldDef
    return parent.fields.get(name)


def _root_rows(kind: str, args: dict[str, Any], max_rows: int) -> int:
    if kind == "connection":  # a page: first or last rows (its edges, nodes and pageInfo count them again)
        wanted = args.get("last") if args.get("last") is not None else args.get("first")
        return max_rows if wanted is None else max(0, min(wanted, max_rows))
    if kind not in ("list", "search", "group_by"):
        return 1
    limit = args.get("limit")
    return max_rows if limit is None else max(0, min(limit, max_rows))


def _returning_rows(kind: str, objects: int | None, max_rows: int) -> int:
    if kind.endswith("_by_pk"):
        return 1
    if kind == "insert" and objects is not None:
        return objects
    return max_rows


@dataclass
class IntrospectionSizes:
    elements: int  # types, fields, arguments, input fields, enum values and directives together
    types: int
    per_type: dict[str, float]  # average length of a type's list field (fields, inputFields, enumValues, ...)
    args_per_field: float  # average arguments of a field or directive
    directives: int


def _introspection_rows(name: str, definition: GraphQLField, sizes: IntrospectionSizes) -> float:
    """Items a list field of the introspection types returns per parent, on average; 0 for objects."""
    wrapped: Any = definition.type
    if isinstance(wrapped, GraphQLNonNull):
        wrapped = wrapped.of_type
    if not is_list_type(wrapped):
        return 0
    if name == "types":
        return sizes.types
    if name == "directives":
        return sizes.directives
    if name == "args":
        return sizes.args_per_field
    return sizes.per_type.get(name, 1)


def _introspection_sizes(generated: GeneratedSchema) -> IntrospectionSizes:
    """The schema's sizes for estimating introspection, once per schema."""
    if generated.introspection_sizes is None:
        schema = generated.schema
        types = list(schema.type_map.values())
        counts = {"fields": 0, "inputFields": 0, "enumValues": 0, "interfaces": 0, "possibleTypes": 0}
        args = 0
        fields_with_args = 0
        for named in types:
            if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
                counts["fields"] += len(named.fields)
                counts["interfaces"] += len(named.interfaces)
                args += sum(len(f.args) for f in named.fields.values())
                fields_with_args += len(named.fields)
            elif isinstance(named, GraphQLInputObjectType):
                counts["inputFields"] += len(named.fields)
            elif isinstance(named, GraphQLEnumType):
                counts["enumValues"] += len(named.values)
        directives = list(schema.directives)
        args += sum(len(d.args) for d in directives)
        fields_with_args += len(directives)
        total = max(1, len(types))
        generated.introspection_sizes = IntrospectionSizes(
            elements=len(types) + sum(counts.values()) + args + len(directives),
            types=len(types),
            per_type={name: count / total for name, count in counts.items()},
            args_per_field=args / max(1, fields_with_args),
            directives=len(directives),
        )
    return generated.introspection_sizes
