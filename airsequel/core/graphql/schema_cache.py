"""The GraphQL schema of each hosted file, and its parsed documents, built once and kept.

- Schemas are cached per (file, schema version, access mode); the version comes from the registry,
  which the server updates after every write, so a change made through `POST /sql` shows up in the
  next request and nothing is rebuilt on the hot path. One request builds a schema while others
  wait for it; a file with more tables than `graphql_max_tables` is refused (422), and that refusal
  is cached per schema version too.
- Parsed and validated documents are cached per schema (bounded LRU), by their exact text; plans
  (plans.py: a document with its literals made variables, validated once) by the text with its
  literals taken out, so that requests differing only in their values share one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError, parse, validate

from airsequel.core.errors import Unprocessable
from airsequel.core.graphql.bindings import GeneratedSchema, Mode, RootField
from airsequel.core.graphql.plans import Plan, Shape, build_plan
from airsequel.core.graphql.schema import build_schema
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.sql.introspection import read_tables
from airsequel.core.storage.hosting import Hosting

SCHEMA_CACHE_SIZE = 256
COLUMNS_PER_TABLE = 50  # a schema is built for at most this many columns per table of graphql_max_tables
DOCUMENT_CACHE_SIZE = 512


@dataclass
class CachedSchema:
    generated: GeneratedSchema
    documents: OrderedDict[str, DocumentNode | list[GraphQLError]] = field(default_factory=OrderedDict)
    # By (shape, operation name): the plan, or None for a shape that cannot have one (plans.py).
    plans: OrderedDict[tuple[Any, str | None], Plan | None] = field(default_factory=OrderedDict)
    # Shapes seen once: a plan is made the second time, so a text sent once costs what it did before.
    seen: OrderedDict[tuple[Any, str | None], None] = field(default_factory=OrderedDict)


@dataclass
class PlanCounts:
    built: int = 0  # plans made (each from the first valid document of its shape)
    used: int = 0  # requests answered from a plan


class SchemaCache:
    def __init__(self, hosting: Hosting, resolver_for: Callable[[RootField], Any]) -> None:
        self.hosting = hosting
        self._resolver_for = resolver_for  # the graphql-core resolver of each root field
        self._schemas: OrderedDict[tuple[str, int, Mode], CachedSchema] = OrderedDict()
        # Files refused for their size: (file, schema version) -> (tables and views, their columns).
        self._oversized: OrderedDict[tuple[str, int], tuple[int, int]] = OrderedDict()
        self._building: dict[tuple[str, int, Mode], threading.Lock] = {}
        self._lock = threading.Lock()
        self.plan_counts = PlanCounts()
        self.schemas_built = 0  # tests read it: a schema is built once per file version and mode

    def get(self, record: DatabaseRecord, mode: Mode) -> CachedSchema:
        key = (record.file_key, record.schema_version, mode)
        with self._lock:
            cached = self._schemas.get(key)
            if cached is not None:
                self._schemas.move_to_end(key)
                return cached
            self._refuse_if_oversized(record)
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one request builds it; the others wait and take it from the cache
            with self._lock:
                cached = self._schemas.get(key)
                if cached is not None:
                    return cached
                self._refuse_if_oversized(record)
            try:
                cached = self._build(record, mode)
                self.schemas_built += 1
            finally:
                with self._lock:
                    self._building.pop(key, None)
        with self._lock:
            self._schemas[key] = cached
            while len(self._schemas) > SCHEMA_CACHE_SIZE:
                self._schemas.popitem(last=False)
        return cached

    def _build(self, record: DatabaseRecord, mode: Mode) -> CachedSchema:
        most = self.hosting.live.current.graphql_max_tables
        with self.hosting.read_snapshot(record) as conn:
            # Counted with one statement each before anything else is read: a refused file costs little.
            tables = conn.execute(f"SELECT count(*) FROM sqlite_master AS m WHERE {_USER_OBJECTS}").fetchone()[0]
            columns = 0
            if tables <= most:
                try:
                    columns = conn.execute(
                        f"SELECT count(*) FROM sqlite_master AS m, pragma_table_xinfo(m.name) WHERE {_USER_OBJECTS}"
                    ).fetchone()[0]
                except sqlite3.Error:  # a view SQLite cannot read: read_tables says what is wrong with it
                    pass
            refusal = _oversized(tables, columns, most)
            if refusal is not None:
                with self._lock:
                    self._oversized[(record.file_key, record.schema_version)] = (tables, columns)
                    while len(self._oversized) > SCHEMA_CACHE_SIZE:
                        self._oversized.popitem(last=False)
                raise refusal
            read = read_tables(conn)
        return CachedSchema(build_schema(read, mode, self._resolver_for))

    def _refuse_if_oversized(self, record: DatabaseRecord) -> None:
        """Raise the cached refusal of this schema version, if the limit still refuses it (under the lock)."""
        counts = self._oversized.get((record.file_key, record.schema_version))
        if counts is not None:
            refusal = _oversized(*counts, self.hosting.live.current.graphql_max_tables)
            if refusal is not None:
                raise refusal

    def document(self, cached: CachedSchema, query: str) -> DocumentNode | list[GraphQLError]:
        with self._lock:
            found = cached.documents.get(query)
            if found is not None:
                cached.documents.move_to_end(query)
                return found
        try:
            document = parse(query)
        except GraphQLError as error:
            return [error]
        errors = validate(cached.generated.schema, document)
        result = errors if errors else document
        with self._lock:
            cached.documents[query] = result
            while len(cached.documents) > DOCUMENT_CACHE_SIZE:
                cached.documents.popitem(last=False)
        return result

    def parsed(self, cached: CachedSchema, query: str) -> DocumentNode:
        """The document of a text whose shape has a plan: valid (plans.py says why), so parsed only."""
        with self._lock:
            found = cached.documents.get(query)
        if isinstance(found, DocumentNode):
            return found
        document = parse(query)
        with self._lock:
            cached.documents[query] = document
            while len(cached.documents) > DOCUMENT_CACHE_SIZE:
                cached.documents.popitem(last=False)
        return document

    def plan(self, cached: CachedSchema, shape: Shape, operation_name: str | None) -> Plan | None:
        with self._lock:
            found = cached.plans.get((shape.key, operation_name))
            if found is not None:
                cached.plans.move_to_end((shape.key, operation_name))
        return found

    def count_plan_use(self) -> None:
        with self._lock:
            self.plan_counts.used += 1

    def keep_plan(self, cached: CachedSchema, shape: Shape, operation_name: str | None, document: DocumentNode) -> None:
        """Make and keep the plan of `shape` from `document` (valid, of that shape), once per shape,
        when the shape comes the second time."""
        key = (shape.key, operation_name)
        with self._lock:
            if key in cached.plans:
                return
            if key not in cached.seen:
                cached.seen[key] = None
                while len(cached.seen) > DOCUMENT_CACHE_SIZE:
                    cached.seen.popitem(last=False)
                return
        plan = build_plan(cached.generated.schema, document, shape, operation_name)
        with self._lock:
            if key in cached.plans:
                return
            cached.plans[key] = plan
            cached.seen.pop(key, None)
            if plan is not None:
                self.plan_counts.built += 1
            while len(cached.plans) > DOCUMENT_CACHE_SIZE:
                cached.plans.popitem(last=False)


# Shadow tables (an FTS5 table's `_data`, `_idx`, ...) are not in the schema, so they do not count either.
_USER_OBJECTS = (
    "m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    " AND m.name NOT IN (SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow')"
)


def _oversized(tables: int, columns: int, most: int) -> Unprocessable | None:
    """The refusal of a file with more than `most` tables and views, or more than COLUMNS_PER_TABLE
    times as many columns (a schema grows with both), if it is one."""
    if tables > most:
        return Unprocessable(
            f"This database has {tables} tables and views, more than the {most} a GraphQL API is built for "
            "(graphql_max_tables, set by the server's operator with AIRSEQUEL_GRAPHQL_MAX_TABLES): "
            "query it with POST /dbs/:dbId/sql, or keep fewer tables in one database"
        )
    if columns > most * COLUMNS_PER_TABLE:
        return Unprocessable(
            f"This database has {columns} columns in its tables and views, more than the {most * COLUMNS_PER_TABLE} "
            f"a GraphQL API is built for ({COLUMNS_PER_TABLE} per table of graphql_max_tables, set by the server's "
            "operator with AIRSEQUEL_GRAPHQL_MAX_TABLES): query it with POST /dbs/:dbId/sql, or keep fewer columns"
        )
    return None
