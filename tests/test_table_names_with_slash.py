"""Table and column names holding "/" in the JSON table routes (/api/dbs/:dbId/tables/...): a client sends
the "/" as %2F (as encodeURIComponent does) and every route finds the table, even where the name ends
like one of the routes ("x/export" is a table, /tables/x/export the CSV of x). The server decodes the
path before routing, so these routes match the path as it was sent (airsequel/http/encoded_routes.py)."""

from __future__ import annotations

import pytest

from tests.helpers import create_db, sql
from tests.server_process import running_server, user_client

SCHEMA = (
    'CREATE TABLE "a/b"(id INTEGER PRIMARY KEY, "c/d" TEXT); INSERT INTO "a/b" VALUES (1, \'x/y z\'), (2, \'other\');'
    "CREATE TABLE x(n INTEGER); INSERT INTO x VALUES (7);"
    'CREATE TABLE "x/export"(m INTEGER); INSERT INTO "x/export" VALUES (8), (9);'
)


def tables_of(client, db_id: str) -> list[str]:
    rows = sql(client, db_id, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").json()["rows"]
    return [row["name"] for row in rows]


def test_every_table_route_takes_an_encoded_slash(client):
    db_id = create_db(client, SCHEMA)
    base = f"/api/dbs/{db_id}/tables"

    table = client.get(f"{base}/a%2Fb")
    assert table.status_code == 200, table.text
    assert table.json()["name"] == "a/b" and [c["name"] for c in table.json()["columns"]] == ["id", "c/d"]
    assert client.get(f"{base}/a%2fb").json()["name"] == "a/b"  # lower-case hex too

    found = client.get(f"{base}/a%2Fb/search/x%2Fy")
    assert found.status_code == 200, found.text
    assert [row["id"] for row in found.json()["rows"]] == [1]

    records = client.get(f"{base}/a%2Fb/records")
    assert records.status_code == 200, records.text
    assert "x/y z" in records.text and "other" in records.text

    export = client.get(f"{base}/a%2Fb/export")
    assert export.status_code == 200 and export.text.splitlines() == ["id,c/d", "1,x/y z", "2,other"]

    created = client.put(f"{base}/a%2Fb/columns/e%2Ff", json={"sqliteDataType": "INTEGER"})
    assert created.status_code == 201, created.text
    assert client.patch(f"{base}/a%2Fb/columns/e%2Ff", json={"name": "g/h"}).status_code == 200
    assert [c["name"] for c in client.get(f"{base}/a%2Fb").json()["columns"]] == ["id", "c/d", "g/h"]
    assert client.delete(f"{base}/a%2Fb/columns/g%2Fh").status_code == 200
    assert [c["name"] for c in client.get(f"{base}/a%2Fb").json()["columns"]] == ["id", "c/d"]

    made = client.put(f"{base}/new%2Ftable", json={"columns": [{"name": "v", "sqliteDataType": "TEXT"}]})
    assert made.status_code == 201, made.text
    assert client.patch(f"{base}/new%2Ftable", json={"name": "re/named"}).status_code == 200
    assert "re/named" in tables_of(client, db_id) and "new/table" not in tables_of(client, db_id)
    assert client.delete(f"{base}/re%2Fnamed").status_code == 200
    assert "re/named" not in tables_of(client, db_id)


def test_names_that_end_like_a_route_are_not_mistaken(client):
    db_id = create_db(client, SCHEMA)
    base = f"/api/dbs/{db_id}/tables"
    assert client.get(f"{base}/x%2Fexport").json()["name"] == "x/export"  # the table named x/export
    assert client.get(f"{base}/x/export").text.splitlines() == ["n", "7"]  # the CSV of x
    assert client.get(f"{base}/x%2Fexport/export").text.splitlines() == ["m", "8", "9"]


def test_an_unencoded_slash_finds_nothing_and_changes_nothing(client):
    db_id = create_db(client, SCHEMA)
    before = tables_of(client, db_id)
    for method, path in (("GET", "a/b"), ("DELETE", "a/b"), ("PUT", "a/b"), ("PATCH", "a/b")):
        response = client.request(method, f"/api/dbs/{db_id}/tables/{path}", json={} if method != "GET" else None)
        assert response.status_code in (404, 405), (method, response.text)
        assert response.json()["errors"]
    response = client.get(f"/api/dbs/{db_id}/tables/nope%2Fthere")
    assert response.status_code == 404 and response.json()["errors"] == ["Table 'nope/there' does not exist"]
    assert tables_of(client, db_id) == before


def test_the_readonly_file_route_and_other_encodings_still_work(client):
    db_id = create_db(
        client, "CREATE TABLE \"f/g\"(k TEXT PRIMARY KEY, data BLOB); INSERT INTO \"f/g\" VALUES ('a/1', x'89504e47')"
    )
    rid = client.post(f"/api/dbs/{db_id}/readonly-id").json()["readonlyId"]
    for prefix in (f"/api/dbs/{db_id}", f"/readonly/{rid}"):
        response = client.get(f"{prefix}/tables/f%2Fg/columns/data/files/k/a%2F1")
        assert response.status_code == 200, (prefix, response.text)
        assert response.content == bytes.fromhex("89504e47")
    spaced = client.put(f"/api/dbs/{db_id}/tables/with%20space", json={})
    assert spaced.status_code == 201 and "with space" in tables_of(client, db_id)


@pytest.mark.slow
def test_through_a_real_server(tmp_path):
    """httpx2 against uvicorn, not the test client: hands the router the decoded path and the raw one."""
    with running_server(tmp_path / "data") as base:
        http = user_client(base, "sam", timeout=20)
        created = http.post("/api/dbs", json={"name": "s", "query": SCHEMA})
        assert created.status_code == 201, created.text
        db_id = created.json()["id"]
        assert http.get(f"/api/dbs/{db_id}/tables/a%2Fb").json()["name"] == "a/b"
        assert http.get(f"/api/dbs/{db_id}/tables/x%2Fexport").json()["name"] == "x/export"
        export = http.get(f"/api/dbs/{db_id}/tables/a%2Fb/export")
        assert export.status_code == 200 and export.text.splitlines()[0] == "id,c/d"
        assert http.get(f"/api/dbs/{db_id}/tables/x/export").text.splitlines() == ["n", "7"]
        http.close()


def test_a_path_that_a_browser_collapsed_is_never_redirected_to_another_resource(client):
    """A table named ".." in a DELETE's path is collapsed by the browser into the database's own path with a
    trailing slash: that path must not be redirected (a 307 keeps the method) to the database's DELETE."""
    db_id = create_db(client, 'CREATE TABLE ".."(a); CREATE TABLE t(a); INSERT INTO t VALUES (1)')
    for method, path in [
        ("DELETE", f"/api/dbs/{db_id}/"),
        ("PATCH", f"/api/dbs/{db_id}/"),
        ("DELETE", f"/api/dbs/{db_id}/tables/t/"),
    ]:
        answer = client.request(method, path, json={"name": "renamed"}, follow_redirects=False)
        assert answer.status_code in (404, 405), (method, path, answer.status_code)
    assert client.get(f"/api/dbs/{db_id}").json()["name"] == "test"
    assert tables_of(client, db_id) == ["..", "t"]


def test_page_links_keep_a_name_with_dot_segments_whole(client):
    db_id = create_db(client, 'CREATE TABLE "a/../b"(id INTEGER PRIMARY KEY); CREATE TABLE b(id INTEGER PRIMARY KEY)')
    page = client.get(f"/dbs/{db_id}").text
    assert f'href="/dbs/{db_id}/tables/a%2F..%2Fb"' in page
    opened = client.get(f"/dbs/{db_id}/tables/a%2F..%2Fb")
    assert opened.status_code == 200 and 'data-table="a/../b"' in opened.text
