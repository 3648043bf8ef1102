"""The connection pool: bounded open files, read-only readers, one writer at a time."""

from __future__ import annotations

import os
import threading

import pytest

from airsequel.config import Settings
from airsequel.core.services import Services
from airsequel.core.sql.connections import ConnectionPool, open_connection


def open_hosted_files() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").endswith("main.sqlite"):
                count += 1
        except OSError:
            pass
    return count


def test_open_files_are_bounded_by_the_pool_not_the_number_of_databases(tmp_path):
    settings = Settings.from_env(data_dir=tmp_path / "data", pool_size=8, secret_key="x")
    services = Services.start(settings)
    try:
        records = [
            services.hosting.create(f"db{i}", query="CREATE TABLE t(a); INSERT INTO t VALUES (1)") for i in range(40)
        ]
        for record in records:
            assert services.hosting.run_sql(record, "SELECT a FROM t", may_write=False).rows == [{"a": 1}]
            services.hosting.run_sql(record, "INSERT INTO t VALUES (2)", may_write=True)
        assert services.pool.open_connections <= 8
        assert open_hosted_files() <= 8
    finally:
        services.stop()
    assert open_hosted_files() == 0


def test_reader_connections_cannot_write(tmp_path):
    path = tmp_path / "main.sqlite"
    writer = open_connection_creating_for_test(path)
    writer.close()
    pool = ConnectionPool(max_open=4)
    with pool.reader("k", path) as conn:
        with pytest.raises(Exception, match="readonly"):
            conn.execute("PRAGMA query_only=OFF")
            conn.execute("INSERT INTO t VALUES (1)")
    pool.close_all()


def test_writers_to_one_file_are_serialized(tmp_path):
    path = tmp_path / "main.sqlite"
    open_connection_creating_for_test(path).close()
    pool = ConnectionPool(max_open=4)
    inside = 0
    most = 0
    lock = threading.Lock()

    def write(n: int) -> None:
        nonlocal inside, most
        with pool.writer("k", path) as conn:
            with lock:
                inside += 1
                most = max(most, inside)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (?)", (n,))
            conn.execute("COMMIT")
            with lock:
                inside -= 1

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    with pool.reader("k", path) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (20,)
    pool.close_all()


def open_connection_creating_for_test(path):
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t(a)")
    conn.close()
    return open_connection(path, readonly=False)
