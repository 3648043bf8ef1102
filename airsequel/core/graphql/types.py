"""From SQLite declared types to GraphQL scalars, and the shared comparison and ordering types."""

from __future__ import annotations

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLFloat,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLScalarType,
    GraphQLString,
)

from airsequel.core.sql.value_kinds import ValueKind

SCALARS: dict[ValueKind, GraphQLScalarType] = {
    ValueKind.INT: GraphQLInt,
    ValueKind.STRING: GraphQLString,
    ValueKind.BLOB: GraphQLString,
    ValueKind.FLOAT: GraphQLFloat,
    ValueKind.BOOLEAN: GraphQLBoolean,
    ValueKind.UNTYPED: GraphQLString,
}

OPERATORS = ("_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_like", "_ilike", "_in", "_nin")
DEPRECATED = "Use the spelling with a leading underscore"


def _comparison(name: str, scalar: GraphQLScalarType) -> GraphQLInputObjectType:
    def fields() -> dict[str, GraphQLInputField]:
        result: dict[str, GraphQLInputField] = {}
        for operator in OPERATORS:
            # As AirGQL types them: every operator takes the column's scalar, _in and _nin a list of it
            # (null items allowed: a null in _in matches empty cells, in _nin leaves them out).
            type_: GraphQLInputType = GraphQLList(scalar) if operator in ("_in", "_nin") else scalar
            result[operator] = GraphQLInputField(type_)
            result[operator[1:]] = GraphQLInputField(type_, deprecation_reason=DEPRECATED)
        return result

    return GraphQLInputObjectType(name, fields)


COMPARISONS: dict[GraphQLScalarType, GraphQLInputObjectType] = {
    GraphQLInt: _comparison("IntComparison", GraphQLInt),
    GraphQLFloat: _comparison("FloatComparison", GraphQLFloat),
    GraphQLString: _comparison("StringComparison", GraphQLString),
    GraphQLBoolean: _comparison("BooleanComparison", GraphQLBoolean),
}

ORDERING_TERM = GraphQLEnumType(
    "OrderingTerm",
    {
        "ASC": GraphQLEnumValue("ASC"),
        "DESC": GraphQLEnumValue("DESC"),
        "asc": GraphQLEnumValue("ASC", deprecation_reason="Use ASC"),
        "desc": GraphQLEnumValue("DESC", deprecation_reason="Use DESC"),
    },
)
