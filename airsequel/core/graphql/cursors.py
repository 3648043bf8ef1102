"""Keyset (cursor) pagination: Relay-style connections, `T_connection(first, after, last, before,
where, order_by) { edges { cursor node } nodes pageInfo { ... } }`.

A page is one statement: the rows past the cursor in the field's order, `first + 1` of them (the
extra row says whether there is a next page). The order is the caller's `order_by` followed by the
table's key (its rowid, or the primary key of a WITHOUT ROWID table) as the tie-breaker, so that it
is total. A cursor is the row's values of those ordering columns, with the table and the order it
was made for: base64url of JSON. "Past the cursor" is written out term by term (`a > ? OR (a IS ?
AND b > ?) ...`) in each column's direction, with SQLite's NULL placement (first ascending, last
descending), every value bound. Because a cursor names values, not positions, rows inserted or
deleted before it between two pages neither repeat nor skip rows, as offsets would.

Views have no key (no rowid, and their columns need not be unique): they get no connection field.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import replace
from typing import Any

import orjson
from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    get_named_type,
)

from airsequel.core.graphql.bindings import ColumnBinding, TableBinding
from airsequel.core.graphql.fetch import FetchContext, select_rows
from airsequel.core.graphql.names import unique_name
from airsequel.core.graphql.selection import Selected
from airsequel.core.graphql.sql import column_sql, where_sql

Term = tuple[ColumnBinding, str]  # a column and its direction, "ASC" or "DESC"
EDGE_BYTES = 32  # what an edge adds to the response beyond its cursor and node: keys, braces


def tie_breaker(binding: TableBinding) -> list[ColumnBinding] | None:
    """The columns that make the order total: the rowid, else a WITHOUT ROWID table's primary key
    (NOT NULL there); None for views, which get no connection field."""
    if binding.table.is_view:
        return None
    if binding.rowid is not None:
        return [binding.rowid]
    return binding.key or None


def add_connection_fields(
    bindings: list[TableBinding], types: dict[str, dict[str, Any]], taken_types: set[str], add: Any
) -> None:
    """Add `T_connection` for every table with a key; `add(wanted, kind, binding, field)` adds a root field."""
    page_info = GraphQLObjectType(
        unique_name("PageInfo", taken_types),
        {
            "hasNextPage": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
            "hasPreviousPage": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
            "startCursor": GraphQLField(GraphQLString),
            "endCursor": GraphQLField(GraphQLString),
        },
    )
    for binding in bindings:
        if tie_breaker(binding) is None:
            continue
        row = GraphQLNonNull(binding.built_row_type)
        edge = GraphQLObjectType(
            unique_name(f"{binding.base}_edge", taken_types),
            {"cursor": GraphQLField(GraphQLNonNull(GraphQLString)), "node": GraphQLField(row)},
        )
        connection = GraphQLObjectType(
            unique_name(f"{binding.base}_connection", taken_types),
            {
                "edges": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(edge)))),
                "nodes": GraphQLField(GraphQLNonNull(GraphQLList(row))),
                "pageInfo": GraphQLField(GraphQLNonNull(page_info)),
            },
        )
        filter_type, order_type = types[binding.name]["filter"], types[binding.name]["order_by"]
        add(
            f"{binding.base}_connection",
            "connection",
            binding,
            GraphQLField(
                GraphQLNonNull(connection),
                args={
                    "first": GraphQLArgument(GraphQLInt),
                    "after": GraphQLArgument(GraphQLString),
                    "last": GraphQLArgument(GraphQLInt),
                    "before": GraphQLArgument(GraphQLString),
                    "where": GraphQLArgument(filter_type),
                    "order_by": GraphQLArgument(GraphQLList(order_type)),
                },
            ),
        )


def page_size(args: dict[str, Any], max_rows: int) -> int:
    """The rows a page holds at most: `first` or `last` (not both), capped by graphql_max_rows."""
    first, last = args.get("first"), args.get("last")
    if first is not None and last is not None:
        raise GraphQLError("Give first (with after) or last (with before), not both")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise GraphQLError(f"{name} must not be negative")
    wanted = last if last is not None else first
    return max_rows if wanted is None else min(wanted, max_rows)


def ordering(binding: TableBinding, order_by: list[dict[str, str]] | None) -> list[Term]:
    terms: list[Term] = []
    seen: set[str] = set()
    for item in order_by or []:
        if not item:
            raise GraphQLError("Order must not be empty")
        for field_name, direction in item.items():
            if direction is None:
                continue  # a null term orders nothing, as in lists
            column = binding.columns.get(field_name)
            if column is None:  # T_order_by's relationship fields: a cursor holds column values only
                raise GraphQLError(f"order_by {field_name}: pages order by columns only, not by related rows")
            if column.name not in seen:  # a column named again does not change the order
                seen.add(column.name)
                terms.append((column, direction))
    # The key runs in the direction of the last term, so that an index on the ordering columns (which
    # holds the rowid or key after them) gives the order without sorting.
    last = terms[-1][1] if terms else "ASC"
    for column in tie_breaker(binding) or []:
        if column.name not in seen:
            seen.add(column.name)
            terms.append((column, last))
    return terms


def fetch_connection(
    ctx: FetchContext,
    binding: TableBinding,
    children: list[Selected],
    args: dict[str, Any],
    *,
    serialize: bool,
    key: str = "",
) -> dict[str, Any]:
    count = page_size(args, ctx.max_rows)
    backward = args.get("last") is not None
    terms = ordering(binding, args.get("order_by"))
    made_for = [binding.name, [[column.name, direction] for column, direction in terms]]
    params: list[Any] = []
    conditions: list[str] = []
    where = where_sql(binding, args.get("where"), params)
    if where:
        conditions.append(f"({where})")
    for name, forward in (("after", True), ("before", False)):
        if args.get(name) is not None:
            values = decode_cursor(args[name], made_for, name)
            conditions.append(past(terms, values, params, forward=forward))
    walked = [(column, _flip(direction)) for column, direction in terms] if backward else terms
    order = ", ".join(f"{column_sql(column)} {direction}" for column, direction in walked)
    node_sets = [e.children for c in children if c.name == "edges" for e in c.children if e.name == "node"]
    node_sets += [c.children for c in children if c.name == "nodes"]
    node_children = merged(node_sets)
    fetched = select_rows(
        ctx,
        binding,
        node_children,
        " AND ".join(conditions),
        params,
        order,
        count + 1,
        0,
        serialize=serialize,
        hidden=[column_sql(column) for column, _ in terms],
    )
    more = len(fetched.rows) > count
    rows, values = fetched.rows[:count], fetched.hidden[:count]
    if backward:
        rows.reverse()
        values.reverse()
    cursors = [encode_cursor(made_for, row_values) for row_values in values]
    page = {
        "hasNextPage": bool(args.get("before") is not None) if backward else more,
        "hasPreviousPage": more if backward else bool(args.get("after") is not None),
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
    }
    result: dict[str, Any] = {}
    size = 2
    for child in children:
        if child.name == "__typename":
            result[child.key] = get_named_type(child.definition.type).name
        elif child.name == "edges":
            result[child.key] = [
                _edge(child.children, cursor, row, len(node_sets)) for cursor, row in zip(cursors, rows)
            ]
            size += fetched.total + sum(len(c) + EDGE_BYTES for c in cursors)
        elif child.name == "nodes":
            result[child.key] = rows if len(node_sets) == 1 else [projected(row, child.children) for row in rows]
            size += fetched.total
        elif child.name == "pageInfo":
            result[child.key] = {
                c.key: get_named_type(c.definition.type).name if c.name == "__typename" else page[c.name]
                for c in child.children
            }
            size += 2 * EDGE_BYTES + sum(len(c) for c in cursors[:1] + cursors[-1:])
    ctx.count_root(key, size)
    return result


def _edge(children: list[Selected], cursor: str, row: dict[str, Any], node_sets: int) -> dict[str, Any]:
    edge: dict[str, Any] = {}
    for child in children:
        if child.name == "__typename":
            edge[child.key] = get_named_type(child.definition.type).name
        elif child.name == "cursor":
            edge[child.key] = cursor
        else:
            edge[child.key] = row if node_sets == 1 else projected(row, child.children)
    return edge


def _flip(direction: str) -> str:
    return "DESC" if direction == "ASC" else "ASC"


def past(terms: list[Term], values: list[Any], params: list[Any], *, forward: bool) -> str:
    """The condition "after these values in the order of `terms`" (`forward`) or "before them",
    appending the values to `params` in the order their placeholders appear."""
    alternatives: list[str] = []
    hint = _leading_range(terms, values, params, forward=forward)
    for position, (column, direction) in enumerate(terms):
        beyond = _beyond(column_sql(column), direction if forward else _flip(direction), values[position])
        if beyond is None:  # nothing comes after this value in this direction
            continue
        sql, value = beyond
        parts: list[str] = []
        for (earlier, _), earlier_value in zip(terms[:position], values[:position]):
            parts.append(f"{column_sql(earlier)} IS ?")
            params.append(earlier_value)
        parts.append(sql)
        if value is not _NOTHING:
            params.append(value)
        alternatives.append("(" + " AND ".join(parts) + ")")
    if not alternatives:
        return "0"
    return hint + "(" + " OR ".join(alternatives) + ")"


def _leading_range(terms: list[Term], values: list[Any], params: list[Any], *, forward: bool) -> str:
    """A condition implied by "past the cursor" on the first ordering column alone (`a >= ?`), which an
    index on it can seek to: the alternatives below are ORs that SQLite would otherwise scan for. For a
    descending nullable column it would need `OR a IS NULL` (NULLs sort last) and seeks nothing: none."""
    if len(terms) < 2 or values[0] is None:
        return ""
    column, direction = terms[0]
    if (direction if forward else _flip(direction)) == "ASC":
        params.append(values[0])
        return f"{column_sql(column)} >= ? AND "
    if column.nullable:
        return ""
    params.append(values[0])
    return f"{column_sql(column)} <= ? AND "


_NOTHING = object()


def _beyond(sql: str, direction: str, value: Any) -> tuple[str, Any] | None:
    """The condition that `sql` sorts after `value` in `direction` (SQLite puts NULL first ascending,
    last descending) and the value it binds, or None when nothing sorts after it."""
    if direction == "ASC":
        return (f"{sql} IS NOT NULL", _NOTHING) if value is None else (f"{sql} > ?", value)
    return None if value is None else (f"({sql} < ? OR {sql} IS NULL)", value)


# --- cursors ------------------------------------------------------------------------------


def encode_cursor(made_for: list[Any], values: tuple[Any, ...]) -> str:
    body = orjson.dumps({"for": made_for, "after": [_encode_value(value) for value in values]})
    return base64.urlsafe_b64encode(body).decode("ascii").rstrip("=")


def _encode_value(value: Any) -> Any:
    if value is None or type(value) in (int, str):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"real": "inf" if value > 0 else "-inf"}
    if type(value) is bytes:
        return {"blob": base64.b64encode(value).decode("ascii")}
    raise GraphQLError(
        "A row's ordering column holds a value a cursor cannot carry (text that is not UTF-8): order by other columns"
    )


def decode_cursor(cursor: str, made_for: list[Any], argument: str) -> list[Any]:
    """The ordering values in `cursor`; a clear error when it is not a cursor of this table and order."""
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise GraphQLError(f"{argument} is not a cursor: pass a cursor this field returned") from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("after"), list) or "for" not in decoded:
        raise GraphQLError(f"{argument} is not a cursor: pass a cursor this field returned") from None
    if decoded["for"] != made_for:
        raise GraphQLError(
            f"{argument} is a cursor of another table or another order_by: pass a cursor this field returned "
            "with the same order_by"
        )
    values = [_decode_value(value, argument) for value in decoded["after"]]
    if len(values) != len(made_for[1]):
        raise GraphQLError(f"{argument} is not a cursor: pass a cursor this field returned")
    return values


def _decode_value(value: Any, argument: str) -> Any:
    if value is None or type(value) in (int, float, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        if value.get("real") in ("inf", "-inf"):
            return math.inf if value["real"] == "inf" else -math.inf
        if isinstance(value.get("blob"), str):
            try:
                return base64.b64decode(value["blob"], validate=True)
            except (binascii.Error, ValueError):
                pass
    raise GraphQLError(f"{argument} is not a cursor: pass a cursor this field returned")


# --- selections shared by several fields ---------------------------------------------------


def merged(selection_sets: list[list[Selected]]) -> list[Selected]:
    """One selection holding every field of `selection_sets` (the row selections of `edges { node }`
    and `nodes`, aliased or not), so that one statement fetches them all."""
    by_key: dict[str, Selected] = {}
    for selection in selection_sets:
        for selected in selection:
            found = by_key.get(selected.key)
            if found is None:
                by_key[selected.key] = selected
            elif selected.children or found.children:
                by_key[selected.key] = replace(found, children=merged([found.children, selected.children]))
    return list(by_key.values())


def projected(value: Any, children: list[Selected]) -> Any:
    """`value` (a row shaped for the merged selection) with only the fields of `children`."""
    if isinstance(value, list):
        return [projected(item, children) for item in value]
    if not isinstance(value, dict) or not children:
        return value
    return {child.key: projected(value.get(child.key), child.children) for child in children}
