"""The pool when another process swaps or deletes a hosted file under its connections (simulated here
by renaming and unlinking the file from the test, as another worker's replace or delete would)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from airsequel.core.errors import Unavailable
from airsequel.core.sql import connections
from airsequel.core.sql.connections import BUSY_MESSAGE, ConnectionPool, remove_wal_files
from airsequel.core.sql.deadline import HostedConnection
from airsequel.core.sql.file_swaps import REPLACED_MESSAGE
from tests.helpers import create_db, make_sqlite_file, sql


def _file(path: Path, marker: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(f"CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('{marker}');")
    conn.close()
    return path


def _rows(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [v for (v,) in conn.execute("SELECT v FROM t ORDER BY v")]
    finally:
        conn.close()


def _swap_in(new: Path, path: Path, keep_old_as: Path | None = None) -> None:
    """What another worker's replace does to the file (its old inode kept under `keep_old_as`)."""
    if keep_old_as is not None:  # with its WAL, which holds what was committed into it
        os.link(path, keep_old_as)
        if Path(f"{path}-wal").exists():
            os.link(f"{path}-wal", f"{keep_old_as}-wal")
    remove_wal_files(path)
    os.replace(new, path)


def _write(conn: HostedConnection, value: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (?)", (value,))
    conn.execute("COMMIT")


def test_a_write_whose_file_is_swapped_before_it_has_the_lock_lands_in_the_new_file(tmp_path):
    path = _file(tmp_path / "db.sqlite", "old")
    pool = ConnectionPool()
    with pool.writer("k", path) as conn:
        _write(conn, "before")  # an idle writer to the old file now
    swaps = []

    def swapped_by_another_process(conn: HostedConnection) -> None:
        if not swaps:  # between the borrow's check and its BEGIN IMMEDIATE
            swaps.append(_swap_in(_file(tmp_path / "new.sqlite", "new"), path, keep_old_as=tmp_path / "old.sqlite"))

    with pool.writer("k", path, before_begin=swapped_by_another_process) as conn:
        _write(conn, "after")
    assert _rows(path) == ["after", "new"]
    assert _rows(tmp_path / "old.sqlite") == ["before", "old"]  # nothing went into the swapped-out file
    assert pool.open_connections == 1


def test_a_write_whose_file_is_swapped_twice_while_it_waits_is_refused_and_writes_nothing(tmp_path):
    path = _file(tmp_path / "db.sqlite", "old")
    pool = ConnectionPool()
    swaps: list[Path] = []

    def swapped_again(conn: HostedConnection) -> None:
        old = tmp_path / f"old{len(swaps)}.sqlite"
        _swap_in(_file(tmp_path / f"new{len(swaps)}.sqlite", f"new{len(swaps)}"), path, keep_old_as=old)
        swaps.append(old)

    with pytest.raises(Unavailable) as refused:
        with pool.writer("k", path, before_begin=swapped_again) as conn:
            _write(conn, "never")
    assert refused.value.messages == [REPLACED_MESSAGE]
    assert [_rows(old) for old in swaps] == [["old"], ["new0"]]
    assert _rows(path) == ["new1"]
    assert pool.open_connections == 0


def test_a_second_transaction_of_a_borrow_on_a_swapped_file_is_refused(tmp_path):
    path = _file(tmp_path / "db.sqlite", "old")
    pool = ConnectionPool()
    with pytest.raises(Unavailable) as refused:
        with pool.writer("k", path) as conn:
            _write(conn, "first")
            _swap_in(_file(tmp_path / "new.sqlite", "new"), path, keep_old_as=tmp_path / "old.sqlite")
            _write(conn, "second")
    assert refused.value.messages == [REPLACED_MESSAGE]
    assert _rows(tmp_path / "old.sqlite") == ["first", "old"]
    assert _rows(path) == ["new"]
    assert pool.open_connections == 0  # dropped, not lent again


def test_the_swap_holds_the_write_lock_that_other_processes_see_and_waits_for_theirs(tmp_path):
    path = _file(tmp_path / "db.sqlite", "old")
    pool = ConnectionPool()
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("PRAGMA journal_mode=WAL")
    with pool.swapping("k", path):
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # a write of another process in progress: the swap waits, then 503
    started = time.monotonic()
    with pytest.raises(Unavailable) as refused:
        with pool.swapping("k", path, time_limit=0.2):
            pytest.fail("swapped while another process was writing")
    assert refused.value.messages == [BUSY_MESSAGE]
    assert 0.1 < time.monotonic() - started < 2
    other.execute("ROLLBACK")
    other.close()


def _open_files(path: Path) -> list[str]:
    targets = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            continue
    return [target for target in targets if target.startswith(str(path))]


def test_idle_connections_to_a_deleted_or_swapped_file_are_closed_by_the_sweeper(tmp_path, monkeypatch):
    monkeypatch.setattr(connections, "SWEEP_SECONDS", 0.05)
    deleted = _file(tmp_path / "deleted.sqlite", "x")
    swapped = _file(tmp_path / "swapped.sqlite", "x")
    kept = _file(tmp_path / "kept.sqlite", "x")
    pool = ConnectionPool()
    for key, path in (("d", deleted), ("s", swapped), ("k", kept)):
        with pool.reader(key, path) as conn:
            conn.execute("SELECT * FROM t").fetchall()
        with pool.writer(key, path) as conn:
            _write(conn, "y")
    assert pool.open_connections == 6
    assert _open_files(deleted)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{deleted}{suffix}").unlink()
    _swap_in(_file(tmp_path / "new.sqlite", "new"), swapped)
    deadline = time.monotonic() + 5
    # The count drops under the pool's lock and the close follows outside it: wait for both.
    while (pool.open_connections > 2 or _open_files(deleted)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pool.open_connections == 2  # the two to the file that stayed
    assert not _open_files(deleted)  # its disk space is given back
    with pool.reader("s", swapped) as conn:
        assert [v for (v,) in conn.execute("SELECT v FROM t")] == ["new"]
    assert pool.close_swapped_idle() == 0


def test_a_replace_while_another_process_writes_waits_then_is_refused_with_503_and_changes_nothing(client, tmp_path):
    db = create_db(client, "CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('old')")
    services = client.app.state.services
    path = services.hosting.file_path(services.hosting.get(db))
    leftovers = set(services.hosting.tmp_dir.iterdir())
    new = make_sqlite_file(tmp_path / "new.sqlite", "CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('new');")
    other = sqlite3.connect(path, isolation_level=None)  # another worker's write, not finishing in time
    try:
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        answer = client.put(f"/dbs/{db}", files={"file": ("new.sqlite", new)})
        waited = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
    # The swap waits as a writer does (nine tenths of the 1 s time limit), then says so.
    assert answer.status_code == 503, answer.text
    assert answer.json() == {"errors": [BUSY_MESSAGE]}
    assert 0.5 < waited < 5
    assert sql(client, db, "SELECT v FROM t").json()["rows"] == [{"v": "old"}]
    assert set(services.hosting.tmp_dir.iterdir()) == leftovers  # the upload is not left behind
    assert client.put(f"/dbs/{db}", files={"file": ("new.sqlite", new)}).status_code == 200
    assert sql(client, db, "SELECT v FROM t").json()["rows"] == [{"v": "new"}]
