"""PATCH /api/dbs/:dbId/tables/:t checks the whole body before it changes anything: a refused `after`,
name or description leaves the table's name, description, place in the list and the audit log as they
were."""

from __future__ import annotations

import pytest

from tests.helpers import create_db, sql


def state(client, db: str) -> dict:
    names = [row["name"] for row in sql(client, db, "SELECT name FROM sqlite_master ORDER BY name").json()["rows"]]
    listed = [table["name"] for table in client.get(f"/api/dbs/{db}").json()["tables"]]
    descriptions = {name: client.get(f"/api/dbs/{db}/tables/{name}").json()["description"] for name in names}
    return {
        "file": names,
        "listed": listed,
        "descriptions": descriptions,
        "audit": client.get(f"/api/dbs/{db}/audit").json()["entries"],
    }


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"after": "missing", "name": "renamed"}, 404, "Table 'missing' does not exist"),
        ({"after": "missing", "name": "renamed", "description": "new"}, 404, "Table 'missing' does not exist"),
        ({"after": "missing", "description": "new"}, 404, "Table 'missing' does not exist"),
        ({"after": "a", "name": "renamed"}, 404, "Table 'a' does not exist"),  # a's old name, once renamed
        ({"after": 7, "name": "renamed"}, 400, "after must be a table name or null (first)"),
        ({"name": "b", "after": None, "description": "new"}, 409, "A table or view named 'b' exists already"),
        ({"name": 5, "description": "new"}, 400, "The field 'name' must be a string"),
        ({"name": "renamed", "description": 5}, 400, "The field 'description' must be a string"),
    ],
)
def test_a_refused_patch_changes_nothing(client, body, status, message):
    db = create_db(client, "CREATE TABLE a(x); CREATE TABLE b(y); CREATE TABLE c(z)")
    assert client.patch(f"/api/dbs/{db}/settings", json={"auditing": True}).status_code == 200
    assert client.patch(f"/api/dbs/{db}/tables/a", json={"description": "first", "after": "c"}).status_code == 200
    before = state(client, db)
    refused = client.patch(f"/api/dbs/{db}/tables/a", json=body)
    assert refused.status_code == status, refused.text
    assert refused.json()["errors"][0].startswith(message)
    assert state(client, db) == before


def test_a_valid_patch_does_all_three_at_once(client):
    db = create_db(client, "CREATE TABLE a(x); CREATE TABLE b(y); CREATE TABLE c(z)")
    changed = client.patch(
        f"/api/dbs/{db}/tables/c", json={"name": "New Table Name", "description": "New Table Description", "after": "a"}
    )
    assert changed.status_code == 200, changed.text
    after = state(client, db)
    assert after["listed"] == ["a", "New Table Name", "b"]
    assert after["descriptions"]["New Table Name"] == "New Table Description"
