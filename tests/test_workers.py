"""`airsequel serve --workers N`: real server processes on 127.0.0.1. A worker killed with SIGKILL
is replaced while the server keeps answering; the data directory stays one server's; a change made
through one worker holds on the very next request whichever worker answers it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx2
import pytest

from tests.helpers import PASSWORD, setup_key_from_log, sign_up_and_login
from tests.server_process import running_server, server_log
from tests.worker_processes import wait_for_workers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHECKS = 20  # requests per check, each on a new connection, so that every worker answers some


def fresh(base: str, method: str, path: str, **kwargs) -> httpx2.Response:
    """One request on a connection of its own (the kernel picks the worker that accepts it)."""
    with httpx2.Client(base_url=base, timeout=30) as http:
        return http.request(method, path, headers={"Connection": "close", **kwargs.pop("headers", {})}, **kwargs)


def test_a_killed_worker_is_replaced_while_the_server_keeps_answering(tmp_path):
    data_dir = tmp_path / "data"
    started: list[subprocess.Popen[bytes]] = []
    with running_server(data_dir, workers=2, started=started) as base:
        server = started[0]
        workers = wait_for_workers(server.pid, 2)
        results: list[tuple[float, int | str]] = []
        stop = threading.Event()

        def keep_asking() -> None:
            while not stop.is_set():
                try:
                    results.append((time.monotonic(), fresh(base, "GET", "/api/status").status_code))
                except httpx2.TransportError as error:
                    results.append((time.monotonic(), type(error).__name__))

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            time.sleep(0.5)
            victim = min(workers)
            killed_at = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            replaced = wait_for_workers(server.pid, 2, other_than={victim})
            replaced_at = time.monotonic()
            time.sleep(0.5)
        finally:
            stop.set()
            asker.join()
        assert victim not in replaced and len(replaced - workers) == 1
        during = [status for at, status in results if killed_at <= at <= replaced_at]
        failed = [status for _, status in results if status != 200]
        # One client asking one request at a time: at most the one in flight at the kill fails.
        assert len(failed) <= 1, failed
        assert during and during.count(200) >= len(during) - 1, during
        assert results[-1][1] == 200
        assert server.poll() is None
        print(
            f"worker {victim} killed: replaced in {replaced_at - killed_at:.2f} s, {len(during)} requests meanwhile,"
            f" {len(failed)} failed ({failed})"
        )


def test_the_data_directory_stays_one_servers_and_its_setup_link_is_printed_once(tmp_path):
    data_dir = tmp_path / "data"
    with running_server(data_dir, workers=2) as base:
        second = subprocess.run(
            [sys.executable, "-m", "airsequel", "serve", "--data-dir", str(data_dir), "--workers", "2", "--port", "1"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3
        assert "in use by another airsequel server" in second.stderr
        # A worker started by hand, without the marker of the server that holds the directory:
        alone = subprocess.run(
            [sys.executable, "-c", "from airsequel.http.worker_app import create_worker_app; create_worker_app()"],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != "AIRSEQUEL_WORKER_START"},
        )
        assert alone.returncode != 0 and "airsequel serve --workers N" in alone.stderr
        forged = subprocess.run(
            [sys.executable, "-c", "from airsequel.http.worker_app import create_worker_app; create_worker_app()"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "AIRSEQUEL_WORKER_START": _worker_start_of(base)},
        )
        assert forged.returncode == 3 and "not this worker's parent" in forged.stderr

        time.sleep(0.5)
        assert server_log(data_dir).read_text().count("No server admin yet") == 1
        key = setup_key_from_log(data_dir)
        with httpx2.Client(base_url=base, timeout=30) as http:
            token = sign_up_and_login(http, "root", setup_key=key)
            me = http.get("/api/users/root", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["serverRoles"] == ["admin"], me
        for _ in range(CHECKS):  # the link is used up on every worker
            again = fresh(
                base,
                "POST",
                "/api/users",
                json={"username": "mallory", "email_address": "m@example.org", "password": PASSWORD, "setupKey": key},
            )
            assert again.status_code == 403, again.text
            assert "setup link is unknown or was used" in again.json()["errors"][0]


def _worker_start_of(base: str) -> str:
    """The start-up environment a running worker got (to try it in a process that is not its child)."""
    port = base.rsplit(":", 1)[1]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = open(f"/proc/{entry}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        for item in environ:
            if item.startswith(b"AIRSEQUEL_WORKER_START=") and f'"port":{port}'.encode() in item:
                return item.split(b"=", 1)[1].decode()
    raise AssertionError("no worker environment found")
