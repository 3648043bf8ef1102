"""Faults: the server killed with SIGKILL in the middle of writes, uploads, replacements and
rebuilds; after a restart every file passes integrity_check, every acknowledged write is there,
nothing half-done is visible, and the registry agrees with the files on disk."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx2
import pytest

from tests.control_planes import control_plane_rows
from tests.helpers import PASSWORD, sign_up_and_login
from tests.server_process import running_server, user_client


def kill_server(data_dir: Path) -> None:
    found = subprocess.run(
        ["pgrep", "-f", "--", f"--data-dir {data_dir}"], capture_output=True, text=True
    ).stdout.split()
    assert found, "server process not found"
    for pid in found:
        os.kill(int(pid), signal.SIGKILL)
    time.sleep(0.3)


def login(base: str) -> httpx2.Client:
    http = httpx2.Client(base_url=base, timeout=60)
    token = http.post("/api/login", json={"username": "fault", "password": PASSWORD}).json()["sessionToken"]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def check_consistent(data_dir: Path) -> None:
    """Registry and files agree, and every hosted file is sound."""
    keys = {row[0] for row in control_plane_rows(data_dir, "SELECT file_key FROM databases")}
    on_disk = {p.name for p in (data_dir / "dbs").iterdir()}
    assert keys == on_disk
    for key in keys:
        conn = sqlite3.connect(data_dir / "dbs" / key / "main.sqlite")
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
    assert list((data_dir / "tmp").iterdir()) == []


@pytest.fixture
def server_dir(tmp_path):
    data_dir = tmp_path / "data"
    with running_server(data_dir) as base:
        http = user_client(base, "fault", timeout=60)
        http.close()
    return data_dir


@pytest.mark.e2e
@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill(server_dir):
    acknowledged: list[int] = []
    with running_server(server_dir) as base:
        http = login(base)
        db = http.post(
            "/api/dbs", json={"name": "w", "query": "CREATE TABLE w(n INTEGER PRIMARY KEY, pad TEXT)"}
        ).json()["id"]
        stop = threading.Event()

        def writer(start: int) -> None:
            with httpx2.Client(base_url=base, timeout=30, headers=dict(http.headers)) as own:
                n = start
                while not stop.is_set():
                    try:
                        response = own.post(
                            f"/dbs/{db}/sql",
                            json={"query": "INSERT INTO w VALUES (?, randomblob(2000))", "params": [n]},
                        )
                    except httpx2.TransportError:
                        return
                    if response.status_code == 200 and not response.json()["errors"]:  # an SQL error is a 200
                        acknowledged.append(n)
                    n += 4

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        kill_server(server_dir)
        stop.set()
        for thread in threads:
            thread.join()
    assert len(acknowledged) > 20
    with running_server(server_dir) as base:
        http = login(base)
        stored = {row["n"] for row in http.post(f"/dbs/{db}/sql", json={"query": "SELECT n FROM w"}).json()["rows"]}
        assert set(acknowledged) <= stored
    check_consistent(server_dir)


@pytest.fixture
def big(tmp_path: Path) -> Path:
    """A 600,000-row CSV (~20 MiB): big enough for the helper process, and to take a second to import."""
    path = tmp_path / "big.csv"
    with open(path, "w") as handle:
        handle.write("id,text\n")
        for i in range(600_000):
            handle.write(f"{i},row number {i} with some words\n")
    return path


@pytest.mark.e2e
@pytest.mark.slow
def test_sigkill_during_a_csv_upload_leaves_nothing_behind(server_dir, big):
    with running_server(server_dir) as base:
        http = login(base)
        before = http.get("/api/dbs").json()["numberOfDatabases"]

        def upload() -> None:
            try:
                with open(big, "rb") as handle:
                    http.post("/dbs", files={"file": ("big.csv", handle)})
            except httpx2.TransportError:
                pass

        thread = threading.Thread(target=upload)
        thread.start()
        time.sleep(1.0)
        kill_server(server_dir)
        thread.join()
    # The helper process that parses big CSV files stops when its server is gone (its pipe breaks).
    deadline = time.monotonic() + 10
    while csv_helper_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert csv_helper_processes() == []
    with running_server(server_dir) as base:
        http = login(base)
        assert http.get("/api/dbs").json()["numberOfDatabases"] in (before, before + 1)
    check_consistent(server_dir)


def csv_helper_processes() -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"airsequel.core.imports.csv_reader_process" in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def rows_being_written(data_dir: Path) -> bool:
    """An import's SQLite file in tmp/ has grown past its first pages."""
    for path in (data_dir / "tmp").glob("*.sqlite*"):
        try:
            if path.stat().st_size > 256 * 1024:
                return True
        except OSError:
            continue
    return False


