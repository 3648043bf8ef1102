"""Cell errors on graphql-core's path: a value a column's GraphQL type cannot carry fails that cell only.

A cell is a column field of a row type (`T_row.c`). When its value cannot be represented (an integer
beyond GraphQL's 32-bit Int, bytes in a TEXT column, NULL in a column declared NOT NULL), the cell is
null and `errors` gets one entry with its path; the rest of the response is unchanged, even when the
column is non-null in the schema. GraphQL's usual rule would null the row, then its non-null list,
then the whole `data`: one odd cell would hide every row (the "error behavior" GraphQL is adding,
`onError: NULL`, is this). Errors of every other field (relationships, roots, counts) propagate
as the specification says.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from graphql import GraphQLError, GraphQLOutputType, get_named_type, is_leaf_type
from graphql.execution import ExecutionContext
from graphql.pyutils import Path

INT_LOW, INT_HIGH = -(2**31), 2**31 - 1


class CellError(Exception):
    """A value the compiled path cannot represent; graphql-core will report it as a field error."""


class Unrepresentable:
    """Stands for a cell value on graphql-core's path that is that cell's error (`message`)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __str__(self) -> str:  # what the response size counts for it
        return self.message


def integer_overflow(value: int) -> str:
    """The message of a cell holding an integer that GraphQL's Int cannot carry."""
    return (
        f"Integer {value} does not fit GraphQL's 32-bit Int: read this cell with POST /dbs/:dbId/sql, "
        "or keep such numbers in a TEXT column"
    )


class CellErrorsStayInTheirCell(ExecutionContext):
    """graphql-core's executor, except that a row type's column field that fails is null on its own."""

    def handle_field_error(self, error: GraphQLError, return_type: GraphQLOutputType, path: Path) -> None:
        schema = getattr(self.context_value, "schema", None)
        row_types = getattr(schema, "row_types", {})
        if path.typename in row_types and is_leaf_type(get_named_type(return_type)):
            self.collected_errors.add(error, path)
            return None
        return super().handle_field_error(error, return_type, path)


NOT_UTF8 = (
    "The text in this cell is not valid UTF-8, which JSON cannot carry: read its bytes with POST /dbs/:dbId/sql "
    "(SELECT CAST(column AS BLOB) ...)"
)


def lenient_text(value: bytes) -> Any:
    """The text factory of graphql-core's path: a TEXT value that is not UTF-8 fails its cell only
    (Python's default would fail the whole statement)."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return Unrepresentable(NOT_UTF8)


def is_undecodable_text(error: sqlite3.OperationalError) -> bool:
    """Whether the statement failed on a TEXT value that is not UTF-8 (default text factory)."""
    return str(error).startswith("Could not decode to UTF-8")


def resolve_by_response_key(source: Any, info: Any, **_args: Any) -> Any:
    """Rows are keyed by response key (alias or name), not by field name. An integer cell beyond
    Int's 32 bits is refused here, with a message that says what to do instead."""
    if not isinstance(source, dict):
        return getattr(source, info.field_name, None)
    key = info.path.key if isinstance(info.path, Path) else info.field_name
    value = source.get(key)
    if type(value) is Unrepresentable:
        raise GraphQLError(value.message)
    if type(value) is int and not INT_LOW <= value <= INT_HIGH and get_named_type(info.return_type).name == "Int":
        raise GraphQLError(integer_overflow(value))
    return value
