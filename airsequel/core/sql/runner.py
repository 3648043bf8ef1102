"""Running a caller's SQL script against a hosted file, guarded, in one transaction.

The script first runs on a read-only connection. If the authorizer sees a write, nothing has been
written (the connection cannot write and the statement was refused before it ran); the script then
runs again on the file's single writer connection inside `BEGIN IMMEDIATE`, if the caller may write.
"""

from __future__ import annotations

import base64
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import orjson

from airsequel.core.errors import Conflict, Forbidden, InvalidInput, SqlError, TimedOut, TooLarge, Unavailable
from airsequel.core.integer_text import fits_sqlite_integer
from airsequel.core.sql.connections import ConnectionPool
from airsequel.core.sql.guard import SqlGuard
from airsequel.core.sql.script import split_statements
from airsequel.core.sql.text_values import undecodable_text_as_bytes

Params = Sequence[Any] | dict[str, Any] | None
RESPONSE_SIZE_SLICE = 500  # rows serialized at a time to measure a result against max_response_bytes


@dataclass
class SqlLimits:
    time_limit_seconds: float = 10.0
    max_rows: int = 10_000
    max_response_bytes: int = 64 * 1024 * 1024
    max_query_bytes: int = 1024 * 1024


@dataclass
class StatementResult:
    """What one statement of a script returned. `columns` are the keys of `rows`, in column order:
    SQLite's names, a repeated name made unique by `row_keys`."""

    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    num_changes: int = 0
    truncated: bool = False
    returns_rows: bool = False  # a SELECT, a PRAGMA, a write with RETURNING (even with no row)
    row_bytes: int = 0  # what its rows count against max_response_bytes


@dataclass
class SqlResult:
    """A script's result: `rows` and `columns` are those of its last statement that returns rows;
    `statements` holds every statement's own result, in order."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    affected_tables: list[str] = field(default_factory=list)
    num_changes: int = 0
    runtime_seconds: float = 0.0
    truncated: bool = False
    wrote: bool = False
    changed_schema: bool = False
    statements: list[StatementResult] = field(default_factory=list)


def row_keys(names: Sequence[str]) -> list[str]:
    """Unique keys for a result's columns, in order, so that a JSON object loses no value: a name seen
    before becomes `name:N`, with the next N from 1 up that is neither a key given already nor another
    column's own name (the second `id` is `id:1`, the third `id:2`)."""
    own_names = set(names)
    used: set[str] = set()
    last_n: dict[str, int] = {}
    keys: list[str] = []
    for name in names:
        key = name
        if key in used:
            n = last_n.get(name, 0)
            while key in used or key in own_names:
                n += 1
                key = f"{name}:{n}"
            last_n[name] = n
        keys.append(key)
        used.add(key)
    return keys


def json_cell(value: Any) -> Any:
    """A SQLite value as JSON: BLOBs become `{"$base64": "..."}`, everything else is as is."""
    if isinstance(value, bytes):
        return {"$base64": base64.b64encode(value).decode("ascii")}
    return value


def bindable(value: Any) -> bool:
    """Whether SQLite can bind a value that came from JSON: null, a boolean, a string, a float, or an integer
    within 64 bits (beyond that the driver fails deep inside)."""
    if isinstance(value, int):
        return fits_sqlite_integer(value)
    return value is None or isinstance(value, (str, float))


def check_params(params: Params) -> None:
    """Every parameter bindable; otherwise say which one and what to send instead."""
    named = params.items() if isinstance(params, dict) else enumerate(params or [])
    for name, value in named:
        if not bindable(value):
            label = f":{name}" if isinstance(params, dict) else f"params[{name}]"
            if isinstance(value, int):
                raise InvalidInput(
                    f"{label} is beyond SQLite's 64-bit integers: send it as a string (or a number with a decimal point)"
                )
            raise InvalidInput(f"{label} must be a string, number, boolean or null")


def holds_blobs(rows: list[Any]) -> bool:
    """Whether any value of these rows is a BLOB (one pass in C; the usual answer is no)."""
    return bytes in set(map(type, chain.from_iterable(rows)))


def run_script(
    pool: ConnectionPool,
    key: str,
    path: Path,
    query: str,
    params: Params = None,
    *,
    may_write: bool,
    limits: SqlLimits,
    schema_locked: bool = False,
    after_write: Callable[[sqlite3.Connection, SqlResult], None] | None = None,
) -> SqlResult:
    """Run `query` (one or more statements): every statement's result, and at the top the rows of
    the last statement that returns rows (a SELECT, a PRAGMA, a write with RETURNING).

    `after_write(conn, result)` runs on the writer connection inside the transaction, after the script
    and before COMMIT (the result's num_changes and affected_tables are set by then).
    """
    if len(query.encode("utf-8", "surrogatepass")) > limits.max_query_bytes:
        raise TooLarge(f"The query is longer than the limit of {limits.max_query_bytes} bytes")
    statements = split_statements(query)
    if not statements:
        raise SqlError("The query is empty")
    if params is not None and len(statements) > 1:
        raise SqlError("Parameters can only be used with a single statement")
    started = time.perf_counter()

    # One time limit for the whole script: the read attempt and the write that may follow it.
    with pool.reader(key, path, time_limit=limits.time_limit_seconds) as conn, undecodable_text_as_bytes(conn):
        guard = SqlGuard(may_write=False)
        result = _run_in_transaction(conn, "BEGIN", statements, params, guard, limits)
    if result is None:
        if not may_write:
            raise Forbidden("This access is read-only: the query would write to the database")
        remaining = max(0.001, limits.time_limit_seconds - (time.perf_counter() - started))
        with pool.writer(key, path, time_limit=remaining) as conn, undecodable_text_as_bytes(conn):
            guard = SqlGuard(may_write=True, schema_locked=schema_locked)
            result = _run_in_transaction(conn, "BEGIN IMMEDIATE", statements, params, guard, limits, after_write)
            assert result is not None
            result.wrote = True
            result.changed_schema = guard.changes_schema
            result.affected_tables = guard.written_tables
    result.runtime_seconds = round(time.perf_counter() - started, 6)
    return result


