"""Hosting: the lifecycle of hosted databases, one SQLite file each, and their registry entries.

Where files live is spelled in `airsequel.core.layout`. Order of operations keeps files and registry in agreement across crashes: a file is complete
before its registry row is written, and a registry row is removed before its file. At start-up,
directories without a registry row and everything in tmp/ are removed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from airsequel.config import LiveSettings
from airsequel.core import ids
from airsequel.core.admin.audit import AuditEntry, AuditLog
from airsequel.core.auth.access import Principal
from airsequel.core.durability import fsync_directory
from airsequel.core.errors import NotFound, Unavailable
from airsequel.core.imports.csv_import import table_name_for
from airsequel.core.layout import DataLayout
from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import (
    ControlPlane,
    DatabaseRecord,
    write_database_changes,
)
from airsequel.core.registry.epochs import record_epoch
from airsequel.core.registry.generation_cache import GenerationCache
from airsequel.core.sql.connections import ConnectionPool, remove_wal_files
from airsequel.core.sql.file_swaps import no_fresh_opens
from airsequel.core.sql.runner import SqlLimits, run_script
from airsequel.core.sql.server_tables import NOT_SERVER_TABLE
from airsequel.core.storage.disk_space import DiskSpace, is_out_of_space
from airsequel.core.storage.hosted_changes import HostedChanges
from airsequel.core.storage.hosted_files import (
    checkpoint_and_close,
    open_connection_creating,
    read_file_facts,
    relist_shadow_tables,
    remove_path,
)
from airsequel.core.storage.new_databases import (
    checked_upload,
    is_csv_name,
    moved_from,
    new_record,
)
from airsequel.core.storage.quotas import Quotas
from airsequel.core.storage.replication import Replication
from airsequel.core.storage.snapshots import take_snapshot, vacuum_file
from airsequel.core.storage.uploaded_bytes import UploadedBytes, forget, remember

log = logging.getLogger("airsequel.hosting")

FIRST_SHIP_SECONDS = 10.0  # in a cluster: how long a new database's first ship to the replica may take


class Hosting(HostedChanges):
    def __init__(
        self,
        layout: DataLayout,
        control: ControlPlane,
        pool: ConnectionPool,
        live: LiveSettings,
        audit: AuditLog,
        replication: Replication | None = None,
    ) -> None:
        self.layout = layout
        self.audit = audit
        self.dbs_dir = layout.dbs_dir
        self.tmp_dir = layout.tmp_dir
        self.control = control
        self.pool = pool
        self.live = live
        self.max_database_bytes = live.current.max_database_bytes
        self.dbs_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._by_id: GenerationCache[str, DatabaseRecord | None] = GenerationCache(control)
        # Told about every file that starts or stops being hosted (continuous backups), when they are on.
        self.replication = replication
        # Room on the disk (507 below min_free_disk_bytes) and per-team quotas, asked before every write
        # that adds bytes. Writers elsewhere (POST /sql, GraphQL, file cells) call disk.check_room() too.
        self.disk = DiskSpace(layout.root, lambda: live.current.min_free_disk_bytes)
        self.quotas = Quotas(control, live, layout)
        # In a cluster: this node's id. Databases created here are owned by it from epoch 1 on, and
        # only the files it owns are kept in its data directory.
        self.node_id: str | None = None
        # In a cluster: told of every file that starts being hosted here, before it is replicated.
        self.on_hosted: Callable[[DatabaseRecord], None] | None = None

    @property
    def limits(self) -> SqlLimits:
        """The limits of guarded SQL as the settings say now (a server admin may change them)."""
        current = self.live.current
        return SqlLimits(
            time_limit_seconds=current.sql_time_limit_seconds,
            max_rows=current.max_rows,
            max_response_bytes=current.max_response_bytes,
            max_query_bytes=current.max_query_bytes,
        )

    # --- paths and look-ups -----------------------------------------------------------------

    def file_path(self, record: DatabaseRecord) -> Path:
        return self.layout.database_file(record.file_key)

    def temp_path(self, suffix: str = ".tmp") -> Path:
        return self.tmp_dir / f"{uuid.uuid4().hex}{suffix}"

    def get(self, database_id: str) -> DatabaseRecord:
        record = self._by_id.get_or_load(
            database_id, lambda: self.control.database_by("id", ids.checked_id(database_id))
        )
        if record is None:
            raise NotFound(f"Database {database_id!r} does not exist")
        return record

    def cached(self, database_id: str) -> DatabaseRecord | None:
        """The database when the registry's answer is cached and current (no I/O)."""
        return self._by_id.peek(database_id)

    def get_by_readonly_id(self, readonly_id: str) -> DatabaseRecord:
        """The database whose read-only link this is, while the link is on. A link turned off, or
        replaced by a newer one, answers exactly like an id that never existed."""
        record = self.control.database_by("readonly_id", ids.checked_id(readonly_id))
        if record is None or not record.readonly_enabled:
            raise NotFound(f"Read-only id {readonly_id!r} does not exist")
        return record

    def clean_up_after_crash(self) -> None:
        """Remove what an interrupted create, upload, delete or download left behind."""
        for leftover in self.tmp_dir.iterdir():
            remove_path(leftover)
        known = {
            row[0]
            for row in (
                self.control.query("SELECT file_key FROM databases")
                if self.node_id is None
                # in a cluster the files this node owns, and those no node owns yet (a takeover places them)
                else self.control.query(
                    "SELECT file_key FROM databases WHERE node = ? OR node IS NULL", (self.node_id,)
                )
            )
        }
        for directory in self.dbs_dir.iterdir():
            if directory.name not in known:
                log.warning("removing %s: no registry entry here (interrupted create or delete, or moved)", directory)
                remove_path(directory)
        relist_shadow_tables(self.control, self.pool, self.file_path)

    # --- creation -----------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        owner: str | None = None,
        description: str | None = None,
        query: str | None = None,
        created_by: str | None = None,
        file_format: str = "sqlite",
    ) -> DatabaseRecord:
        """An empty database, optionally shaped by a schema script `query` (all or nothing).
        `file_format`: what the registry says it is exchanged as (the hosted file is SQLite)."""
        record = new_record(name, owner=owner, description=description, created_by=created_by)
        record.file_format = file_format
        self.quotas.check_new_database(owner, 0)
        self.disk.check_room(what="Creating a database")

        def new_file(path: Path) -> None:
            open_connection_creating(path).close()
            if query and query.strip():
                run_script(self.pool, record.file_key, path, query, may_write=True, limits=self.limits)

        return self._host(record, new_file)

    def create_from_upload(
        self,
        upload: Path,
        *,
        filename: str | None,
        name: str | None,
        owner: str | None = None,
        created_by: str | None = None,
    ) -> DatabaseRecord:
        """A database from an uploaded SQLite or CSV file (already streamed to `upload`)."""
        prepared, uploaded = self._prepared(
            upload, filename, "Hosting the upload", lambda size: self.quotas.check_new_database(owner, size)
        )
        try:
            record = new_record(name or table_name_for(filename), owner=owner, created_by=created_by)
        except BaseException:
            remove_path(prepared)
            raise
        record.file_name = Path(filename).name if filename else record.file_name
        record.file_format = "csv" if is_csv_name(filename) else "sqlite"
        return self._host(record, moved_from(prepared), prepared, uploaded=uploaded)

    def replace_content(
        self, record: DatabaseRecord, upload: Path, *, filename: str | None, actor: Principal, kind: str = "replace"
    ) -> DatabaseRecord:
        """Swap in an uploaded file atomically: on any failure the old content stays as it was."""
        prepared, uploaded = self._prepared(
            upload,
            filename,
            "Replacing the file",
            lambda size: self.quotas.check_growth(record.owner, size - record.size),
        )
        path = self.file_path(record)
        try:
            if self.replication is not None:
                self.replication.remove(record.file_key)  # the replica starts over with the new content
            # Held across processes until the new file is in place: a write of another worker commits
            # before the swap, or finds the new file (never commits into the old one after it).
            with self.pool.swapping(record.file_key, path, time_limit=self.limits.time_limit_seconds):
                forget(path)
                with no_fresh_opens(path):  # no connection opened meanwhile pairs a file with the other's WAL
                    checkpoint_and_close(path)
                    remove_wal_files(path)
                    os.replace(prepared, path)
                    fsync_directory(path.parent)
        except BaseException:
            remove_path(prepared)  # not swapped in (busy, or a failure): the old content stays
            self._replicate(record)  # as it was
            raise
        # With backups on, the new content replicates as a new epoch, under a prefix of its own, from a
        # fresh snapshot: Litestream continuing the old file's stream (its local state, or the replica's
        # position, which it adopts even without that state) with other content restores into a file
        # that fails integrity_check. The history of epochs keeps the old content's replica reachable
        # for a point-in-time restore to before the replace.
        replaced = dataclasses.replace(record, epoch=record.epoch + 1) if self.replication is not None else record
        # What the database is exchanged as follows the upload (a CSV makes it csv); a restore keeps it.
        names = (
            {"file_name": Path(filename).name, "file_format": "csv" if is_csv_name(filename) else "sqlite"}
            if kind == "replace" and filename
            else None
        )
        entry = AuditEntry(actor, kind, f"replaced the file with {filename or 'an upload'}")
        try:
            self._finish_file(replaced, entry, names, new_epoch=replaced.epoch != record.epoch)
        finally:
            if self.replication is not None:
                self.replication.forget_local_state(path)
            self._replicate(replaced)
        if uploaded is not None:
            remember(path, uploaded)
        return self.get(record.id)

    def _prepared(
        self, upload: Path, filename: str | None, what: str, check_quota: Callable[[int], None]
    ) -> tuple[Path, UploadedBytes | None]:
        return checked_upload(
            self.disk, upload, filename, self.temp_path(".sqlite"), self.max_database_bytes, check_quota, what
        )

    def duplicate(
        self, record: DatabaseRecord, *, owner: str | None = None, created_by: str | None = None
    ) -> DatabaseRecord:
        copy = new_record(
            f"{record.name} (copy)",
            owner=owner if owner else record.owner,
            description=record.description,
            created_by=created_by,
        )
        self.quotas.check_new_database(copy.owner, record.size)
        snapshot = self.snapshot(record, what="Duplicating the database")
        return self._host(copy, moved_from(snapshot), snapshot)

    def _host(
        self,
        record: DatabaseRecord,
        put_file: Callable[[Path], None],
        leftover: Path | None = None,
        *,
        uploaded: UploadedBytes | None = None,
    ) -> DatabaseRecord:
        """The one sequence that starts hosting a file: the file is complete (put in place by
        `put_file`) before its registry row is written, and replicated after; on any failure the
        directory (and `leftover`, a temporary source file) is removed and nothing is registered.
        `uploaded`: what the file was as uploaded, kept to give it back so while it is unchanged."""
        path = self.file_path(record)
        if self.node_id is not None:
            record.node, record.epoch = self.node_id, 1
        with self.disk.full_disk_as_507("Creating the database"):
            try:
                path.parent.mkdir(parents=True)
                put_file(path)
                if record.node is not None:
                    self.layout.epoch_marker(record.file_key).write_text(f"{record.epoch}\n")
                self._finish_file(record)
                if uploaded is not None:
                    remember(path, uploaded)
                with self.control.transaction() as conn:  # the quota holds against concurrent creates
                    self.quotas.check_new_database(record.owner, record.size, conn)
                    self.control.insert_database(record)
                    if record.node is not None:
                        record_epoch(conn, record.file_key, record.epoch, record.node)
            except BaseException:
                self.pool.forget(record.file_key)
                remove_path(path.parent)
                if leftover is not None:
                    remove_path(leftover)
                raise
        if not self._replicate(record):
            # In a cluster a new database exists only once its replica does: a node lost before a first
            # ship would leave a registry row that no node can restore. Undone, and said so.
            self.delete(record)
            raise Unavailable(
                "The new database could not be shipped to the replica in time (is the object store"
                " reachable?): nothing was created; retry in a moment"
            )
        return self.get(record.id)

    def _replicate(self, record: DatabaseRecord) -> bool:
        """Replicate the file (when backups are on); in a cluster, wait until the replica has it. Whether
        it is where it must be by now (False: a cluster's first ship did not finish in FIRST_SHIP_SECONDS)."""
        if self.on_hosted is not None:
            self.on_hosted(record)
        if self.replication is None:
            return True
        self.replication.add(record.file_key, self.file_path(record), record.epoch)
        if self.node_id is None:
            return True
        return self.replication.sync(record.file_key, timeout_seconds=FIRST_SHIP_SECONDS)

    def _finish_file(
        self,
        record: DatabaseRecord,
        entry: AuditEntry | None = None,
        changes: dict[str, str] | None = None,
        *,
        new_epoch: bool = False,
    ) -> None:
        """Record size, schema and modification time of the file (after it changed), with the
        change's audit entry and `changes` to its registry row, in one transaction. `new_epoch`:
        the file replicates as `record.epoch` from now on (noted in the history of epochs)."""
        path = self.file_path(record)
        with self.pool.writer(record.file_key, path) as conn:
            facts = read_file_facts(conn, path)

        def metadata(control: ControlConnection) -> None:
            if changes:
                write_database_changes(control, record.file_key, changes)
            if new_epoch:
                control.execute("UPDATE databases SET epoch = ? WHERE file_key = ?", (record.epoch, record.file_key))
                record_epoch(control, record.file_key, record.epoch, record.node or "")

        self.record_change(record, facts, entry, metadata)
        record.size, record.tables = facts.size, facts.tables
        record.schema_version, record.user_version = facts.schema_version, facts.user_version

    # --- changes --------------------------------------------------------------------------------

    def delete(self, record: DatabaseRecord) -> None:
        """Unregister, then remove the files. Works with the disk full (no room check): if even the
        registry's small write finds no room, the database's files go first to make some (a crash in
        that moment leaves a registry row without its file, which a second delete removes)."""
        path = self.file_path(record)
        try:
            self.control.delete_database(record.file_key)
        except Exception as error:
            if not is_out_of_space(error):
                raise
            log.warning("%s: no room to unregister the database: removing its files first", record.file_key)
            with self.pool.exclusive(record.file_key, path):
                remove_path(path.parent)
            self.control.delete_database(record.file_key)
        if self.replication is not None:
            self.replication.remove(record.file_key)
        with self.pool.exclusive(record.file_key, path):
            remove_path(path.parent)
        self.pool.forget(record.file_key)

    def regenerate_id(self, record: DatabaseRecord) -> str:
        new_id = ids.new_database_id()
        self.control.update_database(record.file_key, id=new_id)
        return new_id

    def regenerate_readonly_id(self, record: DatabaseRecord) -> str:
        """Turn the read-only link on with a fresh id; the old id stops working at once."""
        new_id = ids.new_readonly_id()
        self.control.update_database(record.file_key, readonly_id=new_id, readonly_enabled=True)
        return new_id

    def turn_off_readonly_id(self, record: DatabaseRecord) -> None:
        """Turn the read-only link off. The id is replaced as well, so it can never come back."""
        self.control.update_database(record.file_key, readonly_id=ids.new_readonly_id(), readonly_enabled=False)

    # --- reading and maintenance ---------------------------------------------------------------

    def snapshot(self, record: DatabaseRecord, *, what: str = "Copying the database") -> Path:
        """A consistent copy of the live file in tmp/ (the caller removes it): the very bytes uploaded
        while the file was never changed, else a copy in rollback-journal mode (`snapshots`)."""
        path = self.file_path(record)
        return take_snapshot(self.pool, self.disk, record.file_key, path, record.size, self.temp_path(".sqlite"), what)

    def vacuum(self, record: DatabaseRecord) -> DatabaseRecord:
        facts = vacuum_file(self.pool, self.disk, record.file_key, self.file_path(record), record.size)
        self.record_change(record, facts, None)
        return self.get(record.id)

    def schema_text(self, record: DatabaseRecord) -> str:
        """The schema as the sqlite3 CLI's `.schema` prints it."""
        with self.read_snapshot(record) as conn:
            rows = conn.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
                f" AND {NOT_SERVER_TABLE} ORDER BY rowid"
            ).fetchall()
        return "".join(f"{sql};\n" for (sql,) in rows)
