"""Running read fields as SQL: one statement per root field, one batched statement per relationship
and level (never one per row), only the requested columns.

The response is measured while it is fetched (`max_response_bytes`, as for `POST /sql`): rows are
read a chunk at a time and each row's JSON size is counted as it is shaped. A row's size includes its
relationships, so a related row shared by many parents (one Python dict, many copies in the JSON)
counts once per parent: nesting on small tables cannot build a huge response out of few rows. Every
row fetched at a level appears at least once in the response, so the sum of one level's sizes is a
lower bound of the response, checked at each level; past the limit the request is refused at once
(`ResponseTooLarge`, 413) and no further statement runs. On graphql-core's path (serialize=False),
which builds a new dict for every copy, each row copy also counts GRAPHQL_CORE_OBJECT_BYTES.

Rows come back as dicts keyed by response key (alias or field name). With `serialize=True` (the
compiled path) values go through the GraphQL scalar's own `serialize`, so the JSON is exactly what
graphql-core would produce; any value it would turn into a field error raises `CellError`, and the
request is executed by graphql-core instead, which reports the error with its path.
"""

from __future__ import annotations

import math
import operator
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLError, get_named_type

from airsequel.core.errors import TooLarge
from airsequel.core.graphql.aggregate_relationships import attach_aggregate
from airsequel.core.graphql.bindings import GeneratedSchema, Mode, Relationship, TableBinding
from airsequel.core.graphql.cells import CellError
from airsequel.core.graphql.files import cell_expression, file_converter, file_key, holds_files
from airsequel.core.graphql.selection import Selected
from airsequel.core.graphql.sql import key_condition, keys_in, list_clauses, order_sql, page
from airsequel.core.graphql.types import SCALARS
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.value_kinds import ValueKind

KEYS_PER_BATCH = 400
ROWS_PER_CHUNK = 256  # rows fetched from SQLite and measured at a time
# On graphql-core's path every copy of a row in the response becomes its own dict (the compiled path
# shares them), so each copy also counts this much, beyond its JSON: that tree stays bounded too.
GRAPHQL_CORE_OBJECT_BYTES = 256


class ResponseTooLarge(TooLarge):
    """The response would exceed `max_response_bytes`; the whole request is refused (413)."""


@dataclass
class FetchContext:
    conn: sqlite3.Connection
    schema: GeneratedSchema
    files_base: str  # BLOB cells are URLs under this path: /api/dbs/<id>, or /readonly/<id> via the link
    mode: Mode
    max_rows: int  # rows a field returns at most without an explicit limit (graphql_max_rows)
    max_depth: int  # levels a selection may nest (graphql_max_depth)
    changes_before: int = 0
    max_response_bytes: int = 64 * 1024 * 1024  # bytes of JSON the whole response may hold (max_response_bytes)
    response_bytes: int = 0  # bytes of the root fields fetched so far
    refusal: ResponseTooLarge | None = field(default=None)  # set once the response is refused
    written_tables: list[str] = field(default_factory=list)  # the guard's record of the tables written (mutations)

    def bytes_left(self) -> int:
        if self.refusal is not None:
            raise self.refusal
        return self.max_response_bytes - self.response_bytes

    def count_root(self, key: str, size: int) -> None:
        """Count a root field's value (`size` bytes of JSON) into the response."""
        self.response_bytes += size + len(key) + 4
        if self.response_bytes > self.max_response_bytes:
            self.refuse()

    def refuse(self) -> None:
        self.refusal = ResponseTooLarge(
            f"The response is larger than the limit of {self.max_response_bytes} bytes: use limit (and offset) "
            "to page, select fewer fields or nest fewer relationships, or split the aliases over several requests"
        )
        raise self.refusal


@dataclass
class Fetched:
    rows: list[dict[str, Any]]
    hidden: list[tuple[Any, ...]]  # the values of the `hidden` expressions, per row
    total: int  # the JSON size of all these rows in bytes, relationships included
    sizes: list[int] | None  # each row's, when asked for (rows fetched to attach to others)


def fetch_list(
    ctx: FetchContext,
    binding: TableBinding,
    children: list[Selected],
    args: dict[str, Any],
    *,
    serialize: bool,
    key: str = "",
) -> list[dict[str, Any]]:
    params: list[Any] = []
    condition, order = list_clauses(binding, args, params)  # where, order_by, distinct_on (sql.py)
    limit, offset, explicit = page(args.get("limit"), args.get("offset"), ctx.max_rows)
    fetched = select_rows(ctx, binding, children, condition, params, order, limit, offset, serialize=serialize)
    rows = fetched.rows
    if not explicit and len(rows) > ctx.max_rows:
        count_params: list[Any] = []
        count_condition, _order = list_clauses(binding, args, count_params)
        total = ctx.conn.execute(
            f"SELECT count(*) FROM {quote_identifier(binding.name)}"
            + (f" WHERE {count_condition}" if count_condition else ""),
            count_params,
        ).fetchone()[0]
        raise GraphQLError(
            f"The query would return {total} rows, more than the maximum of {ctx.max_rows}: use limit (and offset) to page"
        )
    ctx.count_root(key, fetched.total + 2)
    return rows


