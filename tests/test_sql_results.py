"""POST /sql results (issue 17): every column in order with unique keys, every statement of a script,
errors of the SQL as 200 in the endpoint's shape, refusals with their status in the same shape."""

from __future__ import annotations

import sqlite3

import pytest

from airsequel.core.sql.runner import row_keys
from tests.helpers import bearer, create_db, sql

MUSIC = (
    "CREATE TABLE artists(id INTEGER PRIMARY KEY, name TEXT);"
    " CREATE TABLE albums(id INTEGER PRIMARY KEY, title TEXT, artist_id INTEGER REFERENCES artists(id));"
    " INSERT INTO artists VALUES (7, 'Nina Simone'), (9, 'Miles Davis');"
    " INSERT INTO albums VALUES (1, 'Pastel Blues', 7), (2, 'Kind of Blue', 9)"
)
SHAPE = {"rows", "columns", "affectedTables", "errors", "runtimeSeconds", "numChanges"}


def albums_count(client, db: str) -> int:
    return sql(client, db, "SELECT count(*) AS n FROM albums").json()["rows"][0]["n"]


@pytest.mark.parametrize(
    ("names", "keys"),
    [
        (["id", "title"], ["id", "title"]),
        (["id", "id"], ["id", "id:1"]),
        (["id", "id", "id"], ["id", "id:1", "id:2"]),
        (["id", "id", "id:1"], ["id", "id:2", "id:1"]),  # a column really named id:1 keeps its name
        (["id", "id:1", "id", "id"], ["id", "id:1", "id:2", "id:3"]),
        (["a", "b", "a", "b", "a"], ["a", "b", "a:1", "b:1", "a:2"]),
        (["", ""], ["", ":1"]),
    ],
)
def test_row_keys_are_unique_and_keep_first_names(names, keys):
    assert row_keys(names) == keys


