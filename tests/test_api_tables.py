"""The table and column API: quoting, rebuilds that keep data and foreign keys, schema lock,
export, search, file cells, and refusals that leave everything as it was."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from tests.helpers import create_db, sql

WEIRD = 'Bücher "quoted" & spaced'


@pytest.fixture
def db(client):
    return create_db(
        client,
        """
        CREATE TABLE authors(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE books(id INTEGER PRIMARY KEY, title TEXT, author_id INTEGER REFERENCES authors(id) ON DELETE CASCADE, pages TEXT);
        CREATE INDEX books_title ON books(title);
        CREATE TRIGGER books_touch AFTER UPDATE ON books BEGIN SELECT 1; END;
        INSERT INTO authors(name) VALUES ('Le Guin'), ('Lem');
        INSERT INTO books(title, author_id, pages) VALUES ('Earthsea', 1, '200'), ('Solaris', 2, '204'), ('Lathe', 1, NULL);
    """,
    )


def rows(client, db, query):
    response = sql(client, db, query)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_get_table_object(client, db):
    table = client.get(f"/api/dbs/{db}/tables/authors").json()
    assert {
        k: table[k]
        for k in ("name", "numberOfRows", "rowidColumnName", "tableType", "description", "maxCellLimitReached")
    } == {
        "name": "authors",
        "numberOfRows": 2,
        "rowidColumnName": "rowid",
        "tableType": "Table",
        "description": None,
        "maxCellLimitReached": False,
    }
    id_column, name_column = table["columns"]
    assert id_column["isPrimaryKey"] and id_column["isOmittable"] and id_column["gqlDataType"] == "Int"
    assert name_column == {
        "description": None,
        "gqlDataType": "String",
        "inputElement": "InputText",
        "isGenerated": False,
        "isNonNull": True,
        "isOmittable": False,
        "isPrimaryKey": False,
        "isUnique": True,
        "items": None,
        "name": "name",
        "sqliteDataType": "TEXT",
        "validations": None,
    }
    assert client.get(f"/api/dbs/{db}/tables/nope").status_code == 404


def test_create_rename_describe_move_and_drop_a_table_with_a_weird_name(client, db):
    response = client.put(
        f"/api/dbs/{db}/tables/{WEIRD}",
        json={
            "columns": [
                {"name": "id", "sqliteDataType": "INTEGER", "isPrimaryKey": True},
                {"name": 'naïve "col"', "sqliteDataType": "TEXT", "isNonNull": True, "default": "it's"},
            ],
            "description": "made without SQL",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "made without SQL"
    sql(client, db, f'INSERT INTO "{WEIRD.replace(chr(34), chr(34) * 2)}" (id) VALUES (1)')
    assert rows(client, db, f'SELECT * FROM "{WEIRD.replace(chr(34), chr(34) * 2)}"') == [
        {"id": 1, 'naïve "col"': "it's"}
    ]
    assert client.put(f"/api/dbs/{db}/tables/{WEIRD}", json={"columns": [{"name": "x"}]}).status_code == 409
    for refused in ("", "  ", "sqlite_mine", "SQLITE_x"):  # the names a new table may not have
        answer = client.patch(f"/api/dbs/{db}/tables/{WEIRD}", json={"name": refused})
        assert answer.status_code == 400 and "sqlite_" in answer.json()["errors"][0], refused
    assert client.get(f"/api/dbs/{db}/tables/{WEIRD}").status_code == 200
    assert client.patch(f"/api/dbs/{db}/tables/{WEIRD}", json={"name": "renamed", "after": None}).status_code == 200
    names = [t["name"] for t in client.get(f"/api/dbs/{db}").json()["tables"]]
    assert names == ["renamed", "authors", "books"]
    assert client.get(f"/api/dbs/{db}/tables/renamed").json()["description"] == "made without SQL"
    assert client.delete(f"/api/dbs/{db}/tables/renamed").status_code == 200
    assert client.get(f"/api/dbs/{db}/tables/renamed").status_code == 404
    schema = client.get(f"/api/dbs/{db}/schema").text
    assert "airsequel" not in schema.lower() and "description" not in schema.lower()


def test_add_columns_simple_and_with_a_rebuild(client, db):
    assert client.put(f"/api/dbs/{db}/tables/books/columns/isbn", json={"sqliteDataType": "TEXT"}).status_code == 201
    response = client.put(f"/api/dbs/{db}/tables/books/columns/code", json={"sqliteDataType": "TEXT", "isUnique": True})
    assert response.status_code == 201 and response.json()["isUnique"] is True
    assert [c["name"] for c in client.get(f"/api/dbs/{db}/tables/books").json()["columns"]] == [
        "id",
        "title",
        "author_id",
        "pages",
        "isbn",
        "code",
    ]
    assert rows(client, db, "SELECT title FROM books ORDER BY id") == [
        {"title": "Earthsea"},
        {"title": "Solaris"},
        {"title": "Lathe"},
    ]
    assert client.put(f"/api/dbs/{db}/tables/books/columns/title", json={}).status_code == 409


def test_type_change_rebuild_keeps_data_indexes_triggers_and_foreign_keys(client, db):
    response = client.patch(f"/api/dbs/{db}/tables/books/columns/pages", json={"sqliteDataType": "INTEGER"})
    assert response.status_code == 200, response.text
    assert rows(client, db, "SELECT pages, typeof(pages) AS t FROM books ORDER BY id") == [
        {"pages": 200, "t": "integer"},
        {"pages": 204, "t": "integer"},
        {"pages": None, "t": "null"},
    ]
    schema = client.get(f"/api/dbs/{db}/schema").text
    assert "CREATE INDEX books_title" in schema and "CREATE TRIGGER books_touch" in schema
    assert 'REFERENCES "authors" ("id") ON DELETE CASCADE' in schema
    sql(client, db, "DELETE FROM authors WHERE id = 1")  # the cascade still works
    assert rows(client, db, "SELECT title FROM books") == [{"title": "Solaris"}]
    assert rows(client, db, "SELECT count(*) AS n FROM pragma_foreign_key_check") == [{"n": 0}]


def test_changes_the_data_does_not_fit_are_refused_and_nothing_changes(client, db):
    before_schema = client.get(f"/api/dbs/{db}/schema").text
    before_rows = rows(client, db, "SELECT * FROM books ORDER BY id")
    for change, message in [
        ({"isNonNull": True}, "NOT NULL constraint failed: books.pages"),  # the table's name, not its rebuild copy's
        ({"sqliteDataType": "INTEGER"}, None),
    ]:
        column = "pages" if "isNonNull" in change else "title"
        response = client.patch(f"/api/dbs/{db}/tables/books/columns/{column}", json=change)
        assert response.status_code == 422, response.text
        if message:
            assert message in response.json()["errors"][0]
    sql(client, db, "INSERT INTO books(title) VALUES ('Earthsea')")
    assert client.patch(f"/api/dbs/{db}/tables/books/columns/title", json={"isUnique": True}).status_code == 422
    sql(client, db, "DELETE FROM books WHERE id = 4")
    assert client.get(f"/api/dbs/{db}/schema").text == before_schema
    assert rows(client, db, "SELECT * FROM books ORDER BY id") == before_rows


def test_rename_and_drop_columns(client, db):
    assert (
        client.patch(
            f"/api/dbs/{db}/tables/books/columns/title", json={"name": "book title", "description": "shown"}
        ).status_code
        == 200
    )
    assert rows(client, db, 'SELECT "book title" FROM books WHERE id = 1') == [{"book title": "Earthsea"}]
    assert 'books_title ON books("book title")' in client.get(f"/api/dbs/{db}/schema").text
    columns = client.get(f"/api/dbs/{db}/tables/books").json()["columns"]
    assert next(c for c in columns if c["name"] == "book title")["description"] == "shown"
    # A plain column drops with ALTER TABLE; a foreign-key column needs the rebuild.
    assert client.delete(f"/api/dbs/{db}/tables/books/columns/pages").status_code == 200
    assert client.delete(f"/api/dbs/{db}/tables/books/columns/author_id").status_code == 200
    assert [c["name"] for c in client.get(f"/api/dbs/{db}/tables/books").json()["columns"]] == ["id", "book title"]
    assert rows(client, db, "SELECT count(*) AS n FROM books") == [{"n": 3}]
    assert client.delete(f"/api/dbs/{db}/tables/books/columns/nope").status_code == 404


def test_schema_lock_refuses_every_schema_change_with_409(client, db):
    assert client.patch(f"/api/dbs/{db}/settings", json={"schemaLocked": True}).status_code == 200
    before = client.get(f"/api/dbs/{db}/schema").text
    attempts = [
        client.put(f"/api/dbs/{db}/tables/new", json={"columns": [{"name": "a"}]}),
        client.patch(f"/api/dbs/{db}/tables/books", json={"name": "tomes"}),
        client.delete(f"/api/dbs/{db}/tables/books"),
        client.put(f"/api/dbs/{db}/tables/books/columns/x", json={}),
        client.patch(f"/api/dbs/{db}/tables/books/columns/pages", json={"sqliteDataType": "INTEGER"}),
        client.delete(f"/api/dbs/{db}/tables/books/columns/pages"),
        sql(client, db, "CREATE TABLE sneaky(a)"),
        sql(client, db, "DROP TABLE books"),
    ]
    assert [a.status_code for a in attempts] == [409] * len(attempts)
    assert client.get(f"/api/dbs/{db}/schema").text == before
    assert sql(client, db, "INSERT INTO authors(name) VALUES ('data still ok')").status_code == 200
    client.patch(f"/api/dbs/{db}/settings", json={"schemaLocked": False})
    assert sql(client, db, "CREATE TABLE now_ok(a)").status_code == 200


def test_csv_export_and_search(client, db):
    sql(client, db, "UPDATE books SET pages = NULL WHERE id = 2")
    response = client.get(f"/api/dbs/{db}/tables/books/export")
    assert response.headers["content-type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(response.text)))
    assert parsed == [
        ["id", "title", "author_id", "pages"],
        ["1", "Earthsea", "1", "200"],
        ["2", "Solaris", "2", ""],
        ["3", "Lathe", "1", ""],
    ]
    found = client.get(f"/api/dbs/{db}/tables/books/search/ARTH").json()
    assert found["name"] == "books" and [r["title"] for r in found["rows"]] == ["Earthsea"]
    assert client.get(f"/api/dbs/{db}/tables/books/search/%25").json()["rows"] == []  # % is literal
    fts = create_db(
        client,
        "CREATE VIRTUAL TABLE docs USING fts5(body); INSERT INTO docs VALUES ('the quick brown fox'), ('lazy dog');",
    )
    assert [r["body"] for r in client.get(f"/api/dbs/{fts}/tables/docs/search/quick").json()["rows"]] == [
        "the quick brown fox"
    ]


def test_file_cells_round_trip_byte_exact(client, db):
    sql(client, db, "ALTER TABLE books ADD COLUMN cover BLOB")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    response = client.put(f"/api/dbs/{db}/tables/books/columns/cover/files/id/2", files={"file": ("c.png", png)})
    assert response.status_code == 200, response.text
    got = client.get(f"/api/dbs/{db}/tables/books/columns/cover/files/id/2")
    assert got.content == png and got.headers["content-type"] == "image/png"
    assert "books-cover-2.png" in got.headers["content-disposition"]
    readonly_id = client.post(f"/api/dbs/{db}/readonly-id").json()["readonlyId"]
    assert client.get(f"/readonly/{readonly_id}/tables/books/columns/cover/files/rowid/2").content == png
    assert client.get(f"/api/dbs/{db}/tables/books/columns/cover/files/id/99").status_code == 404
    assert (
        client.put(f"/api/dbs/{db}/tables/books/columns/cover/files/id/99", files={"file": ("c.png", png)}).status_code
        == 404
    )
    assert (
        client.put(f"/api/dbs/{db}/tables/books/columns/nope/files/id/2", files={"file": ("c.png", png)}).status_code
        == 404
    )
    assert (
        client.put(
            f'/api/dbs/{db}/tables/books/columns/cover/files/id"%20OR%201=1/2', files={"file": ("c.png", b"x")}
        ).status_code
        == 404
    )
    assert client.get(f"/api/dbs/{db}/tables/books/columns/cover/files/id/1").status_code == 404  # empty cell


def test_azimutt_schema(client, db):
    schema = client.get(f"/api/dbs/{db}/azimutt-schema").json()
    books = next(t for t in schema["tables"] if t["table"] == "books")
    assert books["primaryKey"]["columns"] == ["id"] and not books["view"]
    assert schema["relations"] == [
        {
            "name": "fk_books_author_id",
            "src": {"schema": "main", "table": "books", "columns": ["author_id"]},
            "ref": {"schema": "main", "table": "authors", "columns": ["id"]},
        }
    ]


EXPORT_MILLION = """
import sys, os, sqlite3
from pathlib import Path
from starlette.testclient import TestClient
from airsequel.config import Settings
from airsequel.http.app import create_app
data = Path(sys.argv[1])
settings = Settings.from_env(data_dir=data, secret_key="k")
with TestClient(create_app(settings)) as client:
    client.post("/api/users", json={"username": "big", "email_address": "big@example.org", "password": "password123"})
    token = client.post("/api/login", json={"username": "big", "password": "password123"}).json()["sessionToken"]
    client.headers["Authorization"] = "Bearer " + token
    db = client.post("/api/dbs", json={"name": "big", "query": "CREATE TABLE t(id INTEGER PRIMARY KEY, label TEXT)"}).json()["id"]
    record = client.app.state.services.hosting.get(db)
    conn = sqlite3.connect(client.app.state.services.hosting.file_path(record))
    conn.execute("INSERT INTO t(label) WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 1000000) SELECT printf('label-%d-xxxxxxxxxxxxxxxxxxxx', i) FROM c")
    conn.commit(); conn.close()
    def hwm():
        return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    before = hwm()
    lines = 0
    size = 0
    with client.stream("GET", f"/api/dbs/{db}/tables/t/export") as response:
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\\n")
            size += len(chunk)
    print(lines, size, (hwm() - before) // 1024)
"""


@pytest.mark.slow
def test_exporting_a_million_rows_streams_in_bounded_memory(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", EXPORT_MILLION, str(tmp_path / "data")], capture_output=True, text=True, check=True
    )
    lines, size, growth_mib = (int(x) for x in out.stdout.split())
    assert lines == 1_000_001 and size > 30_000_000
    assert growth_mib < 60, f"peak memory grew by {growth_mib} MiB while streaming {size} bytes"


def test_a_table_keeps_one_primary_key_through_column_edits(client):
    db = create_db(
        client,
        "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); INSERT INTO t(a) VALUES ('x');"
        "CREATE TABLE pair(x INTEGER, y INTEGER, PRIMARY KEY (x, y)); CREATE TABLE bare(a TEXT)",
    )
    schema = client.get(f"/api/dbs/{db}/schema").text
    refusals = [
        client.put(f"/api/dbs/{db}/tables/t/columns/c", json={"isPrimaryKey": True}),
        client.patch(f"/api/dbs/{db}/tables/t/columns/a", json={"isPrimaryKey": True}),
        client.patch(f"/api/dbs/{db}/tables/pair/columns/y", json={"isPrimaryKey": False}),
    ]
    for answer in refusals:
        assert answer.status_code == 409 and "change the key with SQL" in answer.json()["errors"][0], answer.text
    assert client.get(f"/api/dbs/{db}/schema").text == schema  # the rowid alias stays the key, nothing added
    assert rows(client, db, "SELECT * FROM t") == [{"id": 1, "a": "x"}]
    # a keyless table may get one; a one-column key may be dropped
    assert (
        client.put(
            f"/api/dbs/{db}/tables/bare/columns/k", json={"sqliteDataType": "INTEGER", "isPrimaryKey": True}
        ).status_code
        == 201
    )
    assert [c["name"] for c in client.get(f"/api/dbs/{db}/tables/bare").json()["columns"] if c["isPrimaryKey"]] == ["k"]
    assert client.patch(f"/api/dbs/{db}/tables/t/columns/id", json={"isPrimaryKey": False}).status_code == 200
    assert not any(c["isPrimaryKey"] for c in client.get(f"/api/dbs/{db}/tables/t").json()["columns"])


def test_a_file_cell_whose_key_holds_a_slash_is_reached_by_the_url_graphql_gives(client):
    db = create_db(client, "CREATE TABLE docs(path TEXT PRIMARY KEY, body BLOB) WITHOUT ROWID")
    assert sql(client, db, "INSERT INTO docs VALUES ('reports/2026/q4', x'00ff10')").json()["errors"] == []
    answer = client.post(f"/dbs/{db}/graphql", json={"query": "{ docs { path body } }"}).json()
    url = json.loads(answer["data"]["docs"][0]["body"])["url"]  # a BLOB cell is its URL, as JSON text
    assert "reports%2F2026%2Fq4" in url, url
    got = client.get(url)
    assert got.status_code == 200 and got.content == b"\x00\xff\x10"
    replaced = client.put(url, files={"file": ("b.bin", b"\x01\x02")})
    assert replaced.status_code == 200, replaced.text
    assert client.get(url).content == b"\x01\x02"
    assert sql(client, db, "SELECT hex(body) AS h FROM docs").json()["rows"] == [{"h": "0102"}]