def fetch_by_key(
    ctx: FetchContext,
    binding: TableBinding,
    children: list[Selected],
    args: dict[str, Any],
    *,
    serialize: bool,
    key: str = "",
) -> dict[str, Any] | None:
    params: list[Any] = []
    condition = key_condition(binding, args, params)
    fetched = select_rows(ctx, binding, children, condition, params, "", 1, 0, serialize=serialize)
    ctx.count_root(key, fetched.total or 4)
    return fetched.rows[0] if fetched.rows else None


def select_rows(
    ctx: FetchContext,
    binding: TableBinding,
    children: list[Selected],
    condition: str,
    params: list[Any],
    order: str,
    limit: int | None,
    offset: int,
    *,
    serialize: bool,
    hidden: list[str] | None = None,
) -> Fetched:
    """Rows of `binding` matching `condition`, shaped for `children`, with each row's JSON size; plus
    the values of the `hidden` SQL expressions (quoted columns) for each row, for joining relationships
    and ordering. Refuses (ResponseTooLarge) as soon as these rows alone exceed what the response has
    left, while they are fetched."""
    budget = ctx.bytes_left()
    expressions: list[str] = []
    positions: dict[str, int] = {}

    def need(expression: str) -> int:
        if expression not in positions:
            positions[expression] = len(expressions)
            expressions.append(expression)
        return positions[expression]

    plan: list[tuple[Selected, str, Any]] = []
    relationships: list[tuple[Selected, Relationship, list[int]]] = []
    aggregates: list[tuple[Selected, Relationship, list[int]]] = []
    key = file_key(binding) if _has_files(binding, children) else None
    key_position = need(key[1]) if key is not None else None
    for child in children:
        if child.name == "__typename":
            plan.append((child, "typename", get_named_type(child.definition.type).name))
        elif child.name in binding.columns:
            column = binding.columns[child.name]
            # A file (a BLOB) is answered with its URL: the bytes stay on disk (files.py).
            plan.append((child, "column", (need(cell_expression(column)), column)))
        elif child.name in binding.aggregates:  # R_aggregate beside an array relationship (aggregates.py)
            relation = binding.aggregates[child.name]
            aggregates.append((child, relation, [need(quote_identifier(c)) for c in relation.local_columns]))
        else:
            relation = binding.relationships[child.name]
            relationships.append((child, relation, [need(quote_identifier(c)) for c in relation.local_columns]))
    hidden_positions = [need(expression) for expression in hidden or []]
    if not expressions:
        need("1")
    sql = f"SELECT {', '.join(expressions)} FROM {quote_identifier(binding.name)}"
    if condition:
        sql += f" WHERE {condition}"
    if order:
        sql += f" ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params = [*params, limit, offset]

    # One converter per selected field, chosen once: the row loop below is the hot path.
    fields: list[tuple[str, Any, Any]] = []  # (response key, position or constant, converter or None)
    for child, kind, detail in plan:
        if kind == "typename":
            fields.append((child.key, detail, None))
            continue
        position, column = detail
        convert = cell_converter(column, serialize)
        if holds_files(column):
            convert = file_converter(ctx.files_base, binding, column, key_position, convert, serialize=serialize)
        fields.append((child.key, position, convert))
    cursor = ctx.conn.execute(sql, params)
    raw_rows: list[Any] = []
    rows: list[dict[str, Any]] = []
    per_row = hidden is not None  # rows to attach to others: each one's size is needed
    weight = 0 if serialize else GRAPHQL_CORE_OBJECT_BYTES
    sizes: list[int] | None = [] if per_row else None
    total = 0
    while True:
        chunk = cursor.fetchmany(ROWS_PER_CHUNK)
        if not chunk:
            break
        shaped = [
            {key: (convert(raw[where], raw) if convert is not None else where) for key, where, convert in fields}
            for raw in chunk
        ]
        if sizes is not None:
            measured = [len(orjson.dumps(row, default=_measured_as_text)) + weight for row in shaped]
            sizes.extend(measured)
            total += sum(measured) + len(measured)
        else:
            total += len(orjson.dumps(shaped, default=_measured_as_text)) + weight * len(shaped)
        if total > budget:
            cursor.close()
            ctx.refuse()
        raw_rows.extend(chunk)
        rows.extend(shaped)
    for child, relation, positions_of_keys in relationships:
        keys = [tuple(raw[p] for p in positions_of_keys) for raw in raw_rows]
        total += _attach(ctx, rows, sizes, keys, child, relation, budget, serialize=serialize)
        if total > budget:
            ctx.refuse()
    for child, relation, positions_of_keys in aggregates:
        keys = [tuple(raw[p] for p in positions_of_keys) for raw in raw_rows]
        total += attach_aggregate(ctx, rows, sizes, keys, child, relation, serialize=serialize)
        if total > budget:
            ctx.refuse()
    return Fetched(rows, [tuple(raw[p] for p in hidden_positions) for raw in raw_rows], total, sizes)


