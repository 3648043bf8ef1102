"""GraphQL requests exactly as Airsequel's documentation and AirGQL write them (docs/graphql.md)."""

from __future__ import annotations

import pytest

from tests.helpers import create_db, sql
from tests.test_graphql import gql

USERS = """
CREATE TABLE users (
  name TEXT,
  email TEXT NOT NULL UNIQUE,
  created_utc TEXT NOT NULL,
  number_of_logins INTEGER,
  progress REAL,
  PRIMARY KEY (email)
);
INSERT INTO users VALUES
  ('John', 'john2@example.com', '2021-01-01', 3, 0.5),
  ('Eve', 'eve@example.com', '2021-02-02', NULL, NULL),
  (NULL, 'nobody@example.com', '2021-03-03', 7, 1.0);
"""


@pytest.fixture
def users(client):
    return create_db(client, USERS, name="users")


def rows(client, db):
    return sql(client, db, "SELECT name, email FROM users ORDER BY rowid").json()["rows"]


def test_update_users_example_of_airsequels_docs(client, users):
    query = """
      mutation UpdateUsers {
        update_users(filter: {email: {eq: "john2@example.com"}}, set: {name: "John Doe"}) {
          affected_rows
        }
      }
    """
    assert gql(client, users, query) == {"data": {"update_users": {"affected_rows": 1}}}
    assert rows(client, users)[0] == {"name": "John Doe", "email": "john2@example.com"}


def test_set_on_update_by_pk(client, users):
    query = 'mutation { update_users_by_pk(email: "eve@example.com", set: {name: "Eve B"}) { affected_rows } }'
    assert gql(client, users, query) == {"data": {"update_users_by_pk": {"affected_rows": 1}}}
    assert rows(client, users)[1] == {"name": "Eve B", "email": "eve@example.com"}
    query = 'mutation { update_users_by_pk(email: "eve@example.com", _set: {name: "Eve C"}) { affected_rows } }'
    assert gql(client, users, query) == {"data": {"update_users_by_pk": {"affected_rows": 1}}}
    assert rows(client, users)[1] == {"name": "Eve C", "email": "eve@example.com"}


@pytest.mark.parametrize(
    "field",
    [
        'update_users(where: {email: {_eq: "eve@example.com"}}, _set: {name: "A"}, set: {name: "B"})',
        'update_users_by_pk(email: "eve@example.com", _set: {name: "A"}, set: {name: "B"})',
    ],
)
def test_set_and_underscore_set_together_are_refused(client, users, field):
    before = rows(client, users)
    result = gql(client, users, f"mutation {{ {field} {{ affected_rows }} }}")
    assert result["data"] is None
    assert [e["message"] for e in result["errors"]] == [
        "Give the columns to set in _set or in set (its AirGQL spelling), not both"
    ]
    assert rows(client, users) == before


def test_update_without_columns_to_set_is_refused(client, users):
    """`_set` is optional in the schema (as in AirGQL's), but an update must set something."""
    before = rows(client, users)
    result = gql(client, users, 'mutation { update_users(where: {email: {_eq: "eve@example.com"}}) { affected_rows } }')
    assert result["data"] is None
    assert [e["message"] for e in result["errors"]] == ["_set must name at least one column"]
    assert rows(client, users) == before


def test_set_spelling_when_a_key_column_is_named_set(client):
    db = create_db(client, "CREATE TABLE t (\"set\" TEXT PRIMARY KEY, v TEXT); INSERT INTO t VALUES ('k', 'a');")
    query = 'mutation { update_t_by_pk(set: "k", set_: {v: "b"}) { affected_rows returning { v } } }'
    assert gql(client, db, query) == {"data": {"update_t_by_pk": {"affected_rows": 1, "returning": {"v": "b"}}}}


def test_in_and_nin_take_null_items(client, users):
    """`_in`/`_nin` are lists of nullable items, as AirGQL types them: a null matches empty cells."""
    q = "{ users(where: {number_of_logins: {%s: %s}}, order_by: [{email: ASC}]) { email } }"
    assert gql(client, users, q % ("_in", "[3, null]"))["data"]["users"] == [
        {"email": "eve@example.com"},
        {"email": "john2@example.com"},
    ]
    assert gql(client, users, q % ("_nin", "[3, null]"))["data"]["users"] == [{"email": "nobody@example.com"}]
    assert gql(client, users, q % ("_nin", "[3]"))["data"]["users"] == [
        {"email": "eve@example.com"},
        {"email": "nobody@example.com"},
    ]
    assert gql(client, users, q % ("_in", "[null]"))["data"]["users"] == [{"email": "eve@example.com"}]


def test_like_takes_the_columns_scalar(client, users):
    """On IntComparison and FloatComparison, `_like` takes an Int or a Float (AirGQL's types), matched as text."""
    assert gql(client, users, "{ users(where: {number_of_logins: {_like: 7}}) { email } }") == {
        "data": {"users": [{"email": "nobody@example.com"}]}
    }
    assert gql(client, users, "{ users(where: {progress: {_ilike: 0.5}}) { email } }") == {
        "data": {"users": [{"email": "john2@example.com"}]}
    }
    result = gql(client, users, '{ users(where: {number_of_logins: {_like: "7%"}}) { email } }')
    assert result["data"] is None
    assert result["errors"][0]["message"] == 'Int cannot represent non-integer value: "7%"'


def test_rowid_in_insert_set_and_column_enum(client):
    db = create_db(client, "CREATE TABLE songs (name TEXT NOT NULL, duration_seconds INTEGER NOT NULL);")
    inserted = gql(
        client,
        db,
        'mutation { insert_songs(objects: [{rowid: 40, name: "A", duration_seconds: 1}]) { returning { rowid name } } }',
    )
    assert inserted == {"data": {"insert_songs": {"returning": [{"rowid": 40, "name": "A"}]}}}
    moved = gql(client, db, "mutation { update_songs_by_pk(rowid: 40, _set: {rowid: 41}) { returning { rowid } } }")
    assert moved == {"data": {"update_songs_by_pk": {"returning": {"rowid": 41}}}}
    upsert = gql(
        client,
        db,
        """mutation { insert_songs(objects: [{rowid: 41, name: "B", duration_seconds: 2}],
             on_conflict: [{constraint: [rowid], update_columns: [name]}]) { affected_rows } }""",
    )
    assert upsert == {"data": {"insert_songs": {"affected_rows": 1}}}
    assert sql(client, db, "SELECT rowid AS r, name FROM songs").json()["rows"] == [{"r": 41, "name": "B"}]
