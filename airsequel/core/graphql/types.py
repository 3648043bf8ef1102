"""From SQLite declared types to GraphQL scalars, and the shared comparison and ordering types."""

from __future__ import annotations

from enum import Enum

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLFloat,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLString,
)


class Kind(str, Enum):
    INT = "int"
    STRING = "string"
    BLOB = "blob"
    FLOAT = "float"
    BOOLEAN = "boolean"
    UNTYPED = "untyped"


def column_kind(declared_type: str) -> Kind:
    """First match wins: INT, CHAR/CLOB/TEXT, BLOB, REAL/FLOA/DOUB, BOOL; else Int; no type: String."""
    upper = declared_type.upper()
    if not upper.strip():
        return Kind.UNTYPED
    if "INT" in upper:
        return Kind.INT
    if "CHAR" in upper or "CLOB" in upper or "TEXT" in upper:
        return Kind.STRING
    if "BLOB" in upper:
        return Kind.BLOB
    if "REAL" in upper or "FLOA" in upper or "DOUB" in upper:
        return Kind.FLOAT
    if "BOOL" in upper:
        return Kind.BOOLEAN
    return Kind.INT


SCALARS: dict[Kind, GraphQLScalarType] = {
    Kind.INT: GraphQLInt,
    Kind.STRING: GraphQLString,
    Kind.BLOB: GraphQLString,
    Kind.FLOAT: GraphQLFloat,
    Kind.BOOLEAN: GraphQLBoolean,
    Kind.UNTYPED: GraphQLString,
}

OPERATORS = ("_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_like", "_ilike", "_in", "_nin")
DEPRECATED = "Use the spelling with a leading underscore"


def _comparison(name: str, scalar: GraphQLScalarType) -> GraphQLInputObjectType:
    def fields() -> dict[str, GraphQLInputField]:
        result: dict[str, GraphQLInputField] = {}
        for operator in OPERATORS:
            if operator in ("_in", "_nin"):
                type_: object = GraphQLList(GraphQLNonNull(scalar))
            elif operator in ("_like", "_ilike"):
                type_ = GraphQLString
            else:
                type_ = scalar
            result[operator] = GraphQLInputField(type_)  # type: ignore[arg-type]
            result[operator[1:]] = GraphQLInputField(type_, deprecation_reason=DEPRECATED)  # type: ignore[arg-type]
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
