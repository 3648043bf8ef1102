"""The Subscription type of a generated schema: the Query's read fields, each a live query.

It mirrors the Query type field for field (the same arguments, the same result types), so that any
read a client can make once it can also keep open; GraphiQL and generated clients see it through
introspection. A schema whose callers may not read (insert-only, write-only tokens) has none.
The socket runs a subscription as the query it mirrors (live.py)."""

from __future__ import annotations

from graphql import GraphQLField, GraphQLObjectType

from airsequel.core.graphql.bindings import Mode
from airsequel.core.graphql.names import unique_name


def subscription_type(
    query_fields: dict[str, GraphQLField], mode: Mode, taken_types: set[str]
) -> GraphQLObjectType | None:
    """`taken_types`: the names given out so far (a table may be called Subscription)."""
    if not mode.can_read or not query_fields:
        return None
    return GraphQLObjectType(
        unique_name("Subscription", taken_types),
        dict(query_fields),
        description="Live queries: the result is sent at once, then again whenever a commit changes it",
    )
