"""The running `litestream replicate` daemon's control socket, one command each: register a file with a
replica URL, unregister it, sync it (waiting until the replica has it), list what it replicates."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path
from typing import Any

from airsequel.core.storage.litestream_commands import clean_environment, litestream_binary

log = logging.getLogger("airsequel.replication")


def _socket_command(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The command's result; a command that did not finish in `timeout` is a failure (status 124)."""
    command = [litestream_binary(), *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, env=clean_environment(), timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("litestream %s did not finish in %.0f s", args[0], timeout)
        return subprocess.CompletedProcess(command, 124, "", f"timed out after {timeout:.0f} s")


def register(socket: Path, url: str, path: Path) -> bool:
    done = _socket_command("register", "-socket", str(socket), "-replica", url, str(path))
    if done.returncode != 0:
        log.error("registering %s with litestream failed: %s", path, done.stderr.strip())
    return done.returncode == 0


def unregister(socket: Path, path: Path) -> None:
    _socket_command("unregister", "-socket", str(socket), str(path))


def sync(socket: Path, path: Path, deadline: float) -> bool:
    """Have the daemon ship `path` and wait until the replica has it, until `deadline` (monotonic)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    done = _socket_command(  # a timeout is a failed command (status 124)
        "sync",
        "-wait",
        "-timeout",
        str(max(1, int(remaining))),
        "-socket",
        str(socket),
        str(path),
        timeout=remaining + 5,
    )
    if done.returncode != 0:
        log.warning("litestream sync %s failed: %s", path, (done.stderr or done.stdout).strip()[-500:])
    return done.returncode == 0


def listed(socket: Path) -> list[dict[str, Any]]:
    """`litestream list -json`: one entry per file (path, status, last_sync_at); empty when it fails."""
    done = _socket_command("list", "-socket", str(socket), "-json", timeout=10)
    if done.returncode != 0:
        return []
    databases: list[dict[str, Any]] = json.loads(done.stdout or "{}").get("databases", [])
    return databases
