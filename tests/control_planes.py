"""Which control plane the suite's servers use: `pytest --control-plane=sqlite` (the default: control.sqlite in
each data directory) or `--control-plane=postgresql` (one PostgreSQL server for the session, started the first time
a test needs it, and a fresh database for each data directory).

`control_plane_for(data_dir)` is the one place a test's server learns its control plane: the `settings` fixture,
`tests/server_process.running_server` and the per-test environment variable (tests/conftest.py) go through it.
Like control.sqlite, the database belongs to the data directory: a server restarted on the same directory finds
the same control plane, and two data directories never share one."""

from __future__ import annotations

import os
import queue
import sqlite3
import tempfile
import threading
from itertools import count
from pathlib import Path

import psycopg
import pytest

from tests.postgres_cluster import PostgresCluster, PostgresUnavailable

SQLITE, POSTGRESQL = "sqlite", "postgresql"
CHOICES = (SQLITE, POSTGRESQL)
# Set to 1 by contributors without PostgreSQL: the tests that need it are skipped instead of failing.
NO_POSTGRESQL_VARIABLE = "AIRSEQUEL_TEST_NO_POSTGRESQL"

# Fresh databases kept ready, so that a test does not wait for its CREATE DATABASE (nor for its DROP at the end).
SPARE_DATABASES = 2

_chosen = SQLITE
_cluster: PostgresCluster | None = None
_failure: str | None = None
_numbers = count(1)
_by_data_dir: dict[Path, str] = {}
_created: list[tuple[str, Path | None]] = []  # (database name, its data directory), in creation order


class _Housekeeper:
    """A thread that keeps SPARE_DATABASES fresh databases ready and drops the used ones, off the tests' path."""

    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster
        self.spares: queue.Queue[str] = queue.Queue()
        self.work: queue.Queue[str | None] = queue.Queue()  # "": make a spare; a name: drop it; None: stop
        self.thread = threading.Thread(target=self._run, name="postgres-housekeeper", daemon=True)
        self.thread.start()
        for _ in range(SPARE_DATABASES):
            self.work.put("")

    def _run(self) -> None:
        while True:
            item = self.work.get()
            try:
                if item is None:
                    return
                if item == "":
                    name = _next_name()
                    self.cluster.create_database(name)
                    self.spares.put(name)
                else:
                    self.cluster.drop_database(item)
            except psycopg.Error:
                pass  # a spare less, or a database left for the cluster's removal at the end
            finally:
                self.work.task_done()

    def take(self) -> str:
        """The name of a fresh database: a spare when one is ready, else one made now."""
        try:
            name = self.spares.get_nowait()
        except queue.Empty:
            name = _next_name()
            self.cluster.create_database(name)
        self.work.put("")
        return name

    def drop(self, name: str) -> None:
        self.work.put(name)

    def settle(self) -> None:
        """Wait until every drop and spare asked for is done."""
        self.work.join()

    def stop(self) -> None:
        self.work.put(None)
        self.thread.join(timeout=60)


_housekeeper: _Housekeeper | None = None


def _next_name() -> str:
    return f"airsequel_test_{next(_numbers)}"


def choose(choice: str) -> None:
    global _chosen
    if choice not in CHOICES:
        raise ValueError(f"--control-plane must be one of {', '.join(CHOICES)}, not {choice!r}")
    _chosen = choice


def postgresql_chosen() -> bool:
    return _chosen == POSTGRESQL


def cluster() -> PostgresCluster:
    """The session's PostgreSQL server, started on first use. A test that needs it fails with the reason when
    PostgreSQL is missing or would not start, or is skipped when AIRSEQUEL_TEST_NO_POSTGRESQL=1."""
    global _cluster, _failure
    if _cluster is None and _failure is None:
        try:
            _cluster = PostgresCluster.start(Path(tempfile.gettempdir()))
        except PostgresUnavailable as error:
            _failure = str(error)
    if _cluster is None:
        unavailable(str(_failure))
    assert _cluster is not None
    return _cluster


def unavailable(reason: str) -> None:
    """Fail the test that needs PostgreSQL with `reason`; skip it instead when AIRSEQUEL_TEST_NO_POSTGRESQL=1."""
    if os.environ.get(NO_POSTGRESQL_VARIABLE) == "1":
        pytest.skip(f"needs PostgreSQL ({NO_POSTGRESQL_VARIABLE}=1): {reason.splitlines()[0]}")
    pytest.fail(f"this test needs PostgreSQL, which is unavailable: {reason}", pytrace=False)


def new_database(data_dir: Path | None = None) -> str:
    """A fresh, empty database on the session's server; its URL."""
    global _housekeeper
    if _housekeeper is None:
        _housekeeper = _Housekeeper(cluster())
    name = _housekeeper.take()
    _created.append((name, data_dir))
    return _housekeeper.cluster.database_url(name)


def control_plane_for(data_dir: Path) -> str:
    """The `control_plane` setting for a server of `data_dir`: "" (control.sqlite) under --control-plane=sqlite,
    else the URL of that directory's own database, created the first time it is asked for."""
    if not postgresql_chosen():
        return ""
    key = Path(data_dir).resolve()
    if key not in _by_data_dir:
        _by_data_dir[key] = new_database(key)
    return _by_data_dir[key]


def control_plane_flag(data_dir: Path) -> str | None:
    """`control_plane_for` as a keyword of Settings.from_env: None (not given, as for a server run without the
    flag) under --control-plane=sqlite."""
    return control_plane_for(data_dir) or None


def control_plane_env(data_dir: Path) -> dict[str, str]:
    """The environment a server subprocess of `data_dir` needs for the chosen control plane (none for SQLite)."""
    url = control_plane_for(data_dir)
    return {"AIRSEQUEL_CONTROL_PLANE": url} if url else {}


def control_plane_rows(data_dir: Path, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """The rows of `query` (`?` placeholders) on the control plane of `data_dir`, whichever engine holds it:
    for tests that check what a server left behind (no half-written registry rows, no job stuck RUNNING)."""
    # A directory no fixture asked for was served through the test's AIRSEQUEL_CONTROL_PLANE (tests/conftest.py).
    fallback = os.environ.get("AIRSEQUEL_CONTROL_PLANE")
    url = _by_data_dir.get(Path(data_dir).resolve(), fallback) if postgresql_chosen() else None
    if url:
        with psycopg.connect(url) as conn:
            return list(conn.execute(query.replace("?", "%s"), params).fetchall())  # type: ignore[arg-type]
    conn = sqlite3.connect(Path(data_dir) / "control.sqlite")
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def mark() -> int:
    """A point to `drop_since`: the databases created after it are a test's own."""
    return len(_created)


def drop_since(point: int) -> None:
    """Drop the databases created since `point` (a test's, at its end), forgetting their data directories."""
    while len(_created) > point:
        name, data_dir = _created.pop()
        if data_dir is not None:
            _by_data_dir.pop(data_dir, None)
        if _housekeeper is not None:
            _housekeeper.drop(name)


def settle() -> None:
    """Wait for the drops asked for so far (they run on a thread)."""
    if _housekeeper is not None:
        _housekeeper.settle()


def stop() -> None:
    global _cluster, _housekeeper
    if _housekeeper is not None:
        _housekeeper.stop()
        _housekeeper = None
    if _cluster is not None:
        _cluster.stop()
        _cluster = None
