"""Full-text search on FTS5 tables: `T_search(match: String!, weights, where, limit, offset) { rank
snippet(column:, before:, after:, ellipsis:, tokens:) highlight(column:, before:, after:) node { ... } }`.

A table created `USING fts5(...)` (its own content, external content pointing at another table, or
contentless) gets the field. It is one statement on the FTS5 table: `WHERE T MATCH ?` (and the
`where` filter), ordered by `rank` (bm25: the best match first; with `weights`, bm25 with those
column weights) and the rowid, with `snippet()` and `highlight()` called for each selected alias; the query text and every argument of those functions
are bound parameters. An FTS5 syntax error in `match` (or a column filter naming no column) is a
GraphQL error that says so, not a server error. The FTS5 table's shadow tables (`T_data`, `T_idx`,
...) are left out of the schema by introspection.py, as everywhere.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    get_named_type,
)

from airsequel.core.graphql.bindings import Relationship, TableBinding
from airsequel.core.graphql.cursors import merged, projected
from airsequel.core.graphql.fetch import FetchContext, select_rows
from airsequel.core.graphql.names import enum_value_names, unique_name
from airsequel.core.graphql.selection import Selected
from airsequel.core.graphql.sql import page, where_sql
from airsequel.core.sql.script import quote_identifier

_FTS5 = re.compile(r"\bUSING\s+fts5\b", re.IGNORECASE)
MAX_SNIPPET_TOKENS = 64  # FTS5's own limit
SQLITE_ERROR = 1


def is_fts5(binding: TableBinding) -> bool:
    table = binding.table
    return table.is_virtual and bool(table.sql and _FTS5.search(table.sql)) and binding.rowid is not None


_CONTENT = re.compile(r"""\bcontent\s*=\s*('(?:[^']|'')*'|"(?:[^"]|"")*"|[\w$]+)""", re.IGNORECASE)
_CONTENT_ROWID = re.compile(r"""\bcontent_rowid\s*=\s*('(?:[^']|'')*'|"(?:[^"]|"")*"|[\w$]+)""", re.IGNORECASE)


def _option(pattern: re.Pattern[str], sql: str) -> str | None:
    found = pattern.search(sql)
    if found is None:
        return None
    value = found.group(1)
    if value[:1] in ("'", '"'):
        value = value[1:-1].replace(value[0] * 2, value[0])
    return value


def bind_content_tables(bindings: dict[str, TableBinding]) -> None:
    """Give the row type of an external-content FTS5 table (`content='docs', content_rowid='id'`) a
    relationship to its content row, `docs_by_rowid`, loaded in one batch like any outgoing foreign key."""
    for binding in bindings.values():
        if not is_fts5(binding) or binding.table.sql is None:
            continue
        content = _option(_CONTENT, binding.table.sql)
        if not content:  # its own content, or contentless
            continue
        target = bindings.get(content) or next(
            (b for name, b in bindings.items() if name.lower() == content.lower()), None
        )
        if target is None or target.table.is_view:
            continue
        key = _option(_CONTENT_ROWID, binding.table.sql)
        if key is None:
            if target.rowid is None:
                continue
            key = target.rowid.name
        elif target.table.column(key) is None:
            continue
        assert binding.rowid is not None
        taken = set(binding.columns) | set(binding.relationships)
        name = unique_name(f"{target.base}_by_{binding.rowid.field}", taken)
        binding.relationships[name] = Relationship(name, False, target.name, [binding.rowid.name], [key])


def add_search_fields(
    bindings: list[TableBinding], types: dict[str, dict[str, Any]], taken_types: set[str], add: Any
) -> None:
    """Add `T_search` for every FTS5 table; `add(wanted, kind, binding, field)` adds a root field."""
    for binding in bindings:
        if not is_fts5(binding):
            continue
        indexed = [c for c in binding.columns.values() if not c.is_rowid]
        if not indexed:
            continue
        # The value of each column is its position among the FTS5 table's columns (snippet's argument).
        names = enum_value_names([c.field for c in indexed])
        column_enum = GraphQLEnumType(
            unique_name(f"{binding.base}_search_column", taken_types),
            {names[c.field]: GraphQLEnumValue(position) for position, c in enumerate(indexed)},
        )
        text = {"before": GraphQLArgument(GraphQLString, "<b>"), "after": GraphQLArgument(GraphQLString, "</b>")}
        result = GraphQLObjectType(
            unique_name(f"{binding.base}_search_result", taken_types),
            {
                # null when bm25 gives no finite score (extreme weights)
                "rank": GraphQLField(GraphQLFloat),
                "snippet": GraphQLField(
                    GraphQLString,
                    args={
                        "column": GraphQLArgument(column_enum),
                        **text,
                        "ellipsis": GraphQLArgument(GraphQLString, "…"),
                        "tokens": GraphQLArgument(GraphQLInt, 16),
                    },
                ),
                "highlight": GraphQLField(
                    GraphQLString, args={"column": GraphQLArgument(GraphQLNonNull(column_enum)), **text}
                ),
                "node": GraphQLField(GraphQLNonNull(binding.built_row_type)),
            },
        )
        add(
            f"{binding.base}_search",
            "search",
            binding,
            GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(result))),
                args={
                    "match": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                    "where": GraphQLArgument(types[binding.name]["filter"]),
                    "weights": GraphQLArgument(GraphQLList(GraphQLNonNull(GraphQLFloat))),
                    "limit": GraphQLArgument(GraphQLInt),
                    "offset": GraphQLArgument(GraphQLInt),
                },
            ),
        )