@pytest.mark.e2e
@pytest.mark.slow
def test_a_csv_helper_killed_mid_import_is_a_503_and_leaves_nothing(server_dir, big):
    with running_server(server_dir) as base:
        http = login(base)
        before = http.get("/api/dbs").json()["numberOfDatabases"]
        answers: list[httpx2.Response] = []
        killed = False
        for _ in range(3):  # the import may win the race against the kill; then try again
            thread = threading.Thread(
                target=lambda: answers.append(http.post("/dbs", files={"file": ("big.csv", big.read_bytes())}))
            )
            thread.start()
            deadline = time.monotonic() + 20
            while not csv_helper_processes() and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.005)
            # Killed before it sends the header, the helper is replaced by parsing in-process (a 201);
            # this test is about the helper dying once rows are being written: wait until they are.
            while thread.is_alive() and not rows_being_written(server_dir) and time.monotonic() < deadline:
                time.sleep(0.002)
            for pid in csv_helper_processes():
                os.kill(pid, signal.SIGKILL)
                killed = True
            thread.join()
            if killed:
                break
            http.delete(f"/api/dbs/{answers[-1].json()['id']}")
        assert killed, "the helper process was never seen"
        assert answers[-1].status_code == 503, answers[-1].text
        assert "CSV reader" in answers[-1].json()["errors"][0]
        assert http.get("/api/dbs").json()["numberOfDatabases"] == before
        assert http.get("/api/status").status_code == 200
    check_consistent(server_dir)


@pytest.mark.e2e
@pytest.mark.slow
def test_sigkill_during_put_replacement_keeps_old_or_new_content_whole(server_dir, tmp_path):
    new_file = tmp_path / "new.sqlite"
    conn = sqlite3.connect(new_file)
    conn.execute("CREATE TABLE fresh(a)")
    conn.execute(
        "INSERT INTO fresh WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 300000) SELECT printf('value %d', i) FROM c"
    )
    conn.commit()
    conn.close()
    with running_server(server_dir) as base:
        http = login(base)
        db = http.post(
            "/api/dbs", json={"name": "r", "query": "CREATE TABLE old(a); INSERT INTO old VALUES ('precious')"}
        ).json()["id"]

        def replace() -> None:
            try:
                with open(new_file, "rb") as handle:
                    http.put(f"/dbs/{db}", files={"file": ("new.sqlite", handle)})
            except httpx2.TransportError:
                pass

        thread = threading.Thread(target=replace)
        thread.start()
        time.sleep(0.4)
        kill_server(server_dir)
        thread.join()
    with running_server(server_dir) as base:
        http = login(base)
        tables = [t["name"] for t in http.get(f"/api/dbs/{db}").json()["tables"]]
        if tables == ["old"]:
            assert http.post(f"/dbs/{db}/sql", json={"query": "SELECT a FROM old"}).json()["rows"] == [
                {"a": "precious"}
            ]
        else:
            assert tables == ["fresh"]
            assert http.post(f"/dbs/{db}/sql", json={"query": "SELECT count(*) AS n FROM fresh"}).json()["rows"] == [
                {"n": 300000}
            ]
    check_consistent(server_dir)


