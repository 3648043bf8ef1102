"""The fast name check (core/graphql/name_checks.py) has graphql-core's rules and errors."""

from __future__ import annotations

import pytest
from graphql import GraphQLError, GraphQLField, GraphQLInt, GraphQLObjectType
from graphql import assert_name as graphql_assert_name

import airsequel.core.graphql.schema  # noqa: F401  (installs the check)
from airsequel.core.graphql.name_checks import assert_name


@pytest.mark.parametrize("name", ["a", "_x", "T_aggregate", "t1999_by_up", "A9_", "__typename"])
def test_valid_names_pass(name):
    assert assert_name(name) == graphql_assert_name(name) == name


@pytest.mark.parametrize("name", ["", "9lives", "a-b", "é", "a b", "x\u0000", "$v"])
def test_invalid_names_fail_as_graphql_core_says(name):
    with pytest.raises(GraphQLError) as ours:
        assert_name(name)
    with pytest.raises(GraphQLError) as theirs:
        graphql_assert_name(name)
    assert str(ours.value) == str(theirs.value)


def test_type_constructors_use_it_and_still_refuse_a_bad_name():
    with pytest.raises(GraphQLError, match="Names must only contain"):
        GraphQLObjectType("Bad-Name", {"x": GraphQLField(GraphQLInt)})
    assert GraphQLObjectType("Good_Name", {"x": GraphQLField(GraphQLInt)}).name == "Good_Name"
