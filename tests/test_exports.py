"""Export jobs in every media type, records with filters and cursors, assets."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile

import httpx2
import openpyxl
import pytest

from tests.control_planes import control_plane_rows
from tests.helpers import create_db, sign_up_and_login, sql
from tests.server_process import running_server, user_client

SCHEMA = """
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, price REAL, big INTEGER, data BLOB, created TEXT);
INSERT INTO items(name, price, big, data, created) VALUES
  ('Ünïcödé ✓', 1.5, 9007199254740993, x'00ff', '2024-01-01'),
  (NULL, NULL, NULL, NULL, '2024-01-31'),
  ('comma, "quote"', -0.25, 42, x'', '2024-02-01');
CREATE TABLE other(x TEXT);
INSERT INTO other VALUES ('o');
"""
EXPECTED = [
    {
        "id": 1,
        "name": "Ünïcödé ✓",
        "price": 1.5,
        "big": 9007199254740993,
        "data": {"$base64": "AP8="},
        "created": "2024-01-01",
    },
    {"id": 2, "name": None, "price": None, "big": None, "data": None, "created": "2024-01-31"},
    {"id": 3, "name": 'comma, "quote"', "price": -0.25, "big": 42, "data": {"$base64": ""}, "created": "2024-02-01"},
]


def wait_for(client, job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/exports/{job_id}").json()
        if job["status"] in ("SUCCESS", "FAILED"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"export {job_id} did not finish: {job}")


def export(client, db, media_type, **extra):
    response = client.post(
        "/api/exports", json={"name": "backup", "databases": [db], "media_type": media_type, **extra}
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "STARTED"
    job = wait_for(client, response.json()["id"])
    assert job["status"] == "SUCCESS", job
    data = client.get(job["data"])
    assert data.status_code == 200
    return job, data


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA)


def test_ndjson_and_json_round_trip(client, db):
    job, data = export(client, db, "application/x-ndjson", tables=["items"])
    assert "backup" in data.headers["content-disposition"] and job["progress"]["rows_done"] == 3
    assert [json.loads(line) for line in data.text.splitlines()] == EXPECTED
    _, data = export(client, db, "application/json", tables=["items"])
    assert json.loads(data.text) == EXPECTED


def test_csv_export_of_two_tables_is_a_zip(client, db):
    _, data = export(client, db, "text/csv")
    assert data.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(data.content))
    assert sorted(archive.namelist()) == ["items.csv", "other.csv"]
    rows = list(csv.reader(io.StringIO(archive.read("items.csv").decode())))
    assert rows[0] == ["id", "name", "price", "big", "data", "created"]
    assert rows[1] == [
        "1",
        "Ünïcödé ✓",
        "1.5",
        "9007199254740993",
        base64.b64encode(b"\x00\xff").decode(),
        "2024-01-01",
    ]
    assert rows[3][1] == 'comma, "quote"'


def test_xlsx_export_has_a_sheet_per_table_and_keeps_big_integers_exact(client, db, tmp_path):
    _, data = export(client, db, "application/xlsx")
    path = tmp_path / "book.xlsx"
    path.write_bytes(data.content)
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["items", "other"]
    rows = list(book["items"].iter_rows(values_only=True))
    assert rows[0] == ("id", "name", "price", "big", "data", "created")
    assert rows[1] == (1, "Ünïcödé ✓", 1.5, "9007199254740993", "AP8=", "2024-01-01")
    assert rows[2][:3] == (2, None, None)


def test_xlsx_splits_tables_longer_than_a_sheet(tmp_path):
    import airsequel.core.formats.writers as writers
    from airsequel.core.formats.writers import XlsxBook

    original = writers.XLSX_MAX_ROWS
    writers.XLSX_MAX_ROWS = 4  # header + 3 rows per sheet, to keep the test small
    try:
        book = XlsxBook(tmp_path / "split.xlsx")
        numbers = sqlite3.connect(":memory:").execute(
            "WITH RECURSIVE n(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM n LIMIT 8) SELECT n FROM n"
        )
        book.add_table("t", numbers, lambda _: None)
        book.close()
    finally:
        writers.XLSX_MAX_ROWS = original
    loaded = openpyxl.load_workbook(tmp_path / "split.xlsx", read_only=True)
    assert loaded.sheetnames == ["t", "t (2)", "t (3)"]
    values = [row[0] for name in loaded.sheetnames for row in loaded[name].iter_rows(min_row=2, values_only=True)]
    assert values == list(range(8))


def test_filters_listing_deletion_and_permissions(client, db):
    _, data = export(client, db, "application/x-ndjson", tables=["items"], filters={"items": {"price__gte": 0}})
    assert [json.loads(line)["id"] for line in data.text.splitlines()] == [1]
    assert len(client.get("/api/exports").json()["exports"]) == 1
    job_id = client.get("/api/exports").json()["exports"][0]["id"]
    # Another user cannot see, download or delete it, nor export a database it cannot read.
    other = {"Authorization": "Bearer " + sign_up_and_login(client, "mallory")}
    assert client.get(f"/api/exports/{job_id}", headers=other).status_code == 404
    assert client.get(f"/api/exports/{job_id}/data", headers=other).status_code == 404
    assert (
        client.post(
            "/api/exports", headers=other, json={"name": "x", "databases": [db], "media_type": "text/csv"}
        ).status_code
        == 404
    )
    # A token that can read one database cannot export another.
    db2 = create_db(client, "CREATE TABLE t(a)", name="second")
    token = client.post(
        "/api/tokens", json={"name": "t", "team_name": "alice", "permissions": [{"db_id": db, "name": "read"}]}
    ).json()["body"]
    as_token = {"Authorization": f"Bearer {token}"}
    assert (
        client.post(
            "/api/exports", headers=as_token, json={"name": "x", "databases": [db2], "media_type": "text/csv"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/exports", headers=as_token, json={"name": "x", "databases": [db], "media_type": "text/csv"}
        ).status_code
        == 202
    )
    assert client.delete(f"/api/exports/{job_id}").status_code == 200
    assert client.get(f"/api/exports/{job_id}").status_code == 404
    for bad in [
        {"databases": [db], "media_type": "text/csv"},
        {"name": "x", "databases": [], "media_type": "text/csv"},
        {"name": "x", "databases": [db], "media_type": "image/png"},
        {"name": "x", "databases": [db], "media_type": {}},
    ]:  # an object was a 500 (unhashable)
        assert client.post("/api/exports", json=bad).status_code == 400
    # What the job would fail on, or quietly ignore, is refused when the job is asked for; no job is made.
    for filters, tables, message in [
        ({"items": {"nope": 1}}, None, "Unknown column 'nope'"),
        ({"items": {"price": [1, 2]}}, None, "must be a string, a number SQLite can hold or a boolean"),
        ({"items": {"big": 2**63}}, None, "must be a string, a number SQLite can hold or a boolean"),
        ({"items": {"date_column": "created", "end_date": "2024-02-30"}}, None, "end_date must be a date"),
        ({"itemz": {"price": 1}}, None, "No database of this export has the table(s) 'itemz'"),
        ({}, ["items", "itemz"], "'itemz'"),
        ({"items": {"price": 1}}, ["people"], "filters name tables the export leaves out: 'items'"),
    ]:
        answer = client.post(
            "/api/exports", json={"name": "x", "databases": [db], "filters": filters, "tables": tables}
        )
        assert answer.status_code == 400 and message in answer.json()["errors"][0], (filters, answer.text)
    assert len(client.get("/api/exports").json()["exports"]) == 0


def test_expired_artifacts_are_deleted(client, db):
    job, _ = export(client, db, "text/csv", tables=["other"])
    services = client.app.state.services
    services.control.execute(
        "UPDATE export_jobs SET expires_utc = '2000-01-01T00:00:00.000Z' WHERE id = ?", (job["id"],)
    )
    services.exports._wake.set()
    deadline = time.monotonic() + 10
    while client.get(f"/api/exports/{job['id']}").status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get(f"/api/exports/{job['id']}").status_code == 404
    assert not (services.settings.data_dir / "exports" / job["id"]).exists()


def test_records_filters_and_cursor(client, db):
    base = f"/api/dbs/{db}/tables/items/records"
    assert [r["id"] for r in client.get(base).json()["records"]] == [1, 2, 3]
    assert client.get(base + "?name__isnull=true").json()["records"] == [EXPECTED[1]]
    assert [r["id"] for r in client.get(base + "?big__gt=1&big__lt=100").json()["records"]] == [3]
    assert [r["id"] for r in client.get(base + "?id=2").json()["records"]] == [2]
    dated = client.get(base + "?date_column=created&start_date=2024-01-01&end_date=2024-01-31").json()
    assert [r["id"] for r in dated["records"]] == [1, 2]
    first = client.get(base + "?limit=2").json()
    assert [r["id"] for r in first["records"]] == [1, 2] and first["next"]
    sql(client, db, "INSERT INTO items(name) VALUES ('late')")  # a concurrent insert does not disturb the cursor
    second = client.get(base + f"?limit=2&next={first['next']}").json()
    assert [r["id"] for r in second["records"]] == [3, 4] and second["next"] is None
    as_csv = client.get(base + "?limit=1", headers={"Accept": "text/csv"})
    assert as_csv.text.splitlines()[0] == "id,name,price,big,data,created" and as_csv.headers["x-next-cursor"]
    for bad in [
        "?nope=1",
        "?date_column=created&start_date=2024-13-01",
        "?limit=0",
        "?limit=10001",
        "?price__near=1",
        "?next=garbage!",
        "?start_date=2024-01-01",
    ]:
        response = client.get(base + bad)
        assert response.status_code == 400 and response.json()["errors"], bad
    # the last day there is: no day follows it, and every row with a date is before its end (it was a 500)
    sql(client, db, "UPDATE items SET created = '9999-12-31T23:59:59' WHERE id = 4")
    assert [r["id"] for r in client.get(base + "?date_column=created&end_date=9999-12-31").json()["records"]] == [
        1,
        2,
        3,
        4,
    ]
    assert [r["id"] for r in client.get(base + "?date_column=created&start_date=9999-12-31").json()["records"]] == [4]


def test_record_filters_compare_numbers_in_untyped_columns_as_numbers(client):
    db = create_db(
        client,
        "CREATE TABLE loose(n, label); INSERT INTO loose VALUES (1, 'one'), (2.5, 'two and a half'), ('7', 'seven as text'), (10, 'ten')",
    )
    base = f"/api/dbs/{db}/tables/loose/records"

    def labels(query: str) -> list[str]:
        return [r["label"] for r in client.get(base + query).json()["records"]]

    assert labels("?n=1") == ["one"]
    assert labels("?n=2.5") == ["two and a half"]
    assert labels("?n__gte=2&n__lt=10") == ["two and a half"]  # '7' is text, and text sorts after every number
    assert labels("?n=7") == []  # a number never equals the text '7' in an untyped column, as in SQL
    assert labels("?label=one") == ["one"]


def test_assets_lifecycle_quota_and_export(client, db):
    created = client.post(f"/api/dbs/{db}/assets", json={"filename": "logo.png"})
    assert created.status_code == 201
    asset = created.json()
    assert asset["is_uploaded"] is False and asset["download_url"].endswith(asset["id"])
    url = f"/api/dbs/{db}/assets/{asset['id']}"
    assert client.get(url).status_code == 404  # not uploaded yet
    assert client.patch(url, json={"is_uploaded": True}).status_code == 409
    content = os.urandom(5000)
    assert client.put(url, content=content, headers={"Content-Type": "application/octet-stream"}).status_code == 200
    assert client.patch(url, json={"is_uploaded": True}).json()["is_uploaded"] is True
    assert client.get(url).content == content
    assert client.get(url + "?meta=true").json()["size"] == 5000
    assert [a["id"] for a in client.get(f"/api/dbs/{db}/assets").json()["assets"]] == [asset["id"]]
    _, data = export(client, db, "text/csv", tables=["other"], include_assets=True)
    archive = zipfile.ZipFile(io.BytesIO(data.content))
    assert archive.read(f"assets/{asset['id']}-logo.png") == content
    client.app.state.services.assets.quota_bytes = 6000
    second = client.post(f"/api/dbs/{db}/assets", json={"filename": "big.bin"}).json()
    assert client.put(f"/api/dbs/{db}/assets/{second['id']}", content=os.urandom(2000)).status_code == 413
    assert client.delete(url).status_code == 200 and client.get(url + "?meta=true").status_code == 404
    assert client.post(f"/api/dbs/{db}/assets", json={"filename": "../evil"}).status_code == 400


@pytest.mark.e2e
@pytest.mark.slow
def test_a_job_interrupted_by_a_crash_completes_after_restart(tmp_path):
    data_dir = tmp_path / "data"
    with running_server(data_dir) as base:
        http = user_client(base, "crash", timeout=60)
        db = http.post(
            "/api/dbs", json={"name": "big", "query": "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"}
        ).json()["id"]
        http.post(
            f"/dbs/{db}/sql",
            json={
                "query": "INSERT INTO t(v) WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 400000) SELECT printf('value %d', i) FROM c"
            },
        )
        job_id = http.post(
            "/api/exports", json={"name": "crash", "databases": [db], "media_type": "application/json"}
        ).json()["id"]
        deadline = time.monotonic() + 30
        while http.get(f"/api/exports/{job_id}").json()["status"] == "STARTED" and time.monotonic() < deadline:
            time.sleep(0.01)
        pid = int(
            subprocess.run(
                ["pgrep", "-f", "--", f"--data-dir {data_dir}"], capture_output=True, text=True
            ).stdout.split()[0]
        )
        os.kill(pid, signal.SIGKILL)
        http.close()
    with running_server(data_dir) as base:
        http = httpx2.Client(base_url=base, timeout=60)
        token = http.post("/api/login", json={"username": "crash", "password": "correct horse battery"}).json()[
            "sessionToken"
        ]
        http.headers["Authorization"] = f"Bearer {token}"
        deadline = time.monotonic() + 60
        job = http.get(f"/api/exports/{job_id}").json()
        while job["status"] not in ("SUCCESS", "FAILED") and time.monotonic() < deadline:
            time.sleep(0.1)
            job = http.get(f"/api/exports/{job_id}").json()
        assert job["status"] == "SUCCESS"
        exported = json.loads(http.get(job["data"]).content)
        assert len(exported) == 400000 and exported[-1] == {"id": 400000, "v": "value 400000"}
        http.close()
    assert control_plane_rows(data_dir, "SELECT count(*) FROM export_jobs WHERE status = 'RUNNING'") == [(0,)]
    assert sorted(p.name for p in (data_dir / "exports" / job_id).iterdir()) == ["crash-t.json"]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_million_row_export_keeps_memory_bounded(tmp_path):
    script = f"""
