"""Issue 16, points 20 (the virtual-table check of uploads) and 21 (500s that are now clear errors).

Each test sends the exact request of the issue, checks the status and the message, and that nothing
was written; where the issue says the rest of the database keeps working, that it does."""

from __future__ import annotations

import sqlite3
import time

from starlette.testclient import TestClient

from airsequel.config import Settings
from tests.helpers import create_db, data_files, make_sqlite_file, sql


def only_error(response) -> str:  # type: ignore[no-untyped-def]
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]["message"] if isinstance(errors[0], dict) else errors[0]


# --- point 20: the virtual-table check -------------------------------------------------------------


def test_a_virtual_table_named_like_an_fts5_table_is_refused(client, tmp_path, settings):
    path = tmp_path / "fooled.sqlite"
    conn = sqlite3.connect(path)
    conn.execute('CREATE VIRTUAL TABLE "a USING fts5 " USING dbstat')  # dbstat reads every page of the file
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    before = data_files(settings)
    response = client.post("/dbs", files={"file": ("fooled.sqlite", path.read_bytes())})
    assert response.status_code == 422, response.text
    message = only_error(response)
    assert "'a USING fts5 '" in message and "'dbstat'" in message and "not allowed" in message, message
    assert client.get("/api/dbs").json()["numberOfDatabases"] == 0
    assert data_files(settings) == before


def test_the_module_is_read_by_sqlite_whatever_the_text_looks_like(client, tmp_path):
    """Comments, quotes and case that a regular expression would misread: the allowed ones still pass."""
    content = make_sqlite_file(
        tmp_path / "fine.sqlite",
        'CREATE VIRTUAL TABLE "x USING dbstat" USING fts5(body);'
        "create virtual table [q] using RTree(id, a, b);"
        "INSERT INTO \"x USING dbstat\" VALUES ('hello');",
    )
    response = client.post("/dbs", files={"file": ("fine.sqlite", content)})
    assert response.status_code == 201, response.text
    db = response.json()["id"]
    assert sql(client, db, 'SELECT body FROM "x USING dbstat"').json()["rows"] == [{"body": "hello"}]


# --- point 21: a CSV named sqlite_master.csv ------------------------------------------------------


def test_a_csv_named_after_a_reserved_table_gets_a_valid_name(client):
    response = client.post("/dbs", files={"file": ("sqlite_master.csv", b"a,b\n1,2\n")})
    assert response.status_code == 201, response.text
    db = response.json()["id"]
    assert sql(client, db, "SELECT * FROM csv_sqlite_master").json()["rows"] == [{"a": 1, "b": 2}]
    assert [t["name"] for t in client.get(f"/api/dbs/{db}").json()["tables"]] == ["csv_sqlite_master"]
    # replacing a database's content with such a CSV too
    replaced = client.put(f"/dbs/{db}", files={"file": ("SQLITE_sequence.csv", b"x\n1\n")})
    assert replaced.status_code == 200, replaced.text
    assert sql(client, db, "SELECT x FROM csv_SQLITE_sequence").json()["rows"] == [{"x": 1}]


# --- point 21: a view that calls load_extension ---------------------------------------------------

LOAD_EXTENSION_VIEW = "CREATE VIEW v AS SELECT load_extension('/tmp/nothing') AS e"


