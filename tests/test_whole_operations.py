"""Each write is one core operation: the change, its metadata and its audit entry land together or
not at all. A failure is forced where the control plane's side is written, after the hosted file
changed inside its transaction; nothing of the change may remain."""

from __future__ import annotations

import sqlite3

import pytest

from tests.helpers import create_db, sql


class Boom(Exception):
    pass


@pytest.fixture
def audited(client):
    db = create_db(client, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); INSERT INTO t(b) VALUES ('x')")
    assert client.patch(f"/api/dbs/{db}/settings", json={"auditing": True}).status_code == 200
    return db


def fail_audit_writes(monkeypatch, client):
    def refuse(*args, **kwargs):
        raise Boom("the control plane failed")

    monkeypatch.setattr(client.app.state.services.audit, "write", refuse)


def file_of(client, db):
    services = client.app.state.services
    return sqlite3.connect(services.hosting.file_path(services.hosting.get(db)))


def entries(client, db):
    return client.get(f"/api/dbs/{db}/audit").json()["entries"]


def test_a_new_table_lands_with_its_description_and_audit_entry(client, audited):
    created = client.put(
        f"/api/dbs/{audited}/tables/notes",
        json={"columns": [{"name": "body", "sqliteDataType": "TEXT"}], "description": "jottings"},
    )
    assert created.status_code == 201 and created.json()["description"] == "jottings"
    assert entries(client, audited)[0]["statement"] == "create table notes"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/tables/notes", {"columns": [{"name": "body", "sqliteDataType": "TEXT"}], "description": "d"}),
        ("PATCH", "/tables/t", {"name": "renamed", "description": "d"}),
        ("DELETE", "/tables/t", None),
        ("PUT", "/tables/t/columns/c", {"sqliteDataType": "TEXT", "description": "d"}),
        ("PATCH", "/tables/t/columns/b", {"name": "bee", "description": "d"}),
        ("DELETE", "/tables/t/columns/b", None),
    ],
)
def test_a_schema_edit_whose_audit_entry_fails_changes_nothing(client, audited, monkeypatch, method, path, body):
    before_schema = file_of(client, audited).execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    before_entries = entries(client, audited)
    fail_audit_writes(monkeypatch, client)
    answer = client.request(method, f"/api/dbs/{audited}{path}", json=body)
    assert answer.status_code == 500
    assert answer.json() == {"errors": ["Internal server error: the request was not completed"]}
    monkeypatch.undo()
    assert file_of(client, audited).execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before_schema
    assert entries(client, audited) == before_entries
    table = client.get(f"/api/dbs/{audited}/tables/t").json()
    assert table["description"] is None and all(c["description"] is None for c in table["columns"])


def test_sql_and_file_cells_whose_audit_entry_fails_write_nothing(client, audited, monkeypatch):
    fail_audit_writes(monkeypatch, client)
    assert sql(client, audited, "INSERT INTO t(b) VALUES ('y')").status_code == 500
    assert client.put(f"/api/dbs/{audited}/tables/t/columns/b/files/a/1", content=b"\x00\x01").status_code == 500
    monkeypatch.undo()
    assert file_of(client, audited).execute("SELECT b FROM t").fetchall() == [("x",)]
    assert entries(client, audited) == []


def test_graphql_mutations_and_replacements_are_audited_by_the_core(client, audited, tmp_path):
    mutation = 'mutation { insert_t(objects: [{b: "z"}]) { affected_rows } }'
    assert client.post(f"/dbs/{audited}/graphql", json={"query": mutation}).json()["data"]["insert_t"] == {
        "affected_rows": 1
    }
    entry = entries(client, audited)[0]
    assert entry["kind"] == "graphql" and entry["affectedTables"] == ["t"], entry
    replacement = tmp_path / "new.sqlite"
    conn = sqlite3.connect(replacement)
    conn.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)")
    conn.commit()
    conn.close()
    replaced = client.put(f"/dbs/{audited}", files={"file": ("new.sqlite", replacement.read_bytes())})
    assert replaced.status_code == 200, replaced.text
    assert entries(client, audited)[0]["kind"] == "replace"


def test_a_graphql_mutation_whose_audit_entry_fails_writes_nothing(client, audited, monkeypatch):
    fail_audit_writes(monkeypatch, client)
    mutation = 'mutation { a: insert_t(objects: [{b: "y"}]) { affected_rows } b: insert_t(objects: [{b: "w"}]) { affected_rows } }'
    assert client.post(f"/dbs/{audited}/graphql", json={"query": mutation}).status_code == 500
    monkeypatch.undo()
    assert file_of(client, audited).execute("SELECT b FROM t").fetchall() == [("x",)]
    assert entries(client, audited) == []


def test_describing_a_column_that_does_not_exist_is_404_and_stores_nothing(client, audited):
    answer = client.patch(f"/api/dbs/{audited}/tables/t/columns/nocol", json={"description": "ghost"})
    assert answer.status_code == 404
    assert answer.json() == {"errors": ["Column 'nocol' does not exist in 't'"]}
    control = client.app.state.services.control
    assert control.query("SELECT * FROM column_meta") == []
    described = client.patch(f"/api/dbs/{audited}/tables/t/columns/b", json={"description": "bee"})
    assert described.status_code == 200
    assert [c["description"] for c in client.get(f"/api/dbs/{audited}/tables/t").json()["columns"]] == [None, "bee"]
