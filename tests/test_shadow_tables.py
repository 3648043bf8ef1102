"""The shadow tables of virtual tables (FTS5's notes_fts_data, _idx, _content, _docsize, _config; FTS4's
and R-tree's) are listed nowhere: not in /api/dbs, GET /api/dbs/:dbId, the table API, the web pages or
GraphQL; and every listing calls a table by the same tableType: "Table", "View" or "VirtualTable"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.core.services import Services
from tests.helpers import make_sqlite_file, sql

SCHEMA = (
    "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
    "CREATE VIRTUAL TABLE notes_fts USING fts5(body);"
    "CREATE VIRTUAL TABLE old_fts USING fts4(body);"
    "CREATE VIRTUAL TABLE places USING rtree(id, min_x, max_x);"
    "CREATE VIEW recent AS SELECT * FROM notes;"
    # Named like shadow tables, but ordinary tables of the user's: listed.
    "CREATE TABLE notes_fts_extra(x TEXT);"
    "CREATE TABLE notes_data(x TEXT);"
)
LISTED = [
    {"name": "notes", "tableType": "Table"},
    {"name": "notes_fts", "tableType": "VirtualTable"},
    {"name": "old_fts", "tableType": "VirtualTable"},
    {"name": "places", "tableType": "VirtualTable"},
    {"name": "recent", "tableType": "View"},
    {"name": "notes_fts_extra", "tableType": "Table"},
    {"name": "notes_data", "tableType": "Table"},
]
SHADOWS = [
    "notes_fts_data",
    "notes_fts_idx",
    "notes_fts_content",
    "notes_fts_docsize",
    "notes_fts_config",
    "old_fts_segdir",
    "old_fts_segments",
    "places_node",
    "places_parent",
    "places_rowid",
]


def _made_by_sql(client: TestClient, _tmp_path: Path) -> str:
    response = client.post("/api/dbs", json={"name": "notes", "query": SCHEMA})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _uploaded(client: TestClient, tmp_path: Path) -> str:
    data = make_sqlite_file(tmp_path / "notes.sqlite", SCHEMA)
    response = client.post("/dbs", files={"file": ("notes.sqlite", data)})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _created_then_added(client: TestClient, _tmp_path: Path) -> str:
    db_id = client.post("/api/dbs", json={"name": "notes"}).json()["id"]
    response = sql(client, db_id, SCHEMA)
    assert response.status_code == 200, response.text
    return db_id


@pytest.fixture(params=[_made_by_sql, _uploaded, _created_then_added], ids=["create", "upload", "sql"])
def db_id(request: pytest.FixtureRequest, client: TestClient, tmp_path: Path) -> str:
    return request.param(client, tmp_path)


def test_the_database_list_and_record_hide_shadow_tables(client: TestClient, db_id: str) -> None:
    listed = [d for d in client.get("/api/dbs").json()["databases"] if d["id"] == db_id][0]
    assert listed["tables"] == LISTED
    assert client.get(f"/api/dbs/{db_id}").json()["tables"] == LISTED


def test_the_table_api_uses_the_same_table_types(client: TestClient, db_id: str) -> None:
    for table in LISTED:
        response = client.get(f"/api/dbs/{db_id}/tables/{table['name']}")
        assert response.status_code == 200, response.text
        assert response.json()["tableType"] == table["tableType"]
    for shadow in SHADOWS:
        response = client.get(f"/api/dbs/{db_id}/tables/{shadow}")
        assert response.status_code == 404, shadow
    # Still there for SQL, which reaches the virtual table through them.
    assert sql(client, db_id, "SELECT count(*) AS n FROM notes_fts_config").json()["rows"][0]["n"] >= 1


def test_the_web_pages_list_no_shadow_tables(client: TestClient, db_id: str) -> None:
    page = client.get(f"/dbs/{db_id}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    for table in LISTED:
        assert f">{table['name']}</a>" in page.text
    assert "VirtualTable" in page.text
    for shadow in SHADOWS:
        assert shadow not in page.text
    home = client.get("/", headers={"Accept": "text/html"})
    assert home.status_code == 200


def test_graphql_lists_no_shadow_tables(client: TestClient, db_id: str) -> None:
    response = client.post(f"/dbs/{db_id}/graphql", json={"query": "{ __schema { queryType { fields { name } } } }"})
    assert response.status_code == 200, response.text
    fields = {field["name"] for field in response.json()["data"]["__schema"]["queryType"]["fields"]}
    assert "notes" in fields and "notes_fts" in fields
    assert not {shadow for shadow in SHADOWS if shadow in fields}


def test_an_fts_table_made_later_drops_out_of_the_list_with_its_shadows(client: TestClient, db_id: str) -> None:
    assert sql(client, db_id, "DROP TABLE notes_fts").status_code == 200
    listed = client.get(f"/api/dbs/{db_id}").json()["tables"]
    assert [t["name"] for t in listed] == [t["name"] for t in LISTED if t["name"] != "notes_fts"]


def test_a_list_stored_by_an_older_server_is_read_again_at_start(settings: Settings) -> None:
    services = Services.start(settings)
    try:
        record = services.hosting.create("notes", query=SCHEMA)
        stale = [{"name": t["name"], "tableType": "View" if t["tableType"] == "View" else "Table"} for t in LISTED]
        stale += [{"name": shadow, "tableType": "Table"} for shadow in SHADOWS]
        services.hosting.control.execute(
            "UPDATE databases SET tables_json = ? WHERE file_key = ?", (json.dumps(stale), record.file_key)
        )
        untouched = services.hosting.create("plain", query="CREATE TABLE a(x); CREATE TABLE a_data(y);")
        before = services.hosting.get(untouched.id)
    finally:
        services.stop()
    services = Services.start(settings)
    try:
        relisted = services.hosting.get(record.id)
        assert relisted.tables == LISTED
        assert (relisted.size, relisted.last_modified_utc) == (record.size, record.last_modified_utc)
        after = services.hosting.get(untouched.id)
        assert (
            after.tables
            == before.tables
            == [{"name": "a", "tableType": "Table"}, {"name": "a_data", "tableType": "Table"}]
        )
    finally:
        services.stop()