@pytest.mark.e2e
@pytest.mark.slow
def test_sigkill_during_a_column_rebuild_keeps_every_row(server_dir):
    with running_server(server_dir) as base:
        http = login(base)
        db = http.post(
            "/api/dbs", json={"name": "c", "query": "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"}
        ).json()["id"]
        http.post(
            f"/dbs/{db}/sql",
            json={
                "query": "INSERT INTO t(v) WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 400000) SELECT i FROM c"
            },
        )

        def rebuild() -> None:
            try:
                http.patch(f"/api/dbs/{db}/tables/t/columns/v", json={"sqliteDataType": "INTEGER", "isNonNull": True})
            except httpx2.TransportError:
                pass

        thread = threading.Thread(target=rebuild)
        thread.start()
        time.sleep(0.5)
        kill_server(server_dir)
        thread.join()
    with running_server(server_dir) as base:
        http = login(base)
        rows = http.post(f"/dbs/{db}/sql", json={"query": "SELECT count(*) AS n, sum(v) AS s FROM t"}).json()["rows"]
        assert rows == [{"n": 400000, "s": 400000 * 400001 // 2}]
        schema = http.get(f"/api/dbs/{db}/schema").text
        assert "airsequel_rebuild" not in schema
    check_consistent(server_dir)


@pytest.mark.e2e
def test_a_full_database_quota_is_a_clear_error_and_nothing_is_half_written(tmp_path):
    data_dir = tmp_path / "quota"
    with running_server(data_dir, env={"AIRSEQUEL_MAX_DATABASE_BYTES": str(2 * 1024 * 1024)}) as base:
        http = user_client(base, "fault", timeout=60)
        db = http.post("/api/dbs", json={"name": "q", "query": "CREATE TABLE t(b BLOB)"}).json()["id"]
        response = http.post(
            f"/dbs/{db}/sql",
            json={
                "query": "INSERT INTO t SELECT randomblob(100000) FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 100) SELECT i FROM c)"
            },
        )
        assert response.status_code == 413 and "larger than its limit" in response.json()["errors"][0]
        assert http.post(f"/dbs/{db}/sql", json={"query": "SELECT count(*) AS n FROM t"}).json()["rows"] == [{"n": 0}]
        assert http.post(f"/dbs/{db}/sql", json={"query": "INSERT INTO t VALUES (x'00')"}).status_code == 200
    check_consistent(data_dir)


def test_a_missing_database_file_is_a_clear_error_and_others_keep_working(tmp_path):
    from starlette.testclient import TestClient

    from airsequel.config import Settings
    from airsequel.http.app import create_app

    settings = Settings.from_env(data_dir=tmp_path / "m", secret_key="k")
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = "Bearer " + sign_up_and_login(client, "fault")
        lost = client.post("/api/dbs", json={"name": "lost", "query": "CREATE TABLE t(a)"}).json()["id"]
        fine = client.post("/api/dbs", json={"name": "fine", "query": "CREATE TABLE t(a)"}).json()["id"]
        services = client.app.state.services
        record = services.hosting.get(lost)
        services.pool.forget(record.file_key)
        for leftover in services.hosting.file_path(record).parent.iterdir():
            leftover.unlink()
        response = client.post(f"/dbs/{lost}/sql", json={"query": "SELECT * FROM t"})
        assert response.status_code == 503 and "missing" in response.json()["errors"][0]
        assert client.post(f"/dbs/{lost}/sql", json={"query": "INSERT INTO t VALUES (1)"}).status_code == 503
        assert client.post(f"/dbs/{fine}/sql", json={"query": "INSERT INTO t VALUES (1)"}).status_code == 200


def _immutable(paths, on: bool) -> None:  # type: ignore[no-untyped-def]
    for path in paths:
        subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)


@pytest.mark.skipif(not shutil.which("chattr"), reason="needs chattr to make files immutable")
def test_a_read_only_database_file_and_upload_dir_give_clear_errors_and_no_corruption(tmp_path):
    from starlette.testclient import TestClient

    from airsequel.config import Settings
    from airsequel.http.app import create_app

    settings = Settings.from_env(data_dir=tmp_path / "ro", secret_key="k")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = "Bearer " + sign_up_and_login(client, "fault")
        db = client.post(
            "/api/dbs", json={"name": "ro", "query": "CREATE TABLE t(a); INSERT INTO t VALUES ('kept')"}
        ).json()["id"]
        services = client.app.state.services
        record = services.hosting.get(db)
        services.pool.close_all()
        folder = services.hosting.file_path(record).parent
        frozen = [*folder.iterdir(), folder, settings.data_dir / "tmp"]
        try:
            if subprocess.run(["chattr", "+i", str(frozen[0])], capture_output=True).returncode != 0:
                pytest.skip("this filesystem does not support immutable files")
            _immutable(frozen, True)
            write = client.post(f"/dbs/{db}/sql", json={"query": "INSERT INTO t VALUES ('lost?')"})
            assert write.status_code == 503 and write.json()["errors"][0]
            upload = client.post("/dbs", files={"file": ("x.csv", b"a\n1\n")})
            assert upload.status_code == 503 and "uploads" in upload.json()["errors"][0]
        finally:
            _immutable(frozen, False)
        assert client.post(f"/dbs/{db}/sql", json={"query": "SELECT a FROM t"}).json()["rows"] == [{"a": "kept"}]
        conn = sqlite3.connect(services.hosting.file_path(record))
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