import sqlite3, time, json
from pathlib import Path
from starlette.testclient import TestClient
from airsequel.config import Settings
from airsequel.http.app import create_app
settings = Settings.from_env(data_dir=Path({str(tmp_path / "d")!r}), secret_key="k")
with TestClient(create_app(settings)) as client:
    client.post("/api/users", json={{"username": "mem", "email_address": "m@example.org", "password": "password123"}})
    client.headers["Authorization"] = "Bearer " + client.post("/api/login", json={{"username": "mem", "password": "password123"}}).json()["sessionToken"]
    db = client.post("/api/dbs", json={{"name": "m", "query": "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"}}).json()["id"]
    hosting = client.app.state.services.hosting
    conn = sqlite3.connect(hosting.file_path(hosting.get(db)))
    conn.execute("INSERT INTO t(v) WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 1000000) SELECT printf('row %d with some text', i) FROM c")
    conn.commit(); conn.close()
    hwm = lambda: next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    before = hwm()
    job = client.post("/api/exports", json={{"name": "m", "databases": [db], "media_type": "application/x-ndjson"}}).json()["id"]
    while client.get("/api/exports/" + job).json()["status"] not in ("SUCCESS", "FAILED"):
        time.sleep(0.1)
    status = client.get("/api/exports/" + job).json()
    print(status["status"], status["progress"]["rows_done"], (hwm() - before) // 1024)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout.split()
    assert out[0] == "SUCCESS" and int(out[1]) == 1_000_000
    assert int(out[2]) < 60, f"memory grew by {out[2]} MiB"
