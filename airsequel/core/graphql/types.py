"""From SQLite declared types to GraphQL scalars, and the shared comparison and ordering types."""

from __future__ import annotations

from typing import Any

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
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLString,
    ValueNode,
    value_from_ast_untyped,
)

from airsequel.core.sql import regexp
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


def _json_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    return value_from_ast_untyped(node, variables)


JSON = GraphQLScalarType(
    "JSON",
    description="Any JSON value: an object, a list, a string, a number, a boolean or null",
    serialize=lambda value: value,
    parse_value=lambda value: value,
    parse_literal=_json_literal,
)


def _added_fields(scalar: GraphQLScalarType) -> dict[str, GraphQLInputField]:
    """Beyond AirGQL's operators: _is_null on every type; text patterns and JSON on String."""
    added = {"_is_null": GraphQLInputField(GraphQLBoolean, description="true: the cell is NULL; false: it is not")}
    if scalar is not GraphQLString:
        return added
    added["_glob"] = GraphQLInputField(GraphQLString, description="SQLite GLOB pattern (case-sensitive: * ? [...])")
    if regexp.available():
        added["_regex"] = GraphQLInputField(GraphQLString, description="RE2 regular expression, matched anywhere")
        added["_iregex"] = GraphQLInputField(GraphQLString, description="RE2 regular expression, ignoring case")
    keys = GraphQLList(GraphQLNonNull(GraphQLString))
    added["_contains"] = GraphQLInputField(JSON, description="The cell's JSON contains this JSON value")
    added["_has_key"] = GraphQLInputField(GraphQLString, description="The cell is a JSON object with this key")
    added["_has_keys_any"] = GraphQLInputField(keys, description="The cell is a JSON object with any of these keys")
    added["_has_keys_all"] = GraphQLInputField(keys, description="The cell is a JSON object with all these keys")
    return added


def _comparison(name: str, scalar: GraphQLScalarType) -> GraphQLInputObjectType:
    def fields() -> dict[str, GraphQLInputField]:
        result: dict[str, GraphQLInputField] = {}
        for operator in OPERATORS:
            # As AirGQL types them: every operator takes the column's scalar, _in and _nin a list of it
            # (null items allowed: a null in _in matches empty cells, in _nin leaves them out).
            type_: GraphQLInputType = GraphQLList(scalar) if operator in ("_in", "_nin") else scalar
            result[operator] = GraphQLInputField(type_)
            result[operator[1:]] = GraphQLInputField(type_, deprecation_reason=DEPRECATED)
        result.update(_added_fields(scalar))
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