def fetch_search(
    ctx: FetchContext,
    binding: TableBinding,
    children: list[Selected],
    args: dict[str, Any],
    *,
    serialize: bool,
    key: str = "",
) -> list[dict[str, Any]]:
    table = quote_identifier(binding.name)
    assert binding.rowid is not None
    # The functions' arguments are numbered parameters ?1..?k, in the select list: the plain `?` of
    # the WHERE clause and LIMIT then take the numbers after them, in order (SQLite's rule).
    params: list[Any] = []
    rank = "rank"
    weights = args.get("weights")
    if weights is not None:
        columns = len([c for c in binding.columns.values() if not c.is_rowid])
        if not 1 <= len(weights) <= columns:
            raise GraphQLError(f"weights must have between 1 and {columns} values, one for each column in order")
        params.extend(weights)
        rank = f"bm25({table}, {', '.join(f'?{n + 1}' for n in range(len(weights)))})"
    expressions: dict[str, str] = {}  # response key -> SQL expression
    for child in children:
        if child.name == "rank":
            expressions[child.key] = rank
        elif child.name in ("snippet", "highlight"):
            expressions[child.key] = _function(table, child, params)
    condition = f"{table} MATCH ?"
    params.append(args["match"])
    where = where_sql(binding, args.get("where"), params)
    if where:
        condition += f" AND ({where})"
    limit, offset, explicit = page(args.get("limit"), args.get("offset"), ctx.max_rows)
    node_sets = [c.children for c in children if c.name == "node"]
    # The rank is always selected: its numbered parameters then come before the WHERE clause's.
    hidden = list(dict.fromkeys([rank, *expressions.values()]))
    try:
        fetched = select_rows(
            ctx,
            binding,
            merged(node_sets),
            condition,
            params,
            f"{rank}, {binding.rowid.name}",
            limit,
            offset,
            serialize=serialize,
            hidden=hidden,
        )
    except sqlite3.OperationalError as error:
        # FTS5 reports a bad query as a plain SQLITE_ERROR (the deadline, a busy or failing file have their own codes).
        message = str(error)
        if getattr(error, "sqlite_errorcode", None) == SQLITE_ERROR or message.startswith("fts5:"):
            raise GraphQLError(f"match is not a valid FTS5 query ({message}): see SQLite's FTS5 query syntax") from None
        raise
    if not explicit and len(fetched.rows) > ctx.max_rows:
        raise GraphQLError(
            f"The search matches more than the maximum of {ctx.max_rows} rows: use limit (and offset) to page"
        )
    positions = {expression: position for position, expression in enumerate(hidden)}
    results: list[dict[str, Any]] = []
    size = 2
    for row, values in zip(fetched.rows, fetched.hidden):
        result: dict[str, Any] = {}
        for child in children:
            if child.name == "__typename":
                result[child.key] = get_named_type(child.definition.type).name
            elif child.name == "node":
                result[child.key] = row if len(node_sets) == 1 else projected(row, child.children)
            else:
                value = values[positions[expressions[child.key]]]
                result[child.key] = value
                size += len(child.key) + (len(value) * 2 if isinstance(value, str) else 24)
        results.append(result)
    size += fetched.total * max(1, len(node_sets))
    ctx.count_root(key, size)
    return results


def _function(table: str, child: Selected, params: list[Any]) -> str:
    """snippet() or highlight() with its arguments as numbered parameters (appended to `params`)."""
    args = child.args
    if child.name == "snippet":
        tokens = args.get("tokens")
        if tokens is None or not 1 <= tokens <= MAX_SNIPPET_TOKENS:
            raise GraphQLError(f"tokens must be between 1 and {MAX_SNIPPET_TOKENS}")
        column = args.get("column")
        values = [-1 if column is None else column, args.get("before"), args.get("after"), args.get("ellipsis"), tokens]
    else:
        values = [args["column"], args.get("before"), args.get("after")]
    values = ["" if value is None else value for value in values]
    start = len(params)
    params.extend(values)
    marks = ", ".join(f"?{start + n + 1}" for n in range(len(values)))
    return f"{child.name}({table}, {marks})"
