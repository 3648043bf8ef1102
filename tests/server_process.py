"""Start `airsequel serve` as a real subprocess on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from tests.control_planes import control_plane_env
from tests.helpers import sign_up_and_login


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_log(data_dir: Path) -> Path:
    """Where the server started by `running_server(data_dir)` writes its output (tracebacks included)."""
    return data_dir.with_name(f"{data_dir.name}-server.log")


@contextmanager
def running_server(
    data_dir: Path,
    env: dict[str, str] | None = None,
    *,
    program: list[str] | None = None,
    cwd: Path | None = None,
    workers: int | None = None,
    started: list[subprocess.Popen[bytes]] | None = None,
) -> Iterator[str]:
    """`program` (default: this Python's `-m airsequel`) serving `data_dir`, from `cwd`, with
    `--workers N` when `workers` is given. `started`: a list the server's process is appended to. Its control
    plane is the one pytest's --control-plane chose for `data_dir` (tests/control_planes.py) unless `env` says."""
    port = free_port()
    # A file, not a pipe: nobody reads a pipe while the test runs, and a full one would block the server.
    log = open(server_log(data_dir), "ab")
    process = subprocess.Popen(
        [
            *(program or [sys.executable, "-m", "airsequel"]),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-level",
            "warning",
            *(["--workers", str(workers)] if workers is not None else []),
        ],
        env={**os.environ, **control_plane_env(data_dir), **(env or {})},
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    if started is not None:
        started.append(process)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {server_log(data_dir).read_text(errors='replace')[-4000:]}")
            try:
                if httpx2.get(f"{base}/api/status", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 20 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def user_client(base: str, username: str, *, timeout: float = 60) -> httpx2.Client:
    """A client of the server at `base`, signed up and logged in as `username` (its session token as Bearer)."""
    http = httpx2.Client(base_url=base, timeout=timeout)
    http.headers["Authorization"] = f"Bearer {sign_up_and_login(http, username)}"
    return http
