"""Executing GraphQL requests against hosted files.

- Schemas and parsed documents come from the schema cache (schema_cache.py): per file, schema
  version and access mode, so a change made through `POST /sql` shows up in the next request.
- Before any SQL runs, the operation's depth, estimated cost and (for insert-only callers) use of
  `on_conflict` are checked (limits.py); while it runs, the response is measured against
  `max_response_bytes` (fetch.py).
- Queries run on the compiled path: each root field is one SQL statement whose rows become the
  response directly. graphql-core's executor is the fallback (introspection, cell errors, mutations),
  fed by the same fetch functions, so both paths return the same JSON; a cell error fails only its
  cell there (cells.py).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLObjectType,
    OperationType,
    execute,
    get_named_type,
    get_operation_ast,
)
from graphql.execution.values import get_variable_values
from graphql.pyutils import Path

from airsequel.config import Settings
from airsequel.core.admin.audit import AuditEntry
from airsequel.core.auth.access import Action, Principal, allowed_actions
from airsequel.core.errors import NotFound, SqlError, Unavailable
from airsequel.core.graphql.aggregates import fetch_aggregate
from airsequel.core.graphql.bindings import GeneratedSchema, Mode, RootField
from airsequel.core.graphql.cells import (
    CellError,
    CellErrorsStayInTheirCell,
    is_undecodable_text,
    lenient_text,
    resolve_by_response_key,
)
from airsequel.core.graphql.cursors import fetch_connection
from airsequel.core.graphql.fetch import FetchContext, fetch_by_key, fetch_list
from airsequel.core.graphql.grouping import fetch_groups
from airsequel.core.graphql.limits import Limits, check_operation
from airsequel.core.graphql.mutations import run_mutation
from airsequel.core.graphql.plans import Plan, Prepared, Shape, shape_of
from airsequel.core.graphql.schema_cache import DOCUMENT_CACHE_SIZE, CachedSchema, PlanCounts, SchemaCache
from airsequel.core.graphql.search import fetch_search
from airsequel.core.graphql.selection import NotCompilable, flatten
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.sql.connections import BUSY_MESSAGE, is_busy
from airsequel.core.sql.guard import SqlGuard
from airsequel.core.storage.hosted_files import read_file_facts
from airsequel.core.storage.hosting import Hosting

CANNOT_READ = "Cannot read field using the provided token"


class GraphQLEngine:
    def __init__(self, hosting: Hosting) -> None:
        self.hosting = hosting
        self._schemas = SchemaCache(hosting, _resolver_for)
        # Flattened selections of variable-free operations, by document (which holds the schema's types).
        self._selections: OrderedDict[tuple[int, int], tuple[DocumentNode, list[Any]]] = OrderedDict()
        self._lock = threading.Lock()

    # --- caches ---------------------------------------------------------------------------

    def schema_for(self, record: DatabaseRecord, mode: Mode) -> GeneratedSchema:
        return self._schemas.get(record, mode).generated

    def _cached(self, record: DatabaseRecord, mode: Mode) -> CachedSchema:
        return self._schemas.get(record, mode)

    def schemas_built(self) -> int:
        """How many schemas were built (tests read it: once per file version and access mode)."""
        return self._schemas.schemas_built

    def plan_counts(self) -> PlanCounts:
        """How many plans were made and how many requests used one (tests and the benchmark read it)."""
        return self._schemas.plan_counts

    def _document(self, cached: CachedSchema, query: str) -> DocumentNode | list[GraphQLError]:
        return self._schemas.document(cached, query)

    # --- execution --------------------------------------------------------------------------

    def execute(
        self,
        record: DatabaseRecord,
        mode: Mode,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        actor: Principal | None = None,
        files_base: str | None = None,
    ) -> dict[str, Any]:
        """Run one request. A mutation operation is one transaction; when it changed rows, the file's
        facts and its audit entry (by `actor`) are recorded before it commits. BLOB cells are URLs
        under `files_base`: the path the caller reached the database by (default `/api/dbs/<id>`;
        `/readonly/<id>` only for a caller who came through the read-only link, so that the link is
        never handed to anyone who was not given it)."""
        current = self.hosting.live.current  # read once: each read checks the control plane's generation
        longest = current.graphql_max_query_chars
        if len(query) > longest:
            return _errors(f"The query is longer than {longest} characters")
        cached = self._cached(record, mode)
        shape = shape_of(query)
        if shape is not None:
            plan = self._schemas.plan(cached, shape, operation_name)
            if plan is not None:
                planned = self._planned(plan, shape, cached, query, variables)
                if planned is not None:
                    self._schemas.count_plan_use()
                    return self._checked_and_run(
                        record, mode, cached, planned, query, variables, actor, files_base, current
                    )
        document = self._document(cached, query)
        if isinstance(document, list):
            return {"data": None, "errors": [error.formatted for error in document]}
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return _errors("Unknown operation: name the operation to run with operationName")
        coerced = get_variable_values(cached.generated.schema, operation.variable_definitions or (), variables or {})
        if isinstance(coerced, list):
            return {"data": None, "errors": [error.formatted for error in coerced]}
        if shape is not None:
            self._schemas.keep_plan(cached, shape, operation_name, document)
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        prepared = Prepared(document, operation, fragments, coerced, lambda: document)
        return self._checked_and_run(record, mode, cached, prepared, query, variables, actor, files_base, current)

    def _planned(
        self, plan: Plan, shape: Shape, cached: CachedSchema, query: str, variables: dict[str, Any] | None
    ) -> Prepared | None:
        """The request on its shape's plan: its literals bound as the plan's variables. None when a
        literal or a variable is refused: the full path then answers with its usual message."""
        lifted = plan.bind(shape.literals)
        if lifted is None:
            return None
        coerced = get_variable_values(cached.generated.schema, plan.own_variables, variables or {})
        if isinstance(coerced, list):
            return None
        coerced.update(lifted)
        return Prepared(
            plan.document, plan.operation, plan.fragments, coerced, lambda: self._schemas.parsed(cached, query)
        )

    def _checked_and_run(
        self,
        record: DatabaseRecord,
        mode: Mode,
        cached: CachedSchema,
        prepared: Prepared,
        query: str,
        variables: dict[str, Any] | None,
        actor: Principal | None,
        files_base: str | None,
        current: Settings,
    ) -> dict[str, Any]:
        try:
            check_operation(
                cached.generated,
                prepared.fragments,
                prepared.operation,
                prepared.variables,
                Limits(current.graphql_max_depth, current.graphql_max_cost, current.graphql_max_rows),
            )
        except GraphQLError as error:
            return _errors(error.message)
        try:
            return self._execute_operation(
                record,
                mode,
                cached.generated,
                prepared,
                query,
                variables,
                actor,
                files_base or f"/api/dbs/{record.id}",
                current,
            )
        except SqlError as error:
            return _errors(str(error))

    def _execute_operation(
        self,
        record: DatabaseRecord,
        mode: Mode,
        generated: GeneratedSchema,
        prepared: Prepared,
        query: str,
        variables: dict[str, Any] | None,
        actor: Principal | None,
        files_base: str,
        current: Settings,
    ) -> dict[str, Any]:
        operation = prepared.operation
        operation_name = operation.name.value if operation.name else None
        if operation.operation == OperationType.MUTATION:
            # The whole operation is one transaction: its fields' changes, then the file's facts and
            # the audit entry in the control plane, then COMMIT (as Hosting.write_transaction does).
            self.hosting.disk.check_room(what="This mutation")  # 507 before anything is written
            with self._connection(record, generated, mode, files_base, write=True, current=current) as ctx:
                ctx.conn.execute("BEGIN IMMEDIATE")
                result = self._execute_with_graphql_core(generated, prepared.original(), ctx, variables, operation_name)
                changed = ctx.conn.total_changes - ctx.changes_before
                if changed and ctx.conn.in_transaction:
                    facts = read_file_facts(ctx.conn, self.hosting.file_path(record), known=record)
                    self.hosting.record_change(
                        record, facts, AuditEntry(actor, "graphql", query, list(ctx.written_tables), changed)
                    )
                if ctx.conn.in_transaction:
                    ctx.conn.execute("COMMIT")
                return result
        with self._connection(record, generated, mode, files_base, write=False, current=current) as ctx:
            if mode.can_read:
                try:
                    return self._execute_compiled(generated, prepared, ctx)
                except (NotCompilable, CellError, GraphQLError):
                    ctx.response_bytes = 0  # graphql-core starts the response again
                except sqlite3.OperationalError as error:
                    if not is_undecodable_text(error):
                        raise
                    ctx.response_bytes = 0  # graphql-core reads it again, that text as its cell's error
            # graphql-core runs the request's own document: its errors point into the text as sent.
            return self._execute_with_graphql_core(generated, prepared.original(), ctx, variables, operation_name)

    @contextmanager
    def _connection(
        self,
        record: DatabaseRecord,
        generated: GeneratedSchema,
        mode: Mode,
        files_base: str,
        *,
        write: bool,
        current: Settings | None = None,
    ) -> Iterator[FetchContext]:
        current = current or self.hosting.live.current
        path = self.hosting.file_path(record)
        guard = SqlGuard(may_write=write, server_transactions=True)  # the borrow's deadline governs
        borrow = self.hosting.pool.writer if write else self.hosting.pool.reader
        with borrow(record.file_key, path) as conn:
            changes_before = conn.total_changes
            if not write:
                conn.execute("BEGIN")  # one snapshot for every root field
            try:
                with guard.installed(conn):
                    yield FetchContext(
                        conn,
                        generated,
                        files_base,
                        mode,
                        max_rows=current.graphql_max_rows,
                        max_depth=current.graphql_max_depth,
                        changes_before=changes_before,
                        max_response_bytes=current.max_response_bytes,
                        written_tables=guard.written_tables,
                    )
            except sqlite3.Error as error:  # the deadline, a denied statement, a failing file
                if is_busy(error):  # another worker process's write outlasted the busy wait: 503, retry
                    raise Unavailable(BUSY_MESSAGE) from error
                raise SqlError(guard.explain(error)) from error
            finally:
                conn.text_factory = str
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def _selection(self, generated: GeneratedSchema, prepared: Prepared, max_depth: int) -> list[Any]:
        """The operation's flattened root selection; kept per document when it takes no variables."""
        document, operation = prepared.document, prepared.operation
        cacheable = not operation.variable_definitions
        key = (id(document), id(operation))
        if cacheable:
            with self._lock:
                found = self._selections.get(key)
            if found is not None and found[0] is document:
                return found[1]
        query_type = generated.schema.query_type
        assert query_type is not None
        selection = flatten(
            query_type,
            [operation.selection_set],
            prepared.fragments,
            prepared.variables,
            max_depth,
        )
        if cacheable:
            with self._lock:
                self._selections[key] = (document, selection)
                while len(self._selections) > DOCUMENT_CACHE_SIZE:
                    self._selections.popitem(last=False)
        return selection

    def _execute_compiled(self, generated: GeneratedSchema, prepared: Prepared, ctx: FetchContext) -> dict[str, Any]:
        ctx.schema = generated
        data: dict[str, Any] = {}
        for selected in self._selection(generated, prepared, ctx.max_depth):
            if selected.name == "__typename":
                data[selected.key] = "Query"
                continue
            root = generated.roots[("query", selected.name)]
            data[selected.key] = _run_read(
                root, ctx, selected.children, selected.args, serialize=True, key=selected.key
            )
        return {"data": data}

    def _execute_with_graphql_core(
        self,
        generated: GeneratedSchema,
        document: DocumentNode,
        ctx: FetchContext,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> dict[str, Any]:
        ctx.schema = generated
        ctx.conn.text_factory = lenient_text  # text that is not UTF-8 is its cell's error (reset after the borrow)
        result = execute(
            generated.schema,
            document,
            context_value=ctx,
            variable_values=variables,
            operation_name=operation_name,
            field_resolver=resolve_by_response_key,
            execution_context_class=CellErrorsStayInTheirCell,
        )
        assert isinstance(result, ExecutionResult)
        if ctx.refusal is not None:  # the response grew past its limit: refuse the whole request
            raise ctx.refusal
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [error.formatted for error in result.errors]
        return response


def _run_read(
    root: RootField, ctx: FetchContext, children: list[Any], args: dict[str, Any], *, serialize: bool, key: str
) -> Any:
    if root.kind == "list":
        return fetch_list(ctx, root.table, children, args, serialize=serialize, key=key)
    if root.kind == "by_pk":
        return fetch_by_key(ctx, root.table, children, args, serialize=serialize, key=key)
    if root.kind == "aggregate":
        return fetch_aggregate(ctx, root.table, children, args, serialize=serialize, key=key)
    if root.kind == "group_by":
        return fetch_groups(ctx, root.table, children, args, serialize=serialize, key=key)
    if root.kind == "connection":
        return fetch_connection(ctx, root.table, children, args, serialize=serialize, key=key)
    if root.kind == "search":
        return fetch_search(ctx, root.table, children, args, serialize=serialize, key=key)
    raise NotCompilable(root.kind)


def _resolver_for(root: RootField) -> Any:
    """The graphql-core resolver of a root field (the fallback path)."""

    def resolve(_source: Any, info: Any, **args: Any) -> Any:
        ctx: FetchContext = info.context
        parent = info.parent_type.fields[info.field_name]
        field_type = get_named_type(parent.type)
        sets = [node.selection_set for node in info.field_nodes if node.selection_set]
        # The root field is level 1: its selection is flattened as level 2, as on the compiled path.
        children = (
            flatten(field_type, sets, info.fragments, info.variable_values, ctx.max_depth, depth=1)
            if isinstance(field_type, GraphQLObjectType)
            else []
        )
        if root.kind in ("list", "by_pk", "aggregate", "group_by", "connection", "search"):
            if not ctx.mode.can_read:
                raise GraphQLError(CANNOT_READ)
            key = info.path.key if isinstance(info.path, Path) else info.field_name
            return _run_read(root, ctx, children, args, serialize=False, key=str(key))
        return run_mutation(ctx, root.kind, root.table, args, children)

    return resolve


def _errors(message: str) -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message}]}


def mode_for(caller: Principal, record: DatabaseRecord) -> Mode:
    """The GraphQL access mode the caller's rights give; 404 when it may not see the database."""
    actions = allowed_actions(caller, record)
    if Action.READ in actions and Action.WRITE in actions:
        return Mode.READ_WRITE
    if Action.READ in actions:
        return Mode.READ_INSERT if Action.INSERT in actions else Mode.READ_ONLY
    if Action.WRITE in actions:
        return Mode.WRITE_ONLY
    if Action.INSERT in actions:
        return Mode.INSERT_ONLY
    raise NotFound(f'Database "{record.id}" does not exist')
