"""The declared type of a new or changed column is one the server knows (SQLite itself takes any words as a type:
"NOTATYPE" made a NUMERIC column). Unknown types are refused with a 400 and nothing changes; a column that already
has an unusual type keeps it through other edits (a rename)."""

from __future__ import annotations

import pytest

from tests.helpers import create_db, sql

SCHEMA = "CREATE TABLE t(id INTEGER PRIMARY KEY, odd NOTATYPE, label TEXT); INSERT INTO t(label) VALUES ('a')"


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA)


def schema(client, db: str) -> str:
    rows = sql(client, db, "SELECT sql FROM sqlite_master WHERE name = 't'").json()["rows"]
    return str(rows[0]["sql"])


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("PUT", "columns/extra", {"sqliteDataType": "NOTATYPE"}),
        ("PUT", "columns/extra", {"sqliteDataType": "VARCHAR(x)"}),
        ("PUT", "columns/extra", {"sqliteDataType": "TEXT PRIMARY KEY"}),
        ("PATCH", "columns/label", {"sqliteDataType": "STRINGY"}),
    ],
)
def test_an_unknown_type_is_refused_with_400_and_nothing_changes(client, db, method, path, body):
    before = schema(client, db)
    response = client.request(method, f"/api/dbs/{db}/tables/t/{path}", json=body)
    assert response.status_code == 400, response.text
    message = response.json()["errors"][0]
    assert f"sqliteDataType {body['sqliteDataType']!r} is not a column type" in message
    assert "TEXT, INTEGER, REAL, NUMERIC or BLOB" in message
    assert schema(client, db) == before


def test_a_new_table_with_an_unknown_column_type_is_refused(client, db):
    response = client.put(f"/api/dbs/{db}/tables/other", json={"columns": [{"name": "a", "sqliteDataType": "NUMBR"}]})
    assert response.status_code == 400, response.text
    assert "'NUMBR' is not a column type" in response.json()["errors"][0]
    tables = sql(client, db, "SELECT name FROM sqlite_master WHERE type = 'table'").json()["rows"]
    assert [t["name"] for t in tables] == ["t"]


@pytest.mark.parametrize(
    "declared, stored",
    [
        ("NUMERIC", "NUMERIC"),
        ("blob", "BLOB"),
        ("varchar(255)", "VARCHAR(255)"),
        ("DECIMAL(10, 2)", "DECIMAL(10, 2)"),
        ("double  precision", "DOUBLE  PRECISION"),
        ("DATETIME", "DATETIME"),
        ("", ""),
    ],
)
def test_known_types_with_or_without_a_size_are_accepted(client, db, declared, stored):
    response = client.put(f"/api/dbs/{db}/tables/t/columns/extra", json={"sqliteDataType": declared})
    assert response.status_code == 201, response.text
    assert response.json()["sqliteDataType"] == stored


def test_a_column_keeps_its_unusual_type_through_a_rename(client, db):
    response = client.patch(f"/api/dbs/{db}/tables/t/columns/odd", json={"name": "renamed"})
    assert response.status_code == 200, response.text
    assert '"renamed" NOTATYPE' in schema(client, db) or "renamed NOTATYPE" in schema(client, db)
    # ... and re-sending that same type with another change is not refused either
    response = client.patch(
        f"/api/dbs/{db}/tables/t/columns/renamed", json={"sqliteDataType": "notatype", "isNonNull": False}
    )
    assert response.status_code == 200, response.text


def test_a_unique_column_whose_default_would_repeat_is_refused_and_nothing_changes(client, db):
    sql(client, db, "INSERT INTO t(label) VALUES ('b')")
    before = schema(client, db)
    response = client.put(
        f"/api/dbs/{db}/tables/t/columns/extra", json={"sqliteDataType": "INTEGER", "isUnique": True, "default": 0}
    )
    assert response.status_code == 422, response.text
    assert "UNIQUE constraint failed" in response.json()["errors"][0]
    assert schema(client, db) == before
