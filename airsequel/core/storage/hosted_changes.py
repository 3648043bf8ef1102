"""Reading and changing a hosted file, each change recorded with its audit entry (a part of `Hosting`).

`read_snapshot` gives a consistent read; `write_transaction` and `run_sql` commit a change to the file only
after one control-plane transaction has recorded the file's new facts, the change's metadata and its audit
entry (`record_change`), so that a failure anywhere leaves neither.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from airsequel.core.admin.audit import AuditEntry, AuditLog
from airsequel.core.auth.access import Action, Principal, PrincipalKind, may
from airsequel.core.errors import Forbidden, NotAuthenticated, SqlError
from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord, FileFacts, write_file_facts
from airsequel.core.sql.connections import ConnectionPool
from airsequel.core.sql.runner import Params, SqlLimits, SqlResult, run_script
from airsequel.core.sql.text_values import undecodable_text_as_bytes
from airsequel.core.storage.disk_space import DiskSpace, is_out_of_space
from airsequel.core.storage.hosted_files import read_file_facts
from airsequel.core.storage.uploaded_bytes import forget

log = logging.getLogger("airsequel.hosting")


def _foreign_keys_off(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA foreign_keys=OFF")


class HostedChanges:
    """What `Hosting` provides these methods with."""

    pool: ConnectionPool
    disk: DiskSpace
    control: ControlPlane
    audit: AuditLog

    @property
    def limits(self) -> SqlLimits:
        raise NotImplementedError

    def file_path(self, record: DatabaseRecord) -> Path:
        raise NotImplementedError

    @contextmanager
    def read_snapshot(self, record: DatabaseRecord, *, time_limit: float | None = None) -> Iterator[sqlite3.Connection]:
        """A read-only connection inside one read transaction: a consistent snapshot while writes go on.
        Everything in the block runs under the SQL time limit (or `time_limit` seconds)."""
        with (
            self.pool.reader(record.file_key, self.file_path(record), time_limit=time_limit) as conn,
            undecodable_text_as_bytes(conn),  # rows handed on: text that is not UTF-8 as its bytes
        ):
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")

    @contextmanager
    def write_transaction(
        self,
        record: DatabaseRecord,
        entry: AuditEntry,
        *,
        schema_changes: bool = False,
        metadata: Callable[[ControlConnection], None] | None = None,
    ) -> Iterator[sqlite3.Connection]:
        """The writer inside `BEGIN IMMEDIATE`, for one whole change: committed when the block ends,
        rolled back if it raises. Before the file commits, one control-plane transaction records the
        file's new facts, the change's `metadata` (descriptions, positions: a function of the control
        connection) and its audit `entry`; so a failure anywhere leaves neither. (A crash in the
        moment between the two commits leaves the control plane ahead: metadata and audit entry of a
        change that did not land, never a change without them.) `schema_changes` turns foreign key
        enforcement off for the block (a table rebuild drops and recreates a table; keys are checked
        before commit)."""
        path = self.file_path(record)
        self.disk.check_room(what="This change")
        # Foreign keys are switched only outside a transaction: before the pool begins the write.
        before_begin = _foreign_keys_off if schema_changes else None
        with self.pool.writer(record.file_key, path, before_begin=before_begin) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    facts = read_file_facts(conn, path, known=None if schema_changes else record)
                    self.record_change(record, facts, entry, metadata)
                    try:
                        conn.execute("COMMIT")
                    except sqlite3.Error:
                        log.error(
                            "%s: the change (%s) failed to commit after its audit entry and metadata were"
                            " recorded; the control plane is ahead of the file",
                            record.file_key,
                            entry.kind,
                        )
                        raise
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                if schema_changes:
                    conn.execute("PRAGMA foreign_keys=ON")

    def record_change(
        self,
        record: DatabaseRecord,
        facts: FileFacts,
        entry: AuditEntry | None,
        metadata: Callable[[ControlConnection], None] | None = None,
    ) -> None:
        """The control plane's side of a change to the file, in one transaction: its facts, the
        change's metadata and its audit entry. The file no longer holds the bytes uploaded."""
        forget(self.file_path(record))
        with self.control.transaction() as control:
            write_file_facts(control, record.file_key, facts)
            if metadata is not None:
                metadata(control)
            if entry is not None:
                self.audit.write(control, record, entry)

    def run_sql(
        self,
        record: DatabaseRecord,
        query: str,
        params: Params = None,
        *,
        may_write: bool,
        actor: Principal | None = None,
    ) -> SqlResult:
        """A guarded script; a write is recorded (facts and audit entry) before it commits.
        `actor` None: the server itself (maintenance, tests)."""
        path = self.file_path(record)

        def recorded(conn: sqlite3.Connection, result: SqlResult) -> None:
            # Before COMMIT: refused here, the script's changes are rolled back (507, nothing written).
            self.disk.check_room(what="This write")
            entry = AuditEntry(actor, "sql", query, result.affected_tables, result.num_changes)
            self.record_change(record, read_file_facts(conn, path, known=record), entry)

        # SQLite's "database or disk is full" is no error of the SQL: 413 when the database reached its
        # own size limit (max_database_bytes), 507 when the disk is full; nothing was written either way.
        with self.disk.full_disk_as_507("This write"):
            try:
                return run_script(
                    self.pool,
                    record.file_key,
                    path,
                    query,
                    params,
                    may_write=may_write,
                    limits=self.limits,
                    schema_locked=record.schema_locked,
                    after_write=recorded,
                )
            except SqlError as refused:
                if isinstance(refused.__cause__, sqlite3.Error) and is_out_of_space(refused.__cause__):
                    raise refused.__cause__ from None
                raise

    def run_sql_as(self, record: DatabaseRecord, caller: Principal, query: str, params: Params = None) -> SqlResult:
        """`POST /sql` for `caller`: it writes only when the caller may write the database (a write
        refused to the anonymous is NotAuthenticated: a login would help)."""
        try:
            return self.run_sql(record, query, params, may_write=may(caller, Action.WRITE, record), actor=caller)
        except Forbidden as refused:
            if caller.kind == PrincipalKind.ANONYMOUS:
                raise NotAuthenticated(*refused.messages) from refused
            raise
