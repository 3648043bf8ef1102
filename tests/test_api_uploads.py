"""Uploads (POST /dbs), replacement (PUT /dbs/:dbId) and downloads, with everything they refuse."""

from __future__ import annotations

import sqlite3

import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.http.app import create_app
from tests.helpers import create_db, data_files, make_sqlite_file, sign_up_and_login, sql


@pytest.fixture
def sqlite_bytes(tmp_path):
    return make_sqlite_file(
        tmp_path / "upload.sqlite",
        "CREATE TABLE songs(id INTEGER PRIMARY KEY, title TEXT, data BLOB);"
        "INSERT INTO songs(title, data) VALUES ('Über', x'0001ff'), ('Two', NULL);",
    )


def upload(client, content: bytes, filename: str = "music.sqlite", **fields):
    return client.post("/dbs", files={"file": (filename, content, "application/octet-stream")}, data=fields)


def test_upload_sqlite_then_download_byte_for_byte(client, sqlite_bytes, tmp_path):
    response = upload(client, sqlite_bytes, name="Music")
    assert response.status_code == 201
    db_id = response.json()["id"]
    db = client.get(f"/api/dbs/{db_id}").json()
    assert db["name"] == "Music" and db["fileName"] == "music.sqlite"
    assert db["tables"] == [{"name": "songs", "tableType": "Table"}]
    rows = sql(client, db_id, "SELECT title, data FROM songs ORDER BY id").json()["rows"]
    assert rows == [{"title": "Über", "data": {"$base64": "AAH/"}}, {"title": "Two", "data": None}]
    download = client.get(f"/dbs/{db_id}/download")
    assert download.status_code == 200
    assert 'filename="Music.sqlite"' in download.headers["content-disposition"]
    assert download.content == sqlite_bytes


def test_download_after_writes_is_a_consistent_sqlite_file(client, sqlite_bytes, tmp_path):
    db_id = upload(client, sqlite_bytes).json()["id"]
    sql(client, db_id, "INSERT INTO songs(title) VALUES ('Three')")
    path = tmp_path / "downloaded.sqlite"
    path.write_bytes(client.get(f"/dbs/{db_id}/download").content)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert [r[0] for r in conn.execute("SELECT title FROM songs ORDER BY id")] == ["Über", "Two", "Three"]


def test_raw_body_upload(client, sqlite_bytes):
    response = client.post("/dbs?name=Raw", content=sqlite_bytes, headers={"Content-Type": "application/vnd.sqlite3"})
    assert response.status_code == 201
    assert client.get(f"/api/dbs/{response.json()['id']}").json()["name"] == "Raw"


def test_csv_upload_becomes_a_typed_table(client):
    content = '\ufeffid,name,score,zip\n1,"Smith, Ann",1.5,00123\n2,"two\nlines",,12345\n'.encode()
    response = upload(client, content, filename="people.csv")
    assert response.status_code == 201
    db_id = response.json()["id"]
    assert client.get(f"/api/dbs/{db_id}").json()["name"] == "people"
    schema = client.get(f"/api/dbs/{db_id}/schema").text
    assert '"id" INTEGER' in schema and '"score" REAL' in schema and '"zip" TEXT' in schema
    rows = sql(client, db_id, "SELECT * FROM people ORDER BY id").json()["rows"]
    assert rows == [
        {"id": 1, "name": "Smith, Ann", "score": 1.5, "zip": "00123"},
        {"id": 2, "name": "two\nlines", "score": None, "zip": "12345"},
    ]


