"""TEXT that is not UTF-8 (SQLite stores any bytes as TEXT) comes back as its bytes, like a BLOB, wherever rows
are handed on as data; before, /sql failed the statement, records were a 500 and a CSV export came out empty."""

from __future__ import annotations

import base64

from starlette.testclient import TestClient

from tests.helpers import create_db

RAW = b"\xffa"  # not UTF-8
AS_JSON = {"$base64": base64.b64encode(RAW).decode()}


def _database(client: TestClient) -> str:
    return create_db(
        client,
        "CREATE TABLE t(id INTEGER PRIMARY KEY, x TEXT, y TEXT);"
        "INSERT INTO t(x, y) VALUES (CAST(X'FF61' AS TEXT), 'fine'), ('plain', 'also fine')",
    )


def test_sql_gives_the_bytes_and_every_other_cell(client: TestClient) -> None:
    db = _database(client)
    answer = client.post(f"/dbs/{db}/sql", json={"query": "SELECT x, y, typeof(x) AS t FROM t ORDER BY id"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["errors"] == []
    assert body["rows"] == [
        {"x": AS_JSON, "y": "fine", "t": "text"},
        {"x": "plain", "y": "also fine", "t": "text"},
    ]
    # What SQLite holds is unchanged: the same bytes, still TEXT.
    check = client.post(f"/dbs/{db}/sql", json={"query": "SELECT hex(x) AS h FROM t WHERE id = 1"})
    assert check.json()["rows"] == [{"h": RAW.hex().upper()}]


def test_records_and_csv_export_carry_it_as_base64(client: TestClient) -> None:
    db = _database(client)
    records = client.get(f"/api/dbs/{db}/tables/t/records")
    assert records.status_code == 200, records.text
    assert records.json()["records"][0]["x"] == AS_JSON
    exported = client.get(f"/api/dbs/{db}/tables/t/export?format=csv")
    assert exported.status_code == 200
    lines = exported.text.splitlines()
    assert lines[0].split(",")[:3] == ["id", "x", "y"]
    assert lines[1].split(",")[:3] == ["1", base64.b64encode(RAW).decode(), "fine"]
    assert lines[2].split(",")[:3] == ["2", "plain", "also fine"]


def test_graphql_fails_only_that_cell(client: TestClient) -> None:
    db = _database(client)
    answer = client.post(f"/dbs/{db}/graphql", json={"query": "{ t(order_by: {id: asc}) { x y } }"})
    body = answer.json()
    assert body["data"]["t"] == [{"x": None, "y": "fine"}, {"x": "plain", "y": "also fine"}]
    assert [error["path"] for error in body["errors"]] == [["t", 0, "x"]]
