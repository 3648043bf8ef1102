"""Exactly one Litestream for N worker processes: the elected worker runs it, databases created and
deleted through any worker reach it, and killing the holder hands replication over to another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airsequel.config import Settings
from airsequel.core.auth.access import Principal, PrincipalKind
from airsequel.core.errors import NotFound
from airsequel.core.services import Services
from airsequel.core.storage import replication
from tests.worker_processes import eventually, litestream_pids

pytestmark = pytest.mark.slow

ADMIN = Principal(PrincipalKind.USER, user_id=1, username="admin", server_admin=True)


@pytest.fixture
def replicated(tmp_path: Path) -> Settings:
    return Settings.from_env(
        data_dir=tmp_path / "data",
        sql_time_limit_seconds=1.0,
        secret_key="test-secret",
        replica_url=(tmp_path / "replica").as_uri(),
    )


def started(settings: Settings, *, first: bool) -> Services:
    """A worker's services (the first takes the data directory's lock, as the parent of the workers)."""
    services = Services.start(settings) if first else Services._start_locked(settings)
    assert services.replication is not None
    services.replication.poll_seconds = 0.1
    services.replication.start(services.control)
    return services


@pytest.fixture
def workers(replicated: Settings) -> Iterator[list[Services]]:
    both = [started(replicated, first=True), started(replicated, first=False)]
    yield both
    for services in reversed(both):
        services.stop()


def has_backup(services: Services, file_key: str) -> bool:
    assert services.replication is not None
    try:
        replication.restore_window(services.replication.url_for(file_key))
    except NotFound:
        return False
    return True


def watched(services: Services) -> set[str]:
    assert services.replication is not None
    return {f["fileKey"] for f in services.replication.sync_status()}


def test_one_worker_runs_litestream_and_databases_made_through_the_other_reach_it(workers, replicated):
    holders = [w for w in workers if w.replication is not None and w.replication.supervising]
    assert len(holders) == 1
    (holder,) = holders
    (other,) = [w for w in workers if w is not holder]
    assert litestream_pids(replicated.data_dir) == [holder.replication.pid]
    # The other worker sees the same Litestream running (for /api/status), without running one.
    assert other.replication is not None and other.replication.pid == holder.replication.pid
    assert other.status(ADMIN)["replication"]["running"] is True

    record = other.hosting.create("made elsewhere", query="CREATE TABLE t(v); INSERT INTO t VALUES (1)")
    assert record.file_key in watched(holder)  # registered at once, through the shared socket
    eventually(lambda: has_backup(holder, record.file_key))
    eventually(lambda: record.file_key in holder.replication.registered)  # and in the holder's own list

    other.hosting.delete(record)
    assert record.file_key not in watched(holder)
    eventually(lambda: record.file_key not in holder.replication.registered)
    assert litestream_pids(replicated.data_dir) == [holder.replication.pid]


def test_a_database_the_holder_missed_is_registered_from_the_registry(workers):
    (holder,) = [w for w in workers if w.replication is not None and w.replication.supervising]
    (other,) = [w for w in workers if w is not holder]
    assert other.replication is not None
    socket, other.replication.socket = other.replication.socket, Path("/nonexistent.sock")
    try:  # the other worker cannot reach Litestream (as while the holder restarts it)
        record = other.hosting.create("missed", query="CREATE TABLE t(v)")
    finally:
        other.replication.socket = socket
    eventually(lambda: record.file_key in watched(holder))  # the holder followed the registry's change
    eventually(lambda: has_backup(holder, record.file_key))


HOLDER = """
import sys, time
from pathlib import Path
from airsequel.config import Settings
from airsequel.core.auth.access import Principal, PrincipalKind
from airsequel.core.services import Services
settings = Settings.from_env(data_dir=Path(sys.argv[1]), secret_key="test-secret", replica_url=sys.argv[2])
services = Services._start_locked(settings)
services.replication.start(services.control)
print("holding" if services.replication.supervising else "not holding", flush=True)
time.sleep(600)
"""


def test_killing_the_worker_that_runs_litestream_hands_replication_over(replicated):
    replicated.data_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), str(replicated.data_dir), str(replicated.replica_url)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        (first_litestream,) = litestream_pids(replicated.data_dir)
        services = started(replicated, first=True)
        try:
            assert services.replication is not None and not services.replication.supervising
            before = services.hosting.create("before", query="CREATE TABLE t(v)")
            eventually(lambda: has_backup(services, before.file_key))  # replicated by the other process
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait()
            taken_over = time.monotonic()
            eventually(lambda: services.replication is not None and services.replication.supervising, timeout=10)
            eventually(lambda: services.replication is not None and services.replication._own_pid is not None)
            handover = time.monotonic() - taken_over
            assert handover < 5, handover
            print(f"handover took {handover:.2f} s")
            eventually(lambda: first_litestream not in litestream_pids(replicated.data_dir))  # it died with its worker
            assert litestream_pids(replicated.data_dir) == [services.replication.pid]
            after = services.hosting.create("after", query="CREATE TABLE t(v)")
            assert {before.file_key, after.file_key} <= watched(services)  # the old one registered again
            eventually(lambda: has_backup(services, after.file_key))
        finally:
            services.stop()
        assert litestream_pids(replicated.data_dir) == []
    finally:
        holder.kill()
        holder.wait()
