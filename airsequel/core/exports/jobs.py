"""Export jobs: persisted in the control plane, run in the background, one at a time per team.

A job reads each database in one read transaction (a consistent snapshot while writes go on),
writes one file per table (or one XLSX workbook) into a private folder, zips them when there is
more than one, and only then publishes the artifact with an atomic rename: a half-written
artifact is never served. Jobs queued or running when the server stops run again after restart.
Artifacts expire (7 days by default) and are deleted with their job.

Every worker process of the server runs export threads; a job is claimed under a lease in the
control plane (leases.py), so exactly one of them runs it, and a job whose runner died is taken over.
"""

from __future__ import annotations

import logging
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from airsequel.core import ids
from airsequel.core.auth.access import Action, Principal, PrincipalKind, authorize
from airsequel.core.clock import iso_from_datetime, utc_now_iso
from airsequel.core.errors import CoreError, InvalidInput, NotAuthenticated, NotFound
from airsequel.core.exports import artifacts, selection
from airsequel.core.exports.job_json import ARTIFACT_TYPES, STATES, artifact_media_type, job_json
from airsequel.core.exports.leases import LEASE_SECONDS, MAX_ATTEMPTS, RENEW_EVERY_SECONDS, JobLeases
from airsequel.core.exports.requests import ExportRequest
from airsequel.core.formats.writers import WRITERS, XlsxBook
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord
from airsequel.core.sql.script import quote_identifier

__all__ = ["ARTIFACT_TYPES", "STATES", "ExportRequest", "Exports", "artifact_media_type", "require_exporter"]
from airsequel.core.storage.hosting import Hosting

log = logging.getLogger("airsequel.exports")

WORKERS = 2
PROGRESS_EVERY = 5_000


class Cancelled(Exception):
    pass


