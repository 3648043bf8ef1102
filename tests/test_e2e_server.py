"""End to end: the real `airsequel serve` process, driven over HTTP on 127.0.0.1."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import httpx2
import pytest

from tests.helpers import PASSWORD, make_sqlite_file, sign_up_and_login
from tests.server_process import running_server

pytestmark = pytest.mark.e2e


@pytest.mark.slow
def test_create_upload_query_download_over_a_real_server(tmp_path):
    original = make_sqlite_file(
        tmp_path / "original.sqlite",
        "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('hello'), ('world');",
    )
    data_dir = tmp_path / "data"
    with running_server(data_dir) as base:
        with httpx2.Client(base_url=base, timeout=30) as http:
            http.headers["Authorization"] = "Bearer " + sign_up_and_login(http, "erin")
            created = http.post("/api/dbs", json={"name": "e2e", "query": "CREATE TABLE t(a)"})
            assert created.status_code == 201
            uploaded = http.post("/dbs", files={"file": ("notes.sqlite", original)}, data={"name": "Notes"})
            assert uploaded.status_code == 201
            db_id = uploaded.json()["id"]

            untouched = http.get(f"/dbs/{db_id}/download")
            assert untouched.content == original  # byte for byte

            result = http.post(
                f"/dbs/{db_id}/sql", json={"query": "INSERT INTO notes(body) VALUES ('again') RETURNING id"}
            )
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
        token = httpx2.post(f"{base}/api/login", json={"username": "erin", "password": PASSWORD}).json()["sessionToken"]
        got = httpx2.get(f"{base}/api/dbs/{db_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert got.json()["name"] == "Notes"
    assert (data_dir / "secret_key").read_text() == key


def test_sign_up_log_in_mint_a_read_token_and_use_it_from_a_script(tmp_path):
    with running_server(tmp_path / "data") as base:
        with httpx2.Client(base_url=base, timeout=30) as http:
            session = sign_up_and_login(http, "frank")
            owner = {"Authorization": f"Bearer {session}"}
            db_id = http.post(
                "/api/dbs",
                headers=owner,
                json={"name": "metrics", "query": "CREATE TABLE m(v); INSERT INTO m VALUES (42)"},
            ).json()["id"]
            token = http.post(
                "/api/tokens",
                headers=owner,
                json={"name": "script", "team_name": "frank", "permissions": [{"db_id": db_id, "name": "read"}]},
            )
            assert token.status_code == 201
            body = token.json()["body"]
            assert body.startswith("ast_")

        # The "script": a fresh client holding nothing but the token.
        script = {"Authorization": f"Bearer {body}"}
        read = httpx2.post(f"{base}/dbs/{db_id}/sql", headers=script, json={"query": "SELECT v FROM m"}, timeout=10)
        assert read.json()["rows"] == [{"v": 42}]
        write = httpx2.post(f"{base}/dbs/{db_id}/sql", headers=script, json={"query": "DELETE FROM m"}, timeout=10)
        assert write.status_code == 403
        again = httpx2.post(
            f"{base}/dbs/{db_id}/sql", headers=owner, json={"query": "SELECT count(*) AS n FROM m"}, timeout=10
        )
        assert again.json()["rows"] == [{"n": 1}]
