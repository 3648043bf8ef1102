"""End to end: the real `airsequel serve` process, driven over HTTP on 127.0.0.1."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import httpx2

from tests.conftest import make_sqlite_file
from tests.server_process import running_server


def test_create_upload_query_download_over_a_real_server(tmp_path):
    original = make_sqlite_file(
        tmp_path / "original.sqlite",
        "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('hello'), ('world');",
    )
    data_dir = tmp_path / "data"
    with running_server(data_dir) as base:
        with httpx2.Client(base_url=base, timeout=30) as http:
            created = http.post("/api/dbs", json={"name": "e2e", "query": "CREATE TABLE t(a)"})
            assert created.status_code == 201
            uploaded = http.post("/dbs", files={"file": ("notes.sqlite", original)}, data={"name": "Notes"})
            assert uploaded.status_code == 201
            db_id = uploaded.json()["id"]

            untouched = http.get(f"/dbs/{db_id}/download")
            assert untouched.content == original  # byte for byte

            result = http.post(f"/dbs/{db_id}/sql", json={"query": "INSERT INTO notes(body) VALUES ('again') RETURNING id"})
            assert result.status_code == 200
            assert result.json()["rows"] == [{"id": 3}] and result.json()["affectedTables"] == ["notes"]

            downloaded = tmp_path / "downloaded.sqlite"
            downloaded.write_bytes(http.get(f"/dbs/{db_id}/download").content)
            listing = http.get("/api/dbs").json()
            assert listing["numberOfDatabases"] == 2

    conn = sqlite3.connect(downloaded)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [row[0] for row in conn.execute("SELECT body FROM notes ORDER BY id")] == ["hello", "world", "again"]
    conn.close()
    if shutil.which("sqlite3"):
        out = subprocess.run(["sqlite3", str(downloaded), "SELECT count(*) FROM notes"], capture_output=True, text=True)
        assert out.stdout.strip() == "3"

    # A restart keeps everything, including the generated secret key.
    key = (data_dir / "secret_key").read_text()
    with running_server(data_dir) as base:
        assert httpx2.get(f"{base}/api/dbs/{db_id}", timeout=10).json()["name"] == "Notes"
    assert (data_dir / "secret_key").read_text() == key