def _measured_as_text(value: Any) -> Any:
    """What orjson cannot serialize (bytes, on the graphql-core path) is measured as its text."""
    return str(value)


def _attach(
    ctx: FetchContext,
    rows: list[dict[str, Any]],
    sizes: list[int] | None,
    keys: list[tuple[Any, ...]],
    child: Selected,
    relation: Relationship,
    budget: int,
    *,
    serialize: bool,
) -> int:
    """Load one relationship for all `rows` in batches, put each row's share under `child.key`, and
    add its JSON size to each row's in `sizes` (if given). Returns the bytes added to all rows together."""
    target = ctx.schema.tables[relation.target]
    distinct = list(dict.fromkeys(key for key in keys if None not in key))
    found: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    found_bytes: dict[tuple[Any, ...], int] = {}  # per key: the JSON size of its rows together
    columns = [quote_identifier(c) for c in relation.target_columns]
    fetched_bytes = 0
    for start in range(0, len(distinct), KEYS_PER_BATCH):
        batch = distinct[start : start + KEYS_PER_BATCH]
        params = [value for key in batch for value in key]
        condition = keys_in(columns, len(batch))
        fetched = select_rows(
            ctx,
            target,
            child.children,
            condition,
            params,
            order_sql(target, None),
            None,
            0,
            serialize=serialize,
            hidden=columns,
        )
        # Every row fetched here is in the response at least once: together they count against the budget.
        fetched_bytes += fetched.total
        if fetched_bytes > budget:
            ctx.refuse()
        assert fetched.sizes is not None
        for row, key, size in zip(fetched.rows, fetched.hidden, fetched.sizes):
            found.setdefault(key, []).append(row)
            found_bytes[key] = found_bytes.get(key, 0) + size + 1
    # Rows with the same key share one list (or row): the JSON repeats it, the memory does not.
    response_key = child.key
    overhead = len(response_key) + 4  # "key": and a comma
    if relation.many:
        nothing: list[dict[str, Any]] = []
        for row, key in zip(rows, keys):
            row[response_key] = found.get(key, nothing)
        empty = overhead + 2
        value_sizes = {key: overhead + 2 + size for key, size in found_bytes.items()}
    else:
        for row, key in zip(rows, keys):
            matches = found.get(key)
            row[response_key] = matches[0] if matches else None
        empty = overhead + 4  # null
        value_sizes = {key: overhead + size for key, size in found_bytes.items()}
    added_sizes = [value_sizes.get(key, empty) for key in keys]
    if sizes is not None:
        sizes[:] = map(operator.add, sizes, added_sizes)
    return sum(added_sizes)


def _has_files(binding: TableBinding, children: list[Selected]) -> bool:
    return any(c.name in binding.columns and holds_files(binding.columns[c.name]) for c in children)


def cell_converter(column: Any, serialize: bool) -> Any:
    """A function (value, raw row) -> the field's value: as stored, or serialized exactly as the
    GraphQL scalar would (fast paths for the common types, the scalar's own serialize otherwise)."""
    if not serialize:
        return lambda value, _raw: value
    scalar_serialize = SCALARS[column.kind].serialize
    nullable = column.nullable

    def general(value: Any, _raw: Any) -> Any:
        if value is None:
            if not nullable:
                raise CellError("null in a non-null field")
            return None
        if isinstance(value, bytes) or (isinstance(value, float) and not math.isfinite(value)):
            raise CellError("not representable")
        try:
            return scalar_serialize(value)
        except GraphQLError as error:
            raise CellError(str(error)) from None

    exact: type[Any] | None = {ValueKind.INT: int, ValueKind.STRING: str, ValueKind.FLOAT: float}.get(column.kind)
    if exact is None:
        return general
    low, high = -(2**31), 2**31 - 1

    def fast(value: Any, raw: Any) -> Any:
        if (
            type(value) is exact
            and (exact is not int or low <= value <= high)
            and (exact is not float or math.isfinite(value))
        ):
            return value
        return general(value, raw)

    return fast