class Exports:
    def __init__(
        self,
        control: ControlPlane,
        hosting: Hosting,
        directory: Path,
        ttl_days: float = 7.0,
        *,
        lease_seconds: float = LEASE_SECONDS,
        renew_every_seconds: float = RENEW_EVERY_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        poll_seconds: float = 5.0,
    ) -> None:
        self.control = control
        self.leases = JobLeases(control, lease_seconds=lease_seconds, max_attempts=max_attempts)
        self.renew_every = renew_every_seconds
        self.poll_seconds = poll_seconds
        self.hosting = hosting
        self.directory = directory
        self.ttl = timedelta(days=ttl_days)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancelled: set[str] = set()
        self._threads: list[threading.Thread] = []

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Remove the folders of jobs that are gone or failed, then start the workers and the lease renewer.
        Nothing is requeued here: another worker process may be running a RUNNING job; one whose runner
        died is taken over through its lease (leases.py)."""
        leftovers = list(self.directory.iterdir())  # listed before the jobs: a folder's job existed by then
        known = {
            row[0]
            for row in self.control.query(
                "SELECT id FROM export_jobs WHERE status IN ('STARTED', 'RUNNING', 'SUCCESS')"
            )
        }
        for leftover in leftovers:
            if leftover.name not in known:
                shutil.rmtree(leftover, ignore_errors=True)
        for number in range(WORKERS):
            thread = threading.Thread(target=self._work, name=f"export-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        renewer = threading.Thread(target=self._renew, name="export-lease-renewer", daemon=True)
        renewer.start()
        self._threads.append(renewer)

    def stop(self) -> None:
        """Stop the workers; a job they were running goes back to the queue (its attempt not counted)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.leases.close()

    def _renew(self) -> None:
        while not self._stop.wait(self.renew_every):
            try:
                lost = self.leases.renew()
            except Exception:  # noqa: BLE001 - a busy control plane: try again at the next beat
                log.exception("renewing export leases failed")
                continue
            for job_id in lost:
                log.warning("export %s is no longer this worker's (deleted or taken over): stopping it", job_id)
                self._cancelled.add(job_id)

    # --- the API: users and API tokens export; each sees only its own jobs ----------------------

    def create(
        self,
        principal: Principal,
        request: ExportRequest | dict[str, Any],
        *,
        database: str | None = None,
        archive: bool = False,
    ) -> dict[str, Any]:
        """A queued job for `request` (or the JSON body it is read from: requests.py), after checking that
        the caller may read every database it names. `database`: the one database of the route (Medable's
        org); `archive`: the artifact is a zip even when it holds one file."""
        require_exporter(principal)
        if not isinstance(request, ExportRequest):
            request = ExportRequest.from_json(request, database=database, archive=archive)
        records = [self.hosting.get(database_id) for database_id in request.databases]
        for record in records:
            authorize(principal, Action.READ, record)
        self._check_tables_and_filters(records, request)
        nodes = sorted({record.node or "" for record in records})
        if len(nodes) > 1:
            raise InvalidInput(
                "In a cluster the databases of one export must be on one node; these are on " + ", ".join(nodes)
            )
        team = records[0].owner or ""
        self.hosting.disk.check_room(what="An export")
        self.hosting.quotas.check_export_bytes(team, 0)
        job_id = ids.new_ulid()
        stored = {**request.__dict__, "file_keys": [r.file_key for r in records]}
        with self.control.transaction() as conn:  # the count of queued jobs holds against concurrent requests
            if team:
                self.hosting.quotas.check_queued_jobs(team, conn)
            conn.execute(
                "INSERT INTO export_jobs(id, name, user_id, token_id, team, request_json, status, created_utc, node)"
                " VALUES (?, ?, ?, ?, ?, ?, 'STARTED', ?, ?)",
                (
                    job_id,
                    request.name,
                    principal.user_id,
                    principal.token_id,
                    team,
                    orjson.dumps(stored).decode(),
                    utc_now_iso(),
                    records[0].node,  # the node that runs it (in a cluster: its databases' owner)
                ),
            )
        self._wake.set()
        return {"id": job_id, "status": "STARTED", "_id": job_id, "object": "export", "state": "pending"}

    def _check_tables_and_filters(self, records: list[DatabaseRecord], request: ExportRequest) -> None:
        """Refuse now what the job would otherwise fail on later (a filter on an unknown column, a value that is
        not a string or number, a table without a date column for a date range) or quietly ignore (a table no
        database has, a filter on a table left out)."""
        left_out = sorted(set(request.filters) - set(request.tables)) if request.tables is not None else []
        if left_out:
            raise InvalidInput(f"filters name tables the export leaves out: {', '.join(map(repr, left_out))}")
        named = set(request.tables or []) | set(request.filters)
        seen: set[str] = set()
        stored = request.__dict__
        for index, record in enumerate(records):
            with self.hosting.read_snapshot(record) as conn:
                seen |= selection.check(conn, stored, index, request.databases[index]) & named
        if named - seen:
            raise InvalidInput(
                f"No database of this export has the table(s) {', '.join(map(repr, sorted(named - seen)))}"
            )

    def get(self, principal: Principal, job_id: str, *, database: str | None = None) -> dict[str, Any]:
        """The caller's job; with `database`, only a job that exports that database (Medable's org)."""
        row = self._owned(principal, job_id, database)
        return job_json(row, self.directory)

    def for_caller(self, principal: Principal, *, database: str | None = None) -> list[dict[str, Any]]:
        require_exporter(principal)
        file_key = self._file_key_readable(principal, database)
        rows = self.control.query(
            "SELECT * FROM export_jobs WHERE (user_id IS ? AND token_id IS ?) ORDER BY created_utc DESC",
            (principal.user_id, principal.token_id),
        )
        return [
            job_json(row, self.directory)
            for row in rows
            if file_key is None or file_key in orjson.loads(row["request_json"])["file_keys"]
        ]

    def delete(self, principal: Principal, job_id: str, *, database: str | None = None) -> None:
        self._owned(principal, job_id, database)
        self._cancelled.add(job_id)
        self.control.execute("DELETE FROM export_jobs WHERE id = ?", (job_id,))
        shutil.rmtree(self.directory / job_id, ignore_errors=True)

    def artifact(self, principal: Principal, job_id: str, *, database: str | None = None) -> tuple[Path, str]:
        """The finished artifact, after checking the caller may still read every database in it."""
        row = self._owned(principal, job_id, database)
        if row["status"] != "SUCCESS":
            raise NotFound(
                "The export has no data yet" if row["status"] in ("STARTED", "RUNNING") else "The export failed"
            )
        for file_key in orjson.loads(row["request_json"])["file_keys"]:
            record = self.control.database_by("file_key", file_key)
            if record is None:
                raise NotFound("A database of this export no longer exists")
            authorize(principal, Action.READ, record)
        return self.directory / job_id / row["artifact_name"], row["artifact_name"]

    def _owned(self, principal: Principal, job_id: str, database: str | None = None) -> Any:
        require_exporter(principal)
        file_key = self._file_key_readable(principal, database)
        rows = self.control.query("SELECT * FROM export_jobs WHERE id = ?", (job_id,))
        if (
            not rows
            or (rows[0]["user_id"], rows[0]["token_id"]) != (principal.user_id, principal.token_id)
            or (principal.user_id is None and principal.token_id is None)
            or (file_key is not None and file_key not in orjson.loads(rows[0]["request_json"])["file_keys"])
        ):
            raise NotFound(f"Export {job_id!r} does not exist")
        return rows[0]

    def node_of(self, job_id: str) -> str | None:
        """The node that runs (ran) the job and keeps its file: None on one server or if there is none."""
        rows = self.control.query("SELECT node FROM export_jobs WHERE id = ?", (job_id,))
        return str(rows[0][0]) if rows and rows[0][0] else None

    def _file_key_readable(self, principal: Principal, database: str | None) -> str | None:
        if database is None:
            return None
        record = self.hosting.get(database)
        authorize(principal, Action.READ, record)
        return record.file_key

    # --- the workers --------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                self._expire()
                job = self._claim()
            except Exception:  # noqa: BLE001 - a busy or failing control plane: try again shortly
                log.exception("claiming an export job failed")
                job = None
            if job is None:
                self._wake.wait(timeout=self.poll_seconds)
                if not self._stop.is_set():  # else leave it set: every other worker thread must see it too
                    self._wake.clear()
                continue
            try:
                self._run_claimed(job)
            finally:
                self.leases.done(job["id"])

    def _run_claimed(self, job: Any) -> None:
        work = self.directory / job["id"] / f"work-{ids.new_ulid()}"  # this run's own: a runner that lost
        try:  # the job to another worker never touches the files of the one that took it over
            self.hosting.disk.check_room(what="The export")
            with self.hosting.disk.full_disk_as_507("The export"):
                self._run(job, work)
        except Cancelled:
            shutil.rmtree(work, ignore_errors=True)
            if self._stop.is_set() and job["id"] not in self._cancelled:
                self.leases.release(job["id"])  # a graceful stop: another worker, or the next start, runs it
        except Exception as error:  # noqa: BLE001 - a failed job records why
            if isinstance(error, CoreError):  # a refusal (quota, full disk): its message says it all
                log.warning("export %s failed: %s", job["id"], error)
            else:
                log.exception("export %s failed", job["id"])
            shutil.rmtree(work, ignore_errors=True)
            if self.leases.update_held(
                "UPDATE export_jobs SET status = 'FAILED', error = ?, finished_utc = ? WHERE id = ?",
                (str(error) or type(error).__name__, utc_now_iso(), job["id"]),
            ):
                shutil.rmtree(self.directory / job["id"], ignore_errors=True)

    def _claim(self) -> Any:
        """The next job, claimed under this worker's lease, after freeing the jobs of dead runners."""
        self.leases.free_dead_claims()
        for job_id in self.leases.give_up_abandoned():
            log.error("export %s failed: interrupted %d times", job_id, self.leases.max_attempts)
            shutil.rmtree(self.directory / job_id, ignore_errors=True)
        return self.leases.claim()

    def _expire(self) -> None:
        for (job_id,) in self.control.query(
            "SELECT id FROM export_jobs WHERE expires_utc IS NOT NULL AND expires_utc < ?", (utc_now_iso(),)
        ):
            self.control.execute("DELETE FROM export_jobs WHERE id = ?", (job_id,))
            shutil.rmtree(self.directory / job_id, ignore_errors=True)

    def _run(self, job: Any, work: Path) -> None:
        request = orjson.loads(job["request_json"])
        for earlier in (self.directory / job["id"]).glob("work-*"):  # a dead runner's, when taken over
            shutil.rmtree(earlier, ignore_errors=True)
        work.mkdir(parents=True)
        done = 0

        def progress(count: int) -> None:
            nonlocal done
            done += count
            if done // PROGRESS_EVERY != (done - count) // PROGRESS_EVERY:
                if job["id"] in self._cancelled or self._stop.is_set():
                    raise Cancelled()
                self.leases.update_held("UPDATE export_jobs SET rows_done = ? WHERE id = ?", (done, job["id"]))

        records = [self.control.database_by("file_key", key) for key in request["file_keys"]]
        if any(r is None for r in records):
            raise RuntimeError("A database of this export was deleted")
        several_databases = len(records) > 1
        book = XlsxBook(work / f"{_safe(job['name'])}.xlsx") if request["kind"] == "xlsx" else None
        total = 0
        files: list[Path] = []
        for index, record in enumerate(records):
            assert record is not None
            prefix = f"{_safe(record.name)}-" if several_databases else ""
            with self.hosting.read_snapshot(record) as conn:  # one snapshot for all its tables
                plans = []
                for table in selection.selected_tables(conn, request, index):
                    record_filter = selection.table_filter(table, request)
                    where = f" WHERE {record_filter.sql}" if record_filter.conditions else ""
                    count = conn.execute(
                        f"SELECT count(*) FROM {quote_identifier(table.name)}{where}", record_filter.params
                    ).fetchone()[0]
                    plans.append((table, record_filter, where))
                    total += count
                self.leases.update_held("UPDATE export_jobs SET rows_total = ? WHERE id = ?", (total, job["id"]))
                for table, record_filter, where in plans:
                    columns = selection.column_list(table, request)
                    cursor = conn.execute(
                        f"SELECT {columns} FROM {quote_identifier(table.name)}{where}", record_filter.params
                    )
                    title = f"{record.name}-{table.name}" if several_databases else table.name
                    if book is not None:
                        book.add_table(title, cursor, progress)
                    else:
                        path = work / f"{_safe(title)}.{request['kind']}"
                        WRITERS[request["kind"]](path, cursor, progress)
                        files.append(path)
                    if request.get("export_files"):
                        files.extend(
                            artifacts.write_file_cells(
                                conn, table, record_filter, request.get("columns"), work / "files" / prefix
                            )
                        )
            if request.get("include_assets"):
                assets = self.control.query(
                    "SELECT id, filename FROM assets WHERE file_key = ? AND is_uploaded = 1", (record.file_key,)
                )
                folder = work / ("files" if request.get("export_files") else "") / "assets" / prefix
                files.extend(artifacts.copy_assets(assets, self.hosting.layout.assets_dir(record.file_key), folder))
        if book is not None:
            book.close()
            files.insert(0, work / f"{_safe(job['name'])}.xlsx")
        if request.get("zip_files") and (work / "files").exists():
            files = [f for f in files if work / "files" not in f.parents]
            files.append(artifacts.zip_folder(work / "files", work / "files.zip"))
        artifact = artifacts.package(job["name"], work, files, always_zip=bool(request.get("archive")))
        # Published only within the team's quota of export bytes (a failed job's files are removed).
        self.hosting.quotas.check_export_bytes(job["team"], artifact.stat().st_size)
        if job["id"] in self._cancelled or not self.leases.renew_one(job["id"]):
            raise Cancelled()  # taken over meanwhile: the worker that holds the job publishes it
        final = self.directory / job["id"] / artifact.name
        artifact.replace(final)
        shutil.rmtree(work, ignore_errors=True)
        finished = datetime.now(UTC)
        self.leases.update_held(
            "UPDATE export_jobs SET status = 'SUCCESS', rows_done = ?, rows_total = ?, artifact_name = ?,"
            " finished_utc = ?, expires_utc = ?, lease_until = NULL WHERE id = ?",
            (done, total, final.name, iso_from_datetime(finished), iso_from_datetime(finished + self.ttl), job["id"]),
        )


def require_exporter(principal: Principal) -> None:
    if principal.kind not in (PrincipalKind.USER, PrincipalKind.TOKEN):
        raise NotAuthenticated("Log in or send an API token to export")


_safe = artifacts.safe_name
