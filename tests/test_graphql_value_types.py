"""Every value comes back: WITHOUT ROWID tables, STRICT tables' ANY columns, untyped columns (docs/graphql.md)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import create_db, sql
from tests.test_graphql import gql

WITHOUT_ROWID = """
CREATE TABLE w (k TEXT PRIMARY KEY, i INTEGER, t TEXT, b BLOB, r REAL) WITHOUT ROWID;
INSERT INTO w VALUES ('a 1', 7, 'hello', x'00ff', 1.5), ('b', NULL, NULL, NULL, NULL);
CREATE TABLE n (id INTEGER PRIMARY KEY, t TEXT NOT NULL, b BLOB) WITHOUT ROWID;
INSERT INTO n VALUES (3, 'three', x'cafe');
CREATE TABLE pair (x TEXT, y INTEGER, b BLOB, PRIMARY KEY (x, y)) WITHOUT ROWID;
INSERT INTO pair VALUES ('p', 1, x'01'), ('p', 2, NULL);
"""


@pytest.fixture
def db(client):
    return create_db(client, WITHOUT_ROWID, name="norowid")


def url(db, table, column, key, value):
    return json.dumps(
        {"url": f"/api/dbs/{db}/tables/{table}/columns/{column}/files/{key}/{value}"}, separators=(",", ":")
    )


def test_without_rowid_cells_come_back(client, db):
    assert gql(client, db, "{ w { k i t b r } n { id t b } }") == {
        "data": {
            "w": [
                {"k": "a 1", "i": 7, "t": "hello", "b": url(db, "w", "b", "k", "a%201"), "r": 1.5},
                {"k": "b", "i": None, "t": None, "b": None, "r": None},
            ],
            "n": [{"id": 3, "t": "three", "b": url(db, "n", "b", "id", "3")}],
        }
    }
    # The URL of a WITHOUT ROWID table's file names its primary key, and gives the file.
    for cell, content in ((url(db, "w", "b", "k", "a%201"), b"\x00\xff"), (url(db, "n", "b", "id", "3"), b"\xca\xfe")):
        response = client.get(json.loads(cell)["url"])
        assert response.status_code == 200, response.text
        assert response.content == content


def test_without_rowid_by_pk_insert_update_delete(client, db):
    assert gql(client, db, '{ w_by_pk(k: "a 1") { k i t b r } }') == {
        "data": {"w_by_pk": {"k": "a 1", "i": 7, "t": "hello", "b": url(db, "w", "b", "k", "a%201"), "r": 1.5}}
    }
    inserted = gql(
        client,
        db,
        'mutation { insert_w(objects: [{k: "c", i: 9, t: "new", r: 2.5}]) { affected_rows returning { k i t b r } } }',
    )
    assert inserted == {
        "data": {"insert_w": {"affected_rows": 1, "returning": [{"k": "c", "i": 9, "t": "new", "b": None, "r": 2.5}]}}
    }
    updated = gql(
        client, db, 'mutation { update_w_by_pk(k: "a 1", _set: {t: "changed", r: 0.25}) { returning { k t b r } } }'
    )
    assert updated == {
        "data": {
            "update_w_by_pk": {
                "returning": {"k": "a 1", "t": "changed", "b": url(db, "w", "b", "k", "a%201"), "r": 0.25}
            }
        }
    }
    deleted = gql(client, db, 'mutation { delete_w_by_pk(k: "a 1") { affected_rows returning { k t b i } } }')
    assert deleted == {
        "data": {
            "delete_w_by_pk": {
                "affected_rows": 1,
                "returning": {"k": "a 1", "t": "changed", "b": url(db, "w", "b", "k", "a%201"), "i": 7},
            }
        }
    }
    assert sql(client, db, "SELECT k, i, t, r FROM w ORDER BY k").json()["rows"] == [
        {"k": "b", "i": None, "t": None, "r": None},
        {"k": "c", "i": 9, "t": "new", "r": 2.5},
    ]
    changed = gql(client, db, 'mutation { update_n_by_pk(id: 3, _set: {t: "drei"}) { returning { id t b } } }')
    assert changed == {
        "data": {"update_n_by_pk": {"returning": {"id": 3, "t": "drei", "b": url(db, "n", "b", "id", "3")}}}
    }


def test_a_file_without_a_one_column_key_is_that_cells_error(client, db):
    """A composite-key WITHOUT ROWID table: the file route cannot address the row, and the cell says so."""
    result = gql(client, db, "{ pair { x y b } }")
    assert result["data"] == {"pair": [{"x": "p", "y": 1, "b": None}, {"x": "p", "y": 2, "b": None}]}
    assert [(e["message"], e["path"]) for e in result["errors"]] == [
        (
            "The file in column 'b' has no URL: 'pair' has neither a rowid nor a one-column primary key to address "
            "its rows by. Read the cell with POST /dbs/:dbId/sql",
            ["pair", 0, "b"],
        )
    ]


ANY_VALUES = """
CREATE TABLE s (id INTEGER PRIMARY KEY, a ANY, z ANY NOT NULL) STRICT;
INSERT INTO s (a, z) VALUES ('text', 1), (42, 'x'), (1.5, 2.5), (x'00ff', x'01'), (NULL, '');
CREATE TABLE u (id INTEGER PRIMARY KEY, a);
INSERT INTO u (a) VALUES ('text'), (42), (1.5), (x'00ff'), (NULL);
CREATE VIEW uv AS SELECT id, a, 1 AS one FROM u;
"""


def test_any_and_untyped_columns_give_every_value(client):
    """ANY (STRICT) and untyped columns are String fields, as AirGQL types untyped columns: text as
    it is, integers and reals as their text, a BLOB as its file URL, NULL as null."""
    db = create_db(client, ANY_VALUES, name="anyvalues")
    expected = ["text", "42", "1.5", None, None]
    result = gql(client, db, "{ s { id a z } u { id a } }")
    assert "errors" not in result, result
    rows = result["data"]
    assert [r["a"] for r in rows["s"]] == [*expected[:3], url(db, "s", "a", "rowid", "4"), None]
    assert [r["z"] for r in rows["s"]] == ["1", "x", "2.5", url(db, "s", "z", "rowid", "4"), ""]
    assert [r["a"] for r in rows["u"]] == [*expected[:3], url(db, "u", "a", "rowid", "4"), None]
    assert client.get(json.loads(rows["s"][3]["a"])["url"]).content == b"\x00\xff"
    # A view's rows have no key: text and numbers come back, a BLOB is that cell's error.
    view = gql(client, db, "{ uv { id a one } }")
    assert [r["a"] for r in view["data"]["uv"]] == [*expected[:3], None, None]
    assert [r["one"] for r in view["data"]["uv"]] == ["1"] * 5  # an expression: no declared type
    assert [e["path"] for e in view["errors"]] == [["uv", 3, "a"]]
    assert view["errors"][0]["message"].startswith("The file in column 'a' has no URL: 'uv' is a view")


def test_any_columns_are_written_as_strings_and_filtered(client):
    db = create_db(client, ANY_VALUES, name="anywrite")
    inserted = gql(client, db, 'mutation { insert_s(objects: [{a: "77", z: "free text"}]) { returning { id a z } } }')
    assert inserted == {"data": {"insert_s": {"returning": [{"id": 6, "a": "77", "z": "free text"}]}}}
    # A STRICT ANY column keeps what it is given: the text "77" stays text.
    assert sql(client, db, "SELECT typeof(a) AS t FROM s WHERE id = 6").json()["rows"] == [{"t": "text"}]
    assert gql(client, db, '{ s(where: {a: {_eq: "text"}}) { id } }') == {"data": {"s": [{"id": 1}]}}
    # Without affinity, the text "42" is not the integer 42; LIKE compares text and finds both.
    sql(client, db, "INSERT INTO s (id, a, z) VALUES (7, '42', 1)")
    assert gql(client, db, '{ e: s(where: {a: {_eq: "42"}}) { id } l: s(where: {a: {_like: "42"}}) { id } }') == {
        "data": {"e": [{"id": 7}], "l": [{"id": 2}, {"id": 7}]}
    }
    assert gql(client, db, '{ u(where: {a: {_like: "4%"}}) { id } }') == {"data": {"u": [{"id": 2}]}}


def test_the_schema_types_any_as_string(client):
    db = create_db(client, ANY_VALUES, name="anyschema")
    result = gql(client, db, '{ __type(name: "s_row") { fields { name type { kind name ofType { name } } } } }')
    fields = {f["name"]: f["type"] for f in result["data"]["__type"]["fields"]}
    assert fields["a"] == {"kind": "SCALAR", "name": "String", "ofType": None}
    assert fields["z"] == {"kind": "NON_NULL", "name": None, "ofType": {"name": "String"}}
