"""Helpers for tests of `airsequel serve --workers N`: the server's worker processes, and HTTP
connections known to be served by a given worker.

uvicorn's workers share one listening socket, and the kernel decides which accepts a connection.
A kept-alive connection stays with the worker that accepted it, and /proc says which one that is:
the server-side socket (local port = the server's, remote port = the client's) is in /proc/net/tcp
with its inode, and exactly one worker holds a descriptor `socket:[inode]`.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def children_of(pid: int) -> set[int]:
    """The live worker processes of the server `pid` (multiprocessing's spawned children, not its
    resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                found.add(int(entry.name))
    return found


def wait_for_workers(
    server_pid: int, count: int, *, timeout: float = 30, other_than: frozenset[int] | set[int] = frozenset()
) -> set[int]:
    """The server's `count` worker pids once there are that many (none of them in `other_than`)."""
    deadline = time.monotonic() + timeout
    while True:
        workers = children_of(server_pid)
        if len(workers) == count and not workers & other_than:
            return workers
        if time.monotonic() > deadline:
            raise AssertionError(f"the server has workers {workers}, not {count} new ones")
        time.sleep(0.1)


class Pinned:
    """One kept-alive HTTP connection to the server (JSON in and out), and the worker serving it."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.conn = http.client.HTTPConnection(host, self.port, timeout=30)
        self.headers = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        self.request("GET", "/api/status")

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body)
        sent = {**self.headers, **(headers or {}), **({"Content-Type": "application/json"} if data else {})}
        self.conn.request(method, path, body=data, headers=sent)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None

    def worker(self, workers: set[int]) -> int:
        """Which of `workers` holds the server's end of this connection."""
        assert self.conn.sock is not None
        client_port = self.conn.sock.getsockname()[1]
        inode = _server_socket_inode(self.port, client_port)
        for pid in workers:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
        raise AssertionError(f"no worker of {workers} holds the connection from port {client_port}")

    def close(self) -> None:
        self.conn.close()


def _server_socket_inode(server_port: int, client_port: int) -> str:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return fields[9]
    raise AssertionError(f"no server socket for the client port {client_port}")


def one_per_worker(base: str, workers: set[int], headers: dict[str, str] | None = None) -> dict[int, Pinned]:
    """A kept-alive connection to each worker (new connections until every worker has one)."""
    pinned: dict[int, Pinned] = {}
    for _ in range(200):
        connection = Pinned(base, headers)
        pid = connection.worker(workers)
        if pid in pinned:
            connection.close()
        else:
            pinned[pid] = connection
        if len(pinned) == len(workers):
            return pinned
    raise AssertionError(f"200 connections reached only the workers {sorted(pinned)} of {sorted(workers)}")


def connections_per_worker(base: str, workers: set[int], each: int) -> list[tuple[int, Pinned]]:
    """`each` kept-alive connections to every worker: (worker pid, connection), grouped by worker."""
    pinned: dict[int, list[Pinned]] = {pid: [] for pid in workers}
    for _ in range(50 * each * len(workers)):
        connection = Pinned(base)
        mine = pinned[connection.worker(workers)]
        if len(mine) < each:
            mine.append(connection)
        else:
            connection.close()
        if all(len(group) == each for group in pinned.values()):
            return [(pid, connection) for pid, group in sorted(pinned.items()) for connection in group]
    raise AssertionError(f"could not reach {each} connections on every worker: {pinned}")


def litestream_pids(data_dir: Path) -> list[int]:
    """The pids of the live `litestream replicate` processes of this data directory."""
    config = str(data_dir / "litestream.yml").encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                state = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if b"replicate" in cmdline and config in cmdline and state != b"Z":
                found.append(int(entry.name))
    return found


def eventually(predicate: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait until `predicate()` holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.05)
