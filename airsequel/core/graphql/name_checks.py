"""graphql-core's check of every type, field and argument name, made fast.

graphql-core checks each name a schema is built from one character at a time in Python
(`graphql.type.assert_name`): for a 2,000-table schema (about 310,000 names, most of them the same
few words) that was 2.3 s of a 5.4 s build. `install()` puts in its place, in the module that
builds types, a check with the same rules and the same errors that uses one regular expression and
remembers the names it has passed. Names this server generates are valid by construction
(names.py), so the check keeps guarding only against a mistake, at a fraction of the cost.
"""

from __future__ import annotations

import re
from functools import lru_cache

import graphql.type.definition as definition
from graphql import assert_name as graphql_assert_name

NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")


def assert_name(name: str) -> str:
    """graphql-core's assert_name, with its errors, for any value."""
    if isinstance(name, str) and _valid(name):
        return name
    return graphql_assert_name(name)  # raises the error graphql-core gives


@lru_cache(maxsize=65536)
def _valid(name: str) -> bool:
    return NAME.fullmatch(name) is not None


def install() -> None:
    """Use this check where graphql-core's type constructors call it (idempotent)."""
    definition.assert_name = assert_name
