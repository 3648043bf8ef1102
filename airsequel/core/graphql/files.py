"""BLOB cells as file URLs: GraphQL never carries bytes, it names the file route of the cell.

The route addresses a row by one key column: `.../columns/<column>/files/<keyColumn>/<keyValue>`.
A table with a rowid uses `rowid`; a WITHOUT ROWID table its one-column primary key. A row that has
neither (a view, a WITHOUT ROWID table with a composite key) cannot be addressed: such a cell is a
cell error (cells.py) that says so, never a silent null.

BLOB columns select only whether the cell holds anything; untyped columns (no declared type, or ANY)
select their value, except that a BLOB in them is replaced by an empty one: either way the bytes
stay on disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from airsequel.core.graphql.bindings import ColumnBinding, TableBinding
from airsequel.core.graphql.cells import CellError, Unrepresentable
from airsequel.core.graphql.sql import column_sql
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.value_kinds import ValueKind

Convert = Callable[[Any, Any], Any]


def holds_files(column: ColumnBinding) -> bool:
    return column.kind in (ValueKind.BLOB, ValueKind.UNTYPED)


def file_key(binding: TableBinding) -> tuple[str, str] | None:
    """(the key column the file route names, its SQL expression), or None when rows have no such key."""
    if binding.rowid is not None:
        return "rowid", binding.rowid.name
    if binding.table.is_view or len(binding.key) != 1:
        return None
    return binding.key[0].name, quote_identifier(binding.key[0].name)


def cell_expression(column: ColumnBinding) -> str:
    sql = column_sql(column)
    if column.kind == ValueKind.BLOB:
        return f"({sql} IS NOT NULL)"
    if column.kind == ValueKind.UNTYPED:
        return f"(CASE WHEN typeof({sql}) = 'blob' THEN x'' ELSE {sql} END)"
    return sql


def file_converter(
    files_base: str,
    binding: TableBinding,
    column: ColumnBinding,
    key_position: int | None,
    convert: Convert,
    *,
    serialize: bool,
) -> Convert:
    """Wrap `convert` so that the cells of this column that hold a file become its URL."""
    key = file_key(binding)
    prefix = (
        f"{files_base}/tables/{quote(binding.name, safe='')}/columns/{quote(column.name, safe='')}/files/"
        f"{quote(key[0], safe='')}/"
        if key is not None
        else ""
    )
    blob_column = column.kind == ValueKind.BLOB
    why = (
        "is a view: its rows have no key"
        if binding.table.is_view
        else "has neither a rowid nor a one-column primary key"
    )
    unaddressable = Unrepresentable(
        f"The file in column {column.name!r} has no URL: {binding.name!r} {why} to address its rows by. "
        "Read the cell with POST /dbs/:dbId/sql"
    )

    def url(value: Any, raw: Any) -> Any:
        # BLOB columns: `value` tells whether the cell holds anything; untyped ones: bytes are a file.
        if not (value if blob_column else isinstance(value, bytes)):
            return convert(None if blob_column else value, raw)
        if key_position is None or raw[key_position] is None:
            if serialize:
                raise CellError(unaddressable.message)
            return unaddressable
        path = prefix + quote(str(raw[key_position]), safe="")
        return convert(json.dumps({"url": path}, separators=(",", ":")), raw)  # AirGQL's spelling: no spaces

    return url