def wait_for_export(client, job_id):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job = client.get(f"/api/exports/{job_id}").json()
        if job["status"] in ("SUCCESS", "FAILED"):
            return job
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def test_a_view_calling_load_extension_is_a_clear_error_and_the_rest_keeps_working(client):
    db = create_db(client, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'one')")
    made = sql(client, db, LOAD_EXTENSION_VIEW)
    assert made.status_code == 200, made.text
    # the view itself: a clear 422 on every table route, naming the view and why
    for method, path in [
        ("GET", f"/api/dbs/{db}/tables/v"),
        ("GET", f"/api/dbs/{db}/tables/v/records"),
        ("GET", f"/api/dbs/{db}/tables/v/export"),
        ("GET", f"/api/dbs/{db}/tables/v/search/x"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 422, (path, response.status_code, response.text)
        message = only_error(response)
        assert "The view 'v' cannot be read" in message and "load_extension" in message, (path, message)
    # everything else in the database
    table = client.get(f"/api/dbs/{db}/tables/t")
    assert table.status_code == 200 and table.json()["numberOfRows"] == 1
    assert client.get(f"/api/dbs/{db}/tables/t/records").json()["records"] == [{"id": 1, "name": "one"}]
    assert client.get(f"/api/dbs/{db}/tables/t/export").text.splitlines() == ["id,name", "1,one"]
    assert client.get(f"/api/dbs/{db}/tables/t/search/on").json()["rows"] == [{"id": 1, "name": "one"}]
    assert client.get(f"/api/dbs/{db}").status_code == 200
    assert client.get(f"/api/dbs/{db}/azimutt-schema").status_code == 200
    assert client.get(f"/dbs/{db}", headers={"Accept": "text/html"}).status_code == 200
    graphql = client.post(f"/dbs/{db}/graphql", json={"query": "{ t { id name } }"})
    assert graphql.status_code == 200 and graphql.json() == {"data": {"t": [{"id": 1, "name": "one"}]}}, graphql.text
    started = client.post("/api/exports", json={"name": "all", "databases": [db], "media_type": "text/csv"})
    assert started.status_code == 202, started.text
    job = wait_for_export(client, started.json()["id"])
    assert job["status"] == "SUCCESS", job
    assert "1,one" in client.get(f"/api/exports/{job['id']}/data").text
    # and its owner can drop it without SQL
    assert client.delete(f"/api/dbs/{db}/tables/v").status_code == 200
    assert sql(client, db, "SELECT count(*) AS n FROM sqlite_master WHERE name = 'v'").json()["rows"] == [{"n": 0}]


# --- point 21: a trigger's RAISE during a file-cell PUT -------------------------------------------


def test_a_trigger_error_during_a_file_cell_put_is_a_clear_error_and_writes_nothing(client, settings: Settings):
    db = create_db(
        client,
        "CREATE TABLE docs(id INTEGER PRIMARY KEY, file BLOB); INSERT INTO docs VALUES (1, x'00');"
        "CREATE TABLE log(n); "
        "CREATE TRIGGER no_files BEFORE UPDATE ON docs BEGIN INSERT INTO log VALUES (1);"
        " SELECT RAISE(ABORT, 'files are frozen this week'); END",
    )
    assert client.patch(f"/api/dbs/{db}/settings", json={"auditing": True}).status_code == 200
    before = client.get(f"/dbs/{db}/download").content
    response = client.put(f"/api/dbs/{db}/tables/docs/columns/file/files/id/1", files={"file": ("scan.pdf", b"%PDF")})
    assert response.status_code == 422, response.text
    assert only_error(response) == "The database refused the file: files are frozen this week"
    rows = sql(client, db, "SELECT hex(file) AS f, (SELECT count(*) FROM log) AS logged FROM docs").json()["rows"]
    assert rows == [{"f": "00", "logged": 0}]
    assert client.get(f"/dbs/{db}/download").content == before
    kinds = [entry["kind"] for entry in client.get(f"/api/dbs/{db}/audit").json()["entries"]]
    assert "file" not in kinds, kinds
    # the next request to the same database is served as usual, and a file goes in once the trigger is gone
    assert sql(client, db, "DROP TRIGGER no_files").status_code == 200
    stored = client.put(f"/api/dbs/{db}/tables/docs/columns/file/files/id/1", files={"file": ("scan.pdf", b"%PDF")})
    assert stored.status_code == 200, stored.text
    kinds = [entry["kind"] for entry in client.get(f"/api/dbs/{db}/audit").json()["entries"]]
    assert kinds.count("file") == 1, kinds


# --- point 21: a CRLF in an asset filename -------------------------------------------------------


def test_an_asset_filename_with_a_line_break_is_a_clear_400(client: TestClient):
    db = create_db(client)
    for filename in ["evil\r\nSet-Cookie: a=b.png", "line\nbreak.png", "tab\there.png", "nul\x00.png", "a\\b.png"]:
        response = client.post(f"/api/dbs/{db}/assets", json={"filename": filename})
        assert response.status_code == 400, (filename, response.text)
        assert "control characters" in only_error(response)
    assert client.get(f"/api/dbs/{db}/assets").json() in ([], {"assets": []})
    # a name with non-ASCII letters, quotes and spaces is fine, and its download header is sound
    made = client.post(f"/api/dbs/{db}/assets", json={"filename": 'Ünïcode "quoted" name.png'})
    assert made.status_code == 201, made.text
    asset = made.json()["id"]
    assert client.put(f"/api/dbs/{db}/assets/{asset}", content=b"\x89PNG").status_code == 200
    assert client.patch(f"/api/dbs/{db}/assets/{asset}", json={"is_uploaded": True}).status_code == 200
    download = client.get(f"/api/dbs/{db}/assets/{asset}")
    assert download.status_code == 200 and download.content == b"\x89PNG"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="_n_code _quoted_ name.png"; filename*=UTF-8'), disposition


def test_an_asset_stored_before_the_check_with_a_crlf_name_still_downloads():
    """A name stored before names were checked: the download's header is sanitized, not dropped."""
    from airsequel.http.routes.files import content_disposition

    header = content_disposition("old\r\nname.png")
    assert "\r" not in header and "\n" not in header
    assert header.startswith("attachment; filename=\"old__name.png\"; filename*=UTF-8''old%0D%0Aname.png")
