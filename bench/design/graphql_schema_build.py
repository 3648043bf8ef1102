"""Design check: building a generated GraphQL schema with graphql-core directly vs strawberry's dynamic types.

The server builds one schema per hosted file, schema version and access mode (airsequel/core/graphql/schema.py),
so the build sits on the path of the first request after every schema change. This script builds the same schema
both ways for 20 tables of 10 columns (no foreign keys), read-write mode: per table a row type, filter, order_by,
insert and set inputs, a column enum, the upsert input, two mutation responses and an aggregate type; per table
the list, _by_pk and _aggregate queries and five mutations; four comparison inputs shared by all.
Both timings include schema validation (strawberry validates in its constructor; graphql-core validates on the
first request).

Strawberry is not a project dependency. To run this:
    .venv/bin/pip install "strawberry-graphql==0.327.7" "graphql-core==3.2.14"   # keeps the project's graphql-core
    .venv/bin/python bench/design/graphql_schema_build.py
"""

from __future__ import annotations

import enum
import inspect
import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable, Collection
from datetime import date
from typing import Any

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, GraphQLSchema, validate_schema

from airsequel.core.graphql.engine import _resolver_for
from airsequel.core.graphql.schema import Mode, build_schema
from airsequel.core.sql.introspection import Table, read_tables
from airsequel.core.sql.value_kinds import ValueKind, column_kind

try:
    import strawberry
    from strawberry.schema.config import StrawberryConfig
except ImportError:  # pragma: no cover - a measurement-only dependency
    raise SystemExit('strawberry is not installed: .venv/bin/pip install "strawberry-graphql==0.327.7"') from None

TABLES = 20
COLUMNS = 10  # id INTEGER PRIMARY KEY and nine more
ROUNDS = 15
COLUMN_TYPES = ["TEXT NOT NULL", "INTEGER", "REAL", "BOOLEAN", "TEXT", "INTEGER", "REAL", "TEXT", "BLOB"]
OPERATORS = ("_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_like", "_ilike", "_in", "_nin")


def generated_tables() -> list[Table]:
    conn = sqlite3.connect(":memory:")
    for t in range(TABLES):
        columns = ", ".join(f"c{i + 1} {COLUMN_TYPES[i]}" for i in range(COLUMNS - 1))
        conn.execute(f"CREATE TABLE t{t} (id INTEGER PRIMARY KEY, {columns})")
    tables = read_tables(conn)
    conn.close()
    return tables


# --- graphql-core, the server's own code -------------------------------------------------------


def build_with_graphql_core(tables: list[Table]) -> GraphQLSchema:
    generated = build_schema(tables, Mode.READ_WRITE, _resolver_for)
    errors = validate_schema(generated.schema)
    assert not errors, errors
    return generated.schema


# --- strawberry, the same schema from dynamic classes -------------------------------------------

PY_SCALARS: dict[ValueKind, type] = {
    ValueKind.INT: int,
    ValueKind.STRING: str,
    ValueKind.BLOB: str,
    ValueKind.FLOAT: float,
    ValueKind.BOOLEAN: bool,
    ValueKind.UNTYPED: str,
}


def _input(name: str, fields: dict[str, Any], deprecated: Collection[str] = ()) -> type:
    # Python names of their own: a GraphQL name such as `in` is no Python identifier (a dataclass field).
    namespace: dict[str, Any] = {
        "__annotations__": {f"f{i}": kind for i, kind in enumerate(fields.values())},
        "__module__": __name__,
    }
    for i, field_name in enumerate(fields):
        namespace[f"f{i}"] = strawberry.field(
            name=field_name,
            default=strawberry.UNSET,
            deprecation_reason="Use the spelling with a leading underscore" if field_name in deprecated else None,
        )
    return strawberry.input(type(name, (), namespace), name=name)


def _object(name: str, fields: dict[str, Any]) -> type:
    return strawberry.type(type(name, (), {"__annotations__": dict(fields), "__module__": __name__}), name=name)


def _field(returns: Any, arguments: dict[str, Any]) -> Any:
    """A strawberry field whose resolver takes `arguments` (name -> annotation) as keyword arguments."""

    def resolve(**_kwargs: Any) -> Any:
        return None

    parameters = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=annotation,
            default=strawberry.UNSET if _is_optional(annotation) else inspect.Parameter.empty,
        )
        for name, annotation in arguments.items()
    ]
    resolve.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    resolve.__annotations__ = {**arguments, "return": returns}
    return strawberry.field(resolver=resolve)


def _is_optional(annotation: Any) -> bool:
    return type(None) in getattr(annotation, "__args__", ())