def _run_in_transaction(
    conn: sqlite3.Connection,
    begin: str,
    statements: list[str],
    params: Params,
    guard: SqlGuard,
    limits: SqlLimits,
    after_write: Callable[[sqlite3.Connection, SqlResult], None] | None = None,
) -> SqlResult | None:
    """Run all statements in one transaction. None means: refused because it writes, retry as writer."""
    changes_before = conn.total_changes
    conn.execute(begin)
    try:
        with guard.installed(conn):
            result = SqlResult()
            budget = _ResponseBudget(limits.max_response_bytes)
            for statement in statements:
                before = conn.total_changes
                cursor = conn.execute(statement, params if params is not None else ())
                outcome = StatementResult()
                if cursor.description is not None:
                    outcome.returns_rows = True
                    outcome.columns = row_keys([column[0] for column in cursor.description])
                    outcome.rows, outcome.truncated, outcome.row_bytes = _collect_rows(
                        cursor, outcome.columns, limits, budget
                    )
                cursor.close()
                outcome.num_changes = conn.total_changes - before
                result.statements.append(outcome)
            last = next((outcome for outcome in reversed(result.statements) if outcome.returns_rows), None)
            if last is not None:
                result.columns, result.rows, result.truncated = last.columns, last.rows, last.truncated
                if len(result.statements) > 1:
                    budget.spend(last.row_bytes)  # its rows are in the response twice
        result.num_changes = conn.total_changes - changes_before
        if guard.may_write and after_write is not None:
            result.affected_tables = guard.written_tables
            after_write(conn, result)
    except sqlite3.Error as error:
        _rollback(conn)
        if guard.wants_write:
            return None
        if guard.schema_lock_hit:
            raise Conflict(guard.denial or "The schema of this database is locked") from error
        if guard.timed_out:  # stopped by the server's limits, not refused by SQLite: 504, or 413 for temp space
            stopped_for_space = guard.deadline is not None and guard.deadline.stopped_by == "temp"
            raise (TooLarge if stopped_for_space else TimedOut)(guard.explain(error)) from error
        if _is_storage_failure(error):
            raise Unavailable(f"The database file cannot be written or read right now: {error}") from error
        raise SqlError(guard.explain(error)) from error
    except BaseException:
        _rollback(conn)
        raise
    conn.execute("COMMIT" if guard.may_write else "ROLLBACK")
    return result


STORAGE_FAILURES = ("readonly database", "disk I/O error", "unable to open database file", "database is locked")


def _is_storage_failure(error: sqlite3.Error) -> bool:
    """Errors of the file and the disk under it, not of the SQL (so 503, not an answer in `errors`): a
    read-only or failing disk, a file gone, a lock another process kept past the busy timeout."""
    message = str(error)
    return any(failure in message for failure in STORAGE_FAILURES)


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back unless SQLite already did (it does when an interrupted write aborts)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class _ResponseBudget:
    """Bytes of row data a response may still hold: the rows of every statement of a script count
    (BLOBs as base64, and every row's column names)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.spent = 0

    def spend(self, size: int) -> None:
        self.spent += size
        if self.spent > self.max_bytes:
            raise TooLarge(
                f"The result is larger than the limit of {self.max_bytes} bytes: add a LIMIT or select fewer columns"
            )


def _collect_rows(
    cursor: sqlite3.Cursor, columns: list[str], limits: SqlLimits, budget: _ResponseBudget
) -> tuple[list[dict[str, Any]], bool, int]:
    """Up to max_rows rows as objects keyed by `columns`; whether more were cut; their bytes."""
    fetched = cursor.fetchmany(limits.max_rows + 1)
    truncated = len(fetched) > limits.max_rows
    if truncated:
        fetched = fetched[: limits.max_rows]
    spent_before = budget.spent
    blobs = _check_response_size(fetched, columns, budget)
    rows = (
        [{name: json_cell(value) for name, value in zip(columns, raw)} for raw in fetched]
        if blobs
        else [dict(zip(columns, raw)) for raw in fetched]
    )
    return rows, truncated, budget.spent - spent_before


def _check_response_size(fetched: list[Any], columns: list[str], budget: _ResponseBudget) -> bool:
    """The rows' JSON (values, BLOBs as base64, and every row's column names) must fit in what is
    left of the budget; measured a slice at a time, so that an oversized result stops early. Returns
    whether any value is a BLOB: orjson hands only those to its `default`, so the measuring finds
    them for free."""
    names = sum(len(name) + 4 for name in columns)
    blobs = False

    def blob_as_json(value: Any) -> Any:
        nonlocal blobs
        blobs = True
        return json_cell(value)

    for start in range(0, len(fetched), RESPONSE_SIZE_SLICE):
        part = fetched[start : start + RESPONSE_SIZE_SLICE]
        budget.spend(len(orjson.dumps(part, default=blob_as_json)) + names * len(part))
    return blobs
