"""The registry API over HTTP (Starlette TestClient, real files)."""

from __future__ import annotations

import pytest

from tests.helpers import create_db, data_files, sql


def test_status_counts_databases(client):
    assert client.get("/api/status").json()["numberOfDatabases"] == 0
    create_db(client)
    body = client.get("/api/status").json()
    assert body["status"] == "ok" and body["numberOfDatabases"] == 1 and body["version"]


def test_create_with_schema_script_then_read_it(client):
    response = client.post(
        "/api/dbs",
        json={
            "name": "Shop",
            "description": "orders",
            "query": "CREATE TABLE orders(id INTEGER PRIMARY KEY, total REAL)",
        },
    )
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "ownerName", "ownershipUtc"}
    db = client.get(f"/api/dbs/{created['id']}").json()
    assert db["name"] == "Shop" and db["description"] == "orders"
    assert db["tables"] == [{"name": "orders", "tableType": "Table"}]
    assert db["readonlyId"] is None  # the read-only link is off until a manager turns it on
    assert db["size"] > 0 and db["fileFormat"] == "sqlite"
    for field in (
        "createdUtc",
        "lastModifiedUtc",
        "visibility",
        "schemaLocked",
        "viewsTab",
        "auditing",
        "userVersion",
        "schemaVersion",
    ):
        assert field in db


def test_create_with_a_failing_script_leaves_nothing(client, settings):
    response = client.post("/api/dbs", json={"name": "bad", "query": "CREATE TABLE a(x); CREATE TABLE a(x)"})
    assert response.status_code == 400
    assert "already exists" in response.json()["errors"][0]
    assert client.get("/api/dbs").json()["numberOfDatabases"] == 0
    assert data_files(settings) == []


def test_list_and_paginate(client):
    ids = [create_db(client, name=f"db{i}") for i in range(3)]
    listing = client.get("/api/dbs").json()
    assert listing["numberOfDatabases"] == 3
    assert {db["id"] for db in listing["databases"]} == set(ids)
    page = client.get("/api/dbs?limit=2&offset=2").json()
    assert len(page["databases"]) == 1 and page["numberOfDatabases"] == 3
    assert client.get("/api/dbs?limit=-1").status_code == 400


def test_patch_name_and_description(client):
    db_id = create_db(client)
    assert (
        client.patch(
            f"/api/dbs/{db_id}", json={"name": "Renamed", "description": {"tag": "TextValue", "contents": "new"}}
        ).status_code
        == 200
    )
    db = client.get(f"/api/dbs/{db_id}").json()
    assert (db["name"], db["description"]) == ("Renamed", "new")
    assert client.patch(f"/api/dbs/{db_id}", json={"description": {"tag": "TextNull"}}).status_code == 200
    assert client.get(f"/api/dbs/{db_id}").json()["description"] is None
    assert client.patch(f"/api/dbs/{db_id}", json={"name": ""}).status_code == 400
    assert client.get(f"/api/dbs/{db_id}").json()["name"] == "Renamed"


def test_delete_removes_file_and_entry(client, settings):
    db_id = create_db(client, "CREATE TABLE t(a)")
    assert any("main.sqlite" in f for f in data_files(settings))
    assert client.delete(f"/api/dbs/{db_id}").json() == {}
    assert client.get(f"/api/dbs/{db_id}").status_code == 404
    assert sql(client, db_id, "SELECT 1").status_code == 404
    assert data_files(settings) == []


def test_schema_is_plain_text_like_the_cli(client):
    db_id = create_db(client, "CREATE TABLE t(a INTEGER); CREATE INDEX t_a ON t(a)")
    response = client.get(f"/api/dbs/{db_id}/schema")
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "CREATE TABLE t(a INTEGER);\nCREATE INDEX t_a ON t(a);\n"


def test_vacuum_shrinks_after_deletes(client):
    db_id = create_db(
        client,
        "CREATE TABLE t(a); INSERT INTO t SELECT randomblob(1000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 500) SELECT x FROM c)",
    )
    sql(client, db_id, "DELETE FROM t")
    before = client.get(f"/api/dbs/{db_id}").json()["size"]
    response = client.post(f"/api/dbs/{db_id}/vacuum")
    assert response.status_code == 200
    assert response.json()["size"] < before


def test_regenerate_ids_revokes_the_old_ones(client):
    db_id = create_db(client, "CREATE TABLE t(a)")
    old_readonly = client.post(f"/api/dbs/{db_id}/readonly-id").json()["readonlyId"]
    new_id = client.post(f"/dbs/{db_id}/regenerate-db-id").json()["id"]
    assert new_id != db_id
    assert client.get(f"/api/dbs/{db_id}").status_code == 404
    assert client.get(f"/api/dbs/{new_id}").status_code == 200
    new_readonly = client.post(f"/dbs/{new_id}/regenerate-readonly-id", headers={"Accept": "application/json"}).json()[
        "readonlyId"
    ]
    assert new_readonly != old_readonly
    assert client.get(f"/api/dbs/{new_id}").json()["readonlyId"] == new_readonly
    assert client.get(f"/readonly/{old_readonly}/duplicate", headers={"Accept": "application/json"}).status_code == 404
    browser = client.post(f"/dbs/{new_id}/regenerate-db-id", headers={"Accept": "text/html"}, follow_redirects=False)
    assert browser.status_code == 303


def test_duplicate_copies_content(client):
    db_id = create_db(client, "CREATE TABLE t(a); INSERT INTO t VALUES (1), (2)")
    copy_id = client.post(f"/dbs/{db_id}/duplicate", headers={"Accept": "application/json"}).json()["id"]
    assert copy_id != db_id
    sql(client, db_id, "DELETE FROM t")
    assert sql(client, copy_id, "SELECT count(*) AS n FROM t").json()["rows"] == [{"n": 2}]
    assert client.get(f"/api/dbs/{copy_id}").json()["name"] == "test (copy)"
    readonly_id = client.post(f"/api/dbs/{db_id}/readonly-id").json()["readonlyId"]
    via_readonly = client.post(f"/readonly/{readonly_id}/duplicate").json()["id"]
    assert sql(client, via_readonly, "SELECT count(*) AS n FROM t").json()["rows"] == [{"n": 0}]


@pytest.mark.parametrize("bad_id", ["nope", "..%2F..%2Fetc", "%2e%2e", "a" * 100, "01H0000000000000000000000%00"])
def test_bad_or_unknown_ids_are_404_json(client, bad_id):
    for method, path in [
        ("GET", f"/api/dbs/{bad_id}"),
        ("POST", f"/dbs/{bad_id}/sql"),
        ("GET", f"/dbs/{bad_id}/download"),
    ]:
        response = client.request(method, path, json={"query": "SELECT 1"})
        assert response.status_code == 404
        assert response.json()["errors"]


def test_malformed_json_is_400(client):
    response = client.post("/api/dbs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "JSON" in response.json()["errors"][0]
    assert client.post("/api/dbs", json=["a list"]).status_code == 400
    assert client.post("/api/dbs", json={"name": 5}).status_code == 400
    assert client.post("/api/dbs", json={}).status_code == 400
    assert client.get("/api/dbs").json()["numberOfDatabases"] == 0


def test_unknown_route_and_method_are_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.json()["errors"]
    response = client.put("/api/status")
    assert response.status_code == 405 and response.json()["errors"]