def build_with_strawberry(tables: list[Table]) -> GraphQLSchema:
    ordering = strawberry.enum(  # type: ignore[misc]
        enum.Enum(
            "OrderingTerm",
            {
                "ASC": "ASC",
                "DESC": "DESC",
                "asc": strawberry.enum_value("asc", deprecation_reason="Use ASC"),
                "desc": strawberry.enum_value("desc", deprecation_reason="Use DESC"),
            },
        ),
        name="OrderingTerm",
    )
    comparisons: dict[type, type] = {}
    for scalar, label in ((int, "Int"), (float, "Float"), (str, "String"), (bool, "Boolean")):
        fields: dict[str, Any] = {}
        for operator in OPERATORS:
            if operator in ("_in", "_nin"):
                kind: Any = list[scalar] | None
            elif operator in ("_like", "_ilike"):
                kind = str | None
            else:
                kind = scalar | None
            fields[operator] = kind
            fields[operator[1:]] = kind
        comparisons[scalar] = _input(f"{label}Comparison", fields, {o[1:] for o in OPERATORS})

    query: dict[str, Any] = {}
    mutation: dict[str, Any] = {}
    for table in tables:
        base = table.name
        kinds = {"rowid": ValueKind.INT} | {c.name: column_kind(c.declared_type) for c in table.columns}
        not_null = {"rowid", *(c.name for c in table.columns if c.not_null or c.pk_position)}
        row = _object(
            f"{base}_row",
            {n: (PY_SCALARS[k] if n in not_null else PY_SCALARS[k] | None) for n, k in kinds.items()},
        )
        writable = {n: k for n, k in kinds.items() if n != "rowid"}
        filter_type = _input(
            f"{base}_filter",
            {n: comparisons[PY_SCALARS[k]] | None for n, k in kinds.items() if k != ValueKind.BLOB},
        )
        order_type = _input(f"{base}_order_by", {n: ordering | None for n in kinds})
        insert_type = _input(f"{base}_insert_input", {n: PY_SCALARS[k] | None for n, k in writable.items()})
        set_type = _input(f"{base}_set_input", {n: PY_SCALARS[k] | None for n, k in writable.items()})
        column_enum = strawberry.enum(enum.Enum(f"{base}_column", {n: n for n in writable}), name=f"{base}_column")  # type: ignore[misc]
        upsert = strawberry.input(
            type(
                f"{base}_upsert_on_conflict",
                (),
                {
                    "__annotations__": {
                        "constraint": list[column_enum],
                        "update_columns": list[column_enum],
                        "where": filter_type | None,
                    },
                    "__module__": __name__,
                    "where": strawberry.UNSET,
                },
            ),
            name=f"{base}_upsert_on_conflict",
        )
        aggregate = _object(f"{base}_aggregate_result", {"count": int})
        response = _object(f"{base}_mutation_response", {"affected_rows": int, "returning": list[row]})
        by_pk_response = _object(f"{base}_mutation_by_pk_response", {"affected_rows": int, "returning": row | None})

        optional_filter = filter_type | None
        query[base] = _field(
            list[row],
            {
                "where": optional_filter,
                "filter": optional_filter,
                "order_by": list[order_type | None] | None,
                "limit": int | None,
                "offset": int | None,
            },
        )
        query[f"{base}_by_pk"] = _field(row | None, {"id": int})
        query[f"{base}_aggregate"] = _field(aggregate, {"where": optional_filter})
        mutation[f"insert_{base}"] = _field(
            response,
            {"objects": list[insert_type], "on_conflict": list[upsert] | None},
        )
        mutation[f"update_{base}"] = _field(
            response, {"_set": set_type, "where": optional_filter, "filter": optional_filter}
        )
        mutation[f"delete_{base}"] = _field(response, {"where": optional_filter, "filter": optional_filter})
        mutation[f"update_{base}_by_pk"] = _field(by_pk_response, {"id": int, "_set": set_type})
        mutation[f"delete_{base}_by_pk"] = _field(by_pk_response, {"id": int})

    query_type = strawberry.type(type("Query", (), {**query, "__module__": __name__}))
    mutation_type = strawberry.type(type("Mutation", (), {**mutation, "__module__": __name__}))
    schema = strawberry.Schema(query=query_type, mutation=mutation_type, config=StrawberryConfig(auto_camel_case=False))
    return schema._schema


def timed(build: Callable[[list[Table]], GraphQLSchema], tables: list[Table]) -> tuple[list[float], GraphQLSchema]:
    schema = build(tables)  # warm up imports and caches
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        schema = build(tables)
        times.append(time.perf_counter() - started)
    return times, schema


def shape(schema: GraphQLSchema) -> dict[str, Any]:
    """Types, fields, their types, arguments and deprecations: what a client sees of a schema."""
    result: dict[str, Any] = {}
    for name, graphql_type in schema.type_map.items():
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInputObjectType):
            result[name] = {
                field_name: (
                    str(field.type),
                    field.deprecation_reason,
                    sorted((arg, str(value.type)) for arg, value in getattr(field, "args", {}).items()),
                )
                for field_name, field in graphql_type.fields.items()
            }
        elif isinstance(graphql_type, GraphQLEnumType):
            result[name] = sorted(graphql_type.values)
        else:
            result[name] = "scalar"
    return result


def main() -> None:
    tables = generated_tables()
    print(
        f"{date.today()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"strawberry-graphql {strawberry_version()}, graphql-core {graphql_version()}"
    )
    print(f"schema of {TABLES} tables x {COLUMNS} columns, read-write, {ROUNDS} builds each (after one warm-up)")
    results = {}
    schemas = {}
    for label, build in (("graphql-core (airsequel)", build_with_graphql_core), ("strawberry", build_with_strawberry)):
        times, schemas[label] = timed(build, tables)
        results[label] = statistics.median(times)
        print(
            f"  {label:26} median {statistics.median(times) * 1000:7.1f} ms   min {min(times) * 1000:7.1f} ms"
            f"   ({len(schemas[label].type_map)} types)"
        )
    same = shape(schemas["strawberry"]) == shape(schemas["graphql-core (airsequel)"])
    print(f"  same types, fields, arguments and deprecations both ways: {'yes' if same else 'NO'}")
    ratio = results["strawberry"] / results["graphql-core (airsequel)"]
    print(f"  strawberry takes {ratio:.1f}x as long")


def strawberry_version() -> str:
    from importlib.metadata import version

    return version("strawberry-graphql")


def graphql_version() -> str:
    from importlib.metadata import version

    return version("graphql-core")


if __name__ == "__main__":
    main()