def test_a_join_returns_both_ids_in_order(client):
    db = create_db(client, MUSIC)
    answer = sql(
        client,
        db,
        "SELECT a.id, ar.id, a.title, ar.name FROM albums a JOIN artists ar ON ar.id = a.artist_id ORDER BY a.id",
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["columns"] == ["id", "id:1", "title", "name"]
    assert body["rows"] == [
        {"id": 1, "id:1": 7, "title": "Pastel Blues", "name": "Nina Simone"},
        {"id": 2, "id:1": 9, "title": "Kind of Blue", "name": "Miles Davis"},
    ]
    # The JSON text holds the keys in column order (clients that decode in order rely on it).
    assert '{"id":1,"id:1":7,"title":"Pastel Blues","name":"Nina Simone"}' in answer.text
    assert "statements" not in body  # one statement: nothing beside the top level


def test_columns_are_given_without_rows_too(client):
    db = create_db(client, MUSIC)
    body = sql(client, db, "SELECT title AS b, id AS a, id FROM albums WHERE 0").json()
    assert body["rows"] == [] and body["columns"] == ["b", "a", "id"]
    assert sql(client, db, "INSERT INTO artists(name) VALUES ('x')").json()["columns"] == []


def test_a_script_returns_every_statements_result(client):
    db = create_db(client, MUSIC)
    body = sql(
        client,
        db,
        "SELECT id, title FROM albums ORDER BY id;"
        " INSERT INTO albums(title, artist_id) VALUES ('Sketches of Spain', 9), ('Wild Is the Wind', 7);"
        " UPDATE artists SET name = upper(name) WHERE id = 9 RETURNING id, name;"
        " CREATE TABLE notes(n)",
    ).json()
    assert body["errors"] == []
    assert [entry["columns"] for entry in body["statements"]] == [["id", "title"], [], ["id", "name"], []]
    assert [entry["numChanges"] for entry in body["statements"]] == [0, 2, 1, 0]
    assert body["statements"][0]["rows"] == [{"id": 1, "title": "Pastel Blues"}, {"id": 2, "title": "Kind of Blue"}]
    assert body["statements"][1]["rows"] == []
    # The top level stays the last statement that returns rows (here the UPDATE ... RETURNING).
    assert body["rows"] == body["statements"][2]["rows"] == [{"id": 9, "name": "MILES DAVIS"}]
    assert body["columns"] == ["id", "name"]
    assert body["numChanges"] == 3
    assert sorted(body["affectedTables"]) == ["albums", "artists", "notes"]
    assert albums_count(client, db) == 4


def test_truncation_is_marked_on_the_statement_that_was_cut(client):
    db = create_db(client, MUSIC)
    client.app.state.services.live.apply({"max_rows": 1})
    body = sql(client, db, "SELECT id FROM albums ORDER BY id; SELECT 1 AS one").json()
    assert body["statements"][0] == {"rows": [{"id": 1}], "columns": ["id"], "numChanges": 0, "truncated": True}
    assert "truncated" not in body["statements"][1]
    assert body["rows"] == [{"one": 1}] and body["truncated"] is True
    assert body["warnings"] == ["Only the first 1 rows are returned: add a LIMIT or page with OFFSET"]


def test_every_statements_rows_count_against_the_response_size(client):
    db = create_db(client, MUSIC)
    one = "SELECT printf('%.3000c', 'x') AS big"
    client.app.state.services.live.apply({"max_response_bytes": 5000})
    assert sql(client, db, one).status_code == 200
    answer = sql(client, db, f"{one}; {one}")
    assert answer.status_code == 413, answer.text
    assert answer.json()["errors"] == [
        "The result is larger than the limit of 5000 bytes: add a LIMIT or select fewer columns"
    ]
    assert set(answer.json()) == SHAPE and answer.json()["rows"] == []


def test_an_error_of_the_sql_is_200_with_errors_and_writes_nothing(client):
    db = create_db(client, MUSIC)
    answer = sql(client, db, "INSERT INTO albums(title) VALUES ('half'); SELECT * FROM nowhere")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == SHAPE
    assert body["errors"] == ["no such table: nowhere"]
    assert (body["rows"], body["columns"], body["affectedTables"], body["numChanges"]) == ([], [], [], 0)
    assert albums_count(client, db) == 2  # the INSERT before it was rolled back
    for query, message in [
        ("SELEC 1", 'near "SELEC": syntax error'),
        ("INSERT INTO albums(id, title) VALUES (1, 'again')", "UNIQUE constraint failed: albums.id"),
        ("ATTACH 'x.db' AS x", "ATTACH, DETACH and VACUUM INTO are not allowed"),
        ("  -- nothing\n", "The query is empty"),
    ]:
        answer = sql(client, db, query)
        assert answer.status_code == 200, (query, answer.text)
        assert set(answer.json()) == SHAPE
        assert message in answer.json()["errors"][0], (query, answer.text)
    answer = client.post(f"/dbs/{db}/sql", json={"query": "SELECT ?; SELECT 2", "params": [1]})
    assert answer.status_code == 200
    assert answer.json()["errors"] == ["Parameters can only be used with a single statement"]
    assert albums_count(client, db) == 2


def test_malformed_requests_are_400_in_the_sql_shape(client):
    db = create_db(client, MUSIC)
    for body, message in [
        ({}, "The field 'query' is required"),
        ({"query": 7}, "The field 'query' must be a string"),
        ({"query": "SELECT ?", "params": 5}, "params must be a list (for ?) or an object (for :name)"),
        ({"query": "SELECT ?", "params": [[1]]}, "params[0] must be a string, number, boolean or null"),
    ]:
        answer = client.post(f"/dbs/{db}/sql", json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert set(answer.json()) == SHAPE and answer.json()["errors"] == [message]
    answer = client.post(f"/dbs/{db}/sql", content=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and set(answer.json()) == SHAPE and answer.json()["errors"]
    assert albums_count(client, db) == 2


def test_unknown_database_and_access_refusals_keep_their_status_in_the_sql_shape(client, anonymous):
    db = create_db(client, MUSIC)
    unknown = client.post("/dbs/doesnotexist/sql", json={"query": "SELECT 1"})
    assert unknown.status_code == 404 and set(unknown.json()) == SHAPE
    assert unknown.json()["errors"] == ["Database 'doesnotexist' does not exist"]
    saved = dict(anonymous.headers)
    anonymous.headers.pop("Authorization")
    try:
        private = anonymous.post(f"/dbs/{db}/sql", json={"query": "SELECT * FROM albums"})
    finally:
        anonymous.headers.update(saved)
    assert private.status_code == 404 and set(private.json()) == SHAPE and private.json()["rows"] == []


def token_for(client, db: str, permission: str) -> dict[str, str]:
    response = client.post(
        "/api/tokens",
        json={"name": permission, "team_name": "alice", "permissions": [{"db_id": db, "name": permission}]},
    )
    assert response.status_code == 201, response.text
    return bearer(response.json()["body"])


def test_a_read_token_that_writes_is_403_in_the_sql_shape(client):
    db = create_db(client, MUSIC)
    answer = client.post(f"/dbs/{db}/sql", headers=token_for(client, db, "read"), json={"query": "DELETE FROM albums"})
    assert answer.status_code == 403 and set(answer.json()) == SHAPE
    assert answer.json()["errors"] == ["This access is read-only: the query would write to the database"]
    assert albums_count(client, db) == 2


def test_an_insert_token_is_told_what_it_can_do_and_learns_nothing(client):
    db = create_db(client, MUSIC)
    insert = token_for(client, db, "insert")
    for query in ["SELECT * FROM albums", "INSERT INTO albums(title) VALUES ('x')", "SELEC"]:
        answer = client.post(f"/dbs/{db}/sql", headers=insert, json={"query": query})
        assert answer.status_code == 403, answer.text
        body = answer.json()
        assert set(body) == SHAPE and body["rows"] == [] and body["columns"] == []
        assert body["errors"] == [
            "This access allows inserts only: POST /sql, downloads and every other read need a read or write"
            f" permission; insert rows with the GraphQL insert mutations (POST /dbs/{db}/graphql)"
        ]
        assert "Pastel" not in answer.text and "syntax" not in answer.text
    # What the message points to works with the same token.
    inserted = client.post(
        f"/dbs/{db}/graphql",
        headers=insert,
        json={"query": 'mutation { insert_albums(objects: [{title: "Blue", artist_id: 7}]) { affected_rows } }'},
    )
    assert inserted.json() == {"data": {"insert_albums": {"affected_rows": 1}}}, inserted.text
    assert albums_count(client, db) == 3


def test_a_file_locked_by_another_process_is_not_an_error_of_the_sql(client):
    """Waiting for a lock someone else holds is the server's trouble, not the caller's SQL: never a 200."""
    db = create_db(client, MUSIC)
    services = client.app.state.services
    other = sqlite3.connect(services.hosting.file_path(services.hosting.get(db)), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        answer = sql(client, db, "INSERT INTO albums(title) VALUES ('locked out')")
    finally:
        other.execute("ROLLBACK")
        other.close()
    # The writer waits nine tenths of the time limit (1 s here) for the lock, then says so: 503, not 504.
    assert answer.status_code == 503, answer.text
    assert answer.json()["errors"] == [
        "The database is busy: another write to it did not finish in time. Retry in a moment"
    ]
    assert set(answer.json()) == SHAPE and answer.json()["errors"]
    assert albums_count(client, db) == 2
