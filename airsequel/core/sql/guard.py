"""Guarded execution of untrusted SQL: the SQLite authorizer, the deadline and what they found out.

One `SqlGuard` lives for one request. Installed on a connection it
- denies ATTACH/DETACH (and with them `VACUUM INTO`), transaction control, temp objects,
  PRAGMAs outside a read-only allow-list and functions that reach outside the database;
- in read mode, denies every write and remembers that the statement wanted to write;
- in write mode, records which tables the statements write (`affectedTables`);
- explains an abort by the deadline of the connection's borrow (see deadline.py): a pooled
  connection already carries one; any other connection gets one of `time_limit` seconds here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from airsequel.core.sql.deadline import PROGRESS_STEPS, Deadline
from airsequel.core.sql.server_tables import SERVER_TABLE_PREFIX, is_server_table

OK = sqlite3.SQLITE_OK
DENY = sqlite3.SQLITE_DENY

# Action codes (sqlite3.h); the stdlib exposes most of them but not under one namespace.
CREATE_INDEX, CREATE_TABLE, CREATE_TEMP_INDEX, CREATE_TEMP_TABLE = 1, 2, 3, 4
CREATE_TEMP_TRIGGER, CREATE_TEMP_VIEW, CREATE_TRIGGER, CREATE_VIEW = 5, 6, 7, 8
DELETE, DROP_INDEX, DROP_TABLE, DROP_TEMP_INDEX, DROP_TEMP_TABLE = 9, 10, 11, 12, 13
DROP_TEMP_TRIGGER, DROP_TEMP_VIEW, DROP_TRIGGER, DROP_VIEW, INSERT = 14, 15, 16, 17, 18
PRAGMA, READ, SELECT, TRANSACTION, UPDATE, ATTACH, DETACH = 19, 20, 21, 22, 23, 24, 25
ALTER_TABLE, REINDEX, ANALYZE, CREATE_VTABLE, DROP_VTABLE, FUNCTION = 26, 27, 28, 29, 30, 31
SAVEPOINT, RECURSIVE = 32, 33

TEMP_ACTIONS = {
    CREATE_TEMP_INDEX,
    CREATE_TEMP_TABLE,
    CREATE_TEMP_TRIGGER,
    CREATE_TEMP_VIEW,
    DROP_TEMP_INDEX,
    DROP_TEMP_TABLE,
    DROP_TEMP_TRIGGER,
    DROP_TEMP_VIEW,
}
# Schema changes: the table they touch is in arg1 or arg2.
SCHEMA_ACTIONS_ARG1 = {CREATE_TABLE, DROP_TABLE, CREATE_VIEW, DROP_VIEW, CREATE_VTABLE, DROP_VTABLE}
SCHEMA_ACTIONS_ARG2 = {CREATE_INDEX, DROP_INDEX, CREATE_TRIGGER, DROP_TRIGGER, ALTER_TABLE}
DATA_ACTIONS = {INSERT, UPDATE, DELETE}
MAINTENANCE_ACTIONS = {REINDEX, ANALYZE}

# PRAGMAs a caller may read. None of them changes anything when given no value, or (for the
# ones listed in PRAGMAS_WITH_ARGUMENT) a table or index name.
READ_PRAGMAS = {
    "application_id",
    "auto_vacuum",
    "collation_list",
    "compile_options",
    "data_version",
    "encoding",
    "foreign_keys",
    "freelist_count",
    "function_list",
    "journal_mode",
    "module_list",
    "page_count",
    "page_size",
    "pragma_list",
    "schema_version",
    "user_version",
}
PRAGMAS_WITH_ARGUMENT = {
    "foreign_key_check",
    "foreign_key_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "quick_check",
    "table_info",
    "table_list",
    "table_xinfo",
}
# PRAGMAs a writer may set: they change only the file's own header or this transaction.
WRITE_PRAGMAS = {"user_version", "application_id", "defer_foreign_keys"}

DENIED_FUNCTIONS = {"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit", "sqlite_dbpage"}
# Eponymous virtual tables that show more than the caller's own database: sqlite_stmt lists every
# statement the process's connections are running, other tenants' literals included.
DENIED_TABLES = {"sqlite_stmt", "sqlite_dbpage"}
SERVER_TABLE_DENIAL = (
    f"Tables named {SERVER_TABLE_PREFIX}* belong to the server's continuous backups: they cannot be read or changed"
)
ALLOWED_VTABLE_MODULES = {"fts3", "fts4", "fts5", "rtree", "rtree_i32"}


class SqlGuard:
    """Authorizer plus deadline for one request; read what it learned after the statements ran."""

    def __init__(
        self,
        *,
        may_write: bool,
        time_limit: float = 10.0,
        schema_locked: bool = False,
        server_transactions: bool = False,
    ) -> None:
        self.may_write = may_write
        # True when the server itself issues BEGIN/COMMIT with the guard installed (generated SQL only).
        self.server_transactions = server_transactions
        self.schema_locked = schema_locked
        # Only for a connection outside the pool: a pooled one brings its borrow's deadline.
        self.time_limit = time_limit
        self.deadline: Deadline | None = None
        self.wants_write = False
        self.denial: str | None = None
        self.schema_lock_hit = False
        self.changes_schema = False
        self.written_tables: list[str] = []

    # --- authorizer -----------------------------------------------------------------------

    def authorize(self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
        if action == READ:
            if arg1 in DENIED_TABLES:
                return self._deny(f"{arg1} is not available: it shows what other connections run")
            if is_server_table(arg1):
                return self._deny(SERVER_TABLE_DENIAL)
            return OK
        if action in (SELECT, SAVEPOINT, RECURSIVE):
            return OK
        if action == FUNCTION:
            name = (arg2 or "").lower()
            if name in DENIED_FUNCTIONS:
                return self._deny(f"The function {name}() is not allowed")
            return OK
        if action in (ATTACH, DETACH):
            return self._deny("ATTACH, DETACH and VACUUM INTO are not allowed")
        if action == TRANSACTION:
            if self.server_transactions:
                return OK
            return self._deny(
                "BEGIN, COMMIT and ROLLBACK are managed by the server: each request already runs in one transaction"
            )
        if action in TEMP_ACTIONS or (_db == "temp" and action in DATA_ACTIONS):
            return self._deny("Temporary tables, views, indexes and triggers are not allowed")
        if action == PRAGMA:
            return self._authorize_pragma((arg1 or "").lower(), arg2)
        if action == UPDATE and arg1 in ("sqlite_master", "sqlite_temp_master"):
            # SQLite reports this internal update while loading the schema for pragma functions.
            return OK
        if action in SCHEMA_ACTIONS_ARG1 or action in SCHEMA_ACTIONS_ARG2:
            if action == CREATE_VTABLE and (arg2 or "").lower() not in ALLOWED_VTABLE_MODULES:
                return self._deny(f"Virtual tables using the module {arg2!r} are not allowed")
            table = arg1 if action in SCHEMA_ACTIONS_ARG1 else arg2
            return self._write(table, schema=True)
        if action in DATA_ACTIONS:
            return self._write(arg1, schema=False)
        if action in MAINTENANCE_ACTIONS:
            return self._write(None, schema=False)
        return self._deny(f"This statement is not allowed (SQLite authorizer action {action})")

    def _authorize_pragma(self, name: str, value: str | None) -> int:
        if name in PRAGMAS_WITH_ARGUMENT:
            return OK
        if name in READ_PRAGMAS and value is None:
            return OK
        if name in WRITE_PRAGMAS:
            return self._write(None, schema=False)
        return self._deny(f"PRAGMA {name} is not allowed")

    def _write(self, table: str | None, *, schema: bool) -> int:
        if is_server_table(table):
            return self._deny(SERVER_TABLE_DENIAL)
        if not self.may_write:
            self.wants_write = True
            return self._deny("This statement writes to the database, but this access is read-only")
        if schema:
            self.changes_schema = True
            if self.schema_locked:
                self.schema_lock_hit = True
                return self._deny("The schema of this database is locked")
        if table and not table.startswith("sqlite_") and table not in self.written_tables:
            self.written_tables.append(table)
        return OK

    def _deny(self, message: str) -> int:
        if self.denial is None:
            self.denial = message
        return DENY

    # --- deadline -------------------------------------------------------------------------

    @property
    def timed_out(self) -> bool:
        return self.deadline is not None and self.deadline.fired

    @contextmanager
    def installed(self, conn: sqlite3.Connection) -> Iterator[SqlGuard]:
        borrowed: Deadline | None = getattr(conn, "deadline", None)
        own = borrowed is None
        self.deadline = Deadline(self.time_limit) if borrowed is None else borrowed
        conn.set_authorizer(self.authorize)
        if own:
            conn.set_progress_handler(self.deadline.progress, PROGRESS_STEPS)
        try:
            yield self
        finally:
            conn.set_authorizer(None)
            if own:
                conn.set_progress_handler(None, PROGRESS_STEPS)

    def explain(self, error: sqlite3.Error) -> str:
        """The message to show for an error raised while this guard was installed."""
        if self.deadline is not None and self.deadline.fired:
            return self.deadline.describe("The query")
        if self.denial and ("not authorized" in str(error) or "is prohibited" in str(error)):
            return self.denial
        if "cannot VACUUM" in str(error):
            return "VACUUM cannot run inside a request's transaction: use POST /api/dbs/:dbId/vacuum (VACUUM INTO is not allowed)"
        return str(error)