@pytest.mark.parametrize(
    "content, filename, status, message",
    [
        (b"this is not a database at all, just some text" * 10, "x.sqlite", 422, "not a SQLite database"),
        (b"SQLite format 3\x00" + b"\x10\x00" + b"\x00" * 1000, "x.sqlite", 422, "truncated"),
        (b"a,b\n1,2\n3\n", "bad.csv", 422, "line 3"),
        (b"a,b\n\xff\xfe,1\n", "bad.csv", 422, "UTF-8"),
        (b"\n", "empty.csv", 422, "empty"),
        (
            ",".join(f"c{i}" for i in range(2001)).encode() + b"\n" + b"1," * 2000 + b"1\n",
            "wide.csv",
            422,
            "2001 columns",
        ),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(client, settings, content, filename, status, message):
    response = upload(client, content, filename=filename)
    assert response.status_code == status
    assert message in response.json()["errors"][0]
    assert client.get("/api/dbs").json()["numberOfDatabases"] == 0
    assert data_files(settings) == []


def test_corrupt_sqlite_file_is_refused(client, settings, sqlite_bytes):
    damaged = bytearray(sqlite_bytes)
    page_size = int.from_bytes(damaged[16:18], "big")
    damaged[page_size + 8 : page_size + 40] = b"\xff" * 32  # scribble over the second page's header
    response = upload(client, bytes(damaged))
    assert response.status_code == 422
    assert data_files(settings) == []


def test_upload_without_file_field_is_400(client, settings):
    response = client.post("/dbs", files={"other": ("x.sqlite", b"abc")})
    assert response.status_code == 400
    assert client.post("/dbs", content=b"").status_code == 400
    assert data_files(settings) == []


def test_oversized_upload_is_413_and_leaves_nothing(tmp_path):
    settings = Settings.from_env(data_dir=tmp_path / "small", max_upload_bytes=2048, secret_key="x")
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = "Bearer " + sign_up_and_login(client, "bob")
        response = upload(client, b"x" * 5000, filename="big.csv")
        assert response.status_code == 413
        response = client.post("/dbs", content=b"y" * 5000, headers={"Content-Type": "text/csv"})
        assert response.status_code == 413
        assert data_files(settings) == []


def test_schema_calling_denied_functions_is_refused(client, settings, tmp_path):
    content = make_sqlite_file(
        tmp_path / "evil.sqlite", "CREATE TABLE t(a); CREATE VIEW v AS SELECT load_extension('/tmp/x.so') AS a;"
    )
    response = upload(client, content)
    assert response.status_code == 422 and "load_extension" in response.json()["errors"][0]
    content = make_sqlite_file(
        tmp_path / "evil2.sqlite",
        "CREATE TABLE t(a); CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT fts3_tokenizer('simple'); END;",
    )
    response = upload(client, content)
    assert response.status_code == 422 and "fts3_tokenizer" in response.json()["errors"][0]
    assert data_files(settings) == []


def test_put_replaces_content_atomically(client, sqlite_bytes):
    db_id = create_db(client, "CREATE TABLE old(a); INSERT INTO old VALUES (1)")
    readonly_id = client.post(f"/api/dbs/{db_id}/readonly-id").json()["readonlyId"]  # the link on
    response = client.put(f"/dbs/{db_id}", files={"file": ("new.sqlite", sqlite_bytes)})
    assert response.status_code == 200 and response.json()["id"] == db_id
    db = client.get(f"/api/dbs/{db_id}").json()
    assert db["tables"] == [{"name": "songs", "tableType": "Table"}]
    assert db["readonlyId"] == readonly_id
    assert sql(client, db_id, "SELECT count(*) AS n FROM songs").json()["rows"] == [{"n": 2}]
    assert client.get(f"/dbs/{db_id}/download").content == sqlite_bytes


def test_failed_put_keeps_the_old_content(client, settings):
    db_id = create_db(client, "CREATE TABLE keep(a); INSERT INTO keep VALUES ('precious')")
    before = client.get(f"/dbs/{db_id}/download").content
    shown = client.get(f"/api/dbs/{db_id}").json()
    for bad in [b"garbage" * 100, b"SQLite format 3\x00" + b"\x00" * 50]:
        response = client.put(f"/dbs/{db_id}", files={"file": ("x.sqlite", bad)})
        assert response.status_code == 422
    response = client.put(f"/dbs/{db_id}", files={"file": ("x.csv", b"a,b\n1\n")})
    assert response.status_code == 422
    assert sql(client, db_id, "SELECT a FROM keep").json()["rows"] == [{"a": "precious"}]
    assert client.get(f"/dbs/{db_id}/download").content == before
    after = client.get(f"/api/dbs/{db_id}").json()
    assert (after["fileFormat"], after["fileName"]) == (shown["fileFormat"], shown["fileName"])
    assert not any(name.startswith("tmp/") for name in data_files(settings))


def test_put_csv_replaces_with_one_table(client, sqlite_bytes):
    db_id = create_db(client, "CREATE TABLE old(a)")
    response = client.put(f"/dbs/{db_id}", files={"file": ("fresh.csv", b"x,y\n1,a\n")})
    assert response.status_code == 200
    db = client.get(f"/api/dbs/{db_id}").json()
    assert db["tables"] == [{"name": "fresh", "tableType": "Table"}]
    # The database is now exchanged as the CSV it was replaced with, and back as SQLite after a SQLite upload.
    assert (db["fileFormat"], db["fileName"]) == ("csv", "fresh.csv")
    assert client.put(f"/dbs/{db_id}", files={"file": ("back.sqlite", sqlite_bytes)}).status_code == 200
    db = client.get(f"/api/dbs/{db_id}").json()
    assert (db["fileFormat"], db["fileName"]) == ("sqlite", "back.sqlite")
