"""GraphQL conformance (docs/graphql.md): exact JSON for queries, filters, mutations, modes, errors."""

from __future__ import annotations

import json

import pytest
from graphql import get_introspection_query

from airsequel.core.graphql.engine import GraphQLEngine
from airsequel.core.graphql.names import encode_name
from airsequel.core.graphql.schema import Mode
from tests.helpers import create_db, sql

SCHEMA = """
CREATE TABLE users (
  name TEXT,
  email TEXT NOT NULL UNIQUE,
  created_utc TEXT NOT NULL
);
CREATE TABLE songs (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  user_email TEXT REFERENCES users(email),
  plays INTEGER,
  rating REAL,
  is_hit BOOLEAN NOT NULL DEFAULT 0,
  cover BLOB,
  note
);
CREATE VIEW hits AS SELECT title FROM songs WHERE is_hit;
CREATE TABLE pairs (a TEXT, b INTEGER, v TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE TABLE "name with-special$chars" ("1st col" TEXT, "XXtrap" INTEGER, "__dunder" TEXT);
INSERT INTO users VALUES ('John', 'john@example.com', '2021-01-01'), ('Eve', 'eve@example.com', '2021-02-02'), (NULL, 'nobody@example.com', '2021-03-03');
INSERT INTO songs (title, user_email, plays, rating, is_hit, cover, note)
  VALUES ('Alpha', 'john@example.com', 10, 4.5, 1, x'00ff', 7),
         ('Beta', 'john@example.com', NULL, NULL, 0, NULL, 'n'),
         ('Gamma', 'eve@example.com', 3000000000, 1.0, 2, NULL, NULL);
INSERT INTO pairs VALUES ('x', 1, 'one'), ('x', 2, 'two');
INSERT INTO "name with-special$chars" VALUES ('first', 1, 'd');
"""


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA, name="music")


def gql(client, db_id, query, variables=None, path=None, headers=None):
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    response = client.post(path or f"/dbs/{db_id}/graphql", json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def test_name_encoding_matches_the_spec():
    assert encode_name("name with-special$chars") == "nameXX0withXXDspecialXX4chars"
    assert encode_name("1FileFormat") == "XXZ1FileFormat"
    assert encode_name("id_with_ümläutß") == "id_with_XXaaapmmlXXaaaoeutXXaaanp"
    assert encode_name("XXtrap") == "XXXXXXtrap"
    assert encode_name("__dunder") == "XXRXXRdunder"


def test_list_query_selects_requested_columns_in_rowid_order(client, db):
    assert gql(client, db, "{ users { name email } }") == {
        "data": {
            "users": [
                {"name": "John", "email": "john@example.com"},
                {"name": "Eve", "email": "eve@example.com"},
                {"name": None, "email": "nobody@example.com"},
            ]
        }
    }


def test_rowid_pseudo_column_and_by_pk(client, db):
    assert gql(client, db, "{ users_by_pk(rowid: 2) { rowid name } }") == {
        "data": {"users_by_pk": {"rowid": 2, "name": "Eve"}}
    }
    assert gql(client, db, "{ users_by_pk(rowid: 99) { name } }") == {"data": {"users_by_pk": None}}
    assert gql(client, db, "{ songs_by_pk(id: 2) { title } }") == {"data": {"songs_by_pk": {"title": "Beta"}}}
    assert gql(client, db, '{ pairs_by_pk(a: "x", b: 2) { v } }') == {"data": {"pairs_by_pk": {"v": "two"}}}


def test_types_booleans_floats_untyped_and_blobs(client, db):
    readonly_id = client.post(f"/api/dbs/{db}/readonly-id").json()["readonlyId"]
    result = gql(client, db, "{ songs(limit: 2) { title rating is_hit note cover } }")
    assert result == {
        "data": {
            "songs": [
                {
                    "title": "Alpha",
                    "rating": 4.5,
                    "is_hit": True,
                    "note": "7",
                    "cover": f'{{"url":"/api/dbs/{db}/tables/songs/columns/cover/files/rowid/1"}}',
                },
                {"title": "Beta", "rating": None, "is_hit": False, "note": "n", "cover": None},
            ]
        }
    }
    # The link a BLOB cell gives is the path its caller came by: the read-only link only for its holders.
    url = json.loads(result["data"]["songs"][0]["cover"])["url"]
    assert client.get(url).status_code == 200
    via_link = client.post(f"/readonly/{readonly_id}/graphql", json={"query": "{ songs(limit: 1) { cover } }"}).json()
    assert via_link == {
        "data": {"songs": [{"cover": f'{{"url":"/readonly/{readonly_id}/tables/songs/columns/cover/files/rowid/1"}}'}]}
    }


def test_special_names_are_encoded_and_sql_uses_real_names(client, db):
    result = gql(client, db, "{ nameXX0withXXDspecialXX4chars { XXZ1stXX0col XXXXXXtrap XXRXXRdunder } }")
    assert result == {
        "data": {"nameXX0withXXDspecialXX4chars": [{"XXZ1stXX0col": "first", "XXXXXXtrap": 1, "XXRXXRdunder": "d"}]}
    }


def test_views_have_list_queries_only(client, db):
    assert gql(client, db, "{ hits { title } }") == {"data": {"hits": [{"title": "Alpha"}, {"title": "Gamma"}]}}
    names = [
        f["name"] for f in gql(client, db, '{ __type(name: "Query") { fields { name } } }')["data"]["__type"]["fields"]
    ]
    assert "hits" in names and "hits_by_pk" not in names
    mutation_names = [
        f["name"]
        for f in gql(client, db, '{ __type(name: "Mutation") { fields { name } } }')["data"]["__type"]["fields"]
    ]
    assert "insert_hits" not in mutation_names and "insert_songs" in mutation_names


def test_query_fields_list_all_lists_first(client, db):
    names = [
        f["name"] for f in gql(client, db, '{ __type(name: "Query") { fields { name } } }')["data"]["__type"]["fields"]
    ]
    assert names[:5] == ["users", "songs", "hits", "pairs", "nameXX0withXXDspecialXX4chars"]
    assert names[5:9] == ["users_by_pk", "songs_by_pk", "pairs_by_pk", "nameXX0withXXDspecialXX4chars_by_pk"]


@pytest.mark.parametrize(
    "where, titles",
    [
        ("{plays: {_eq: 10}}", ["Alpha"]),
        ("{plays: {_eq: null}}", ["Beta"]),
        ("{plays: {_neq: 10}}", ["Beta", "Gamma"]),
        ("{plays: {_gt: 10}}", ["Gamma"]),
        ("{plays: {_gte: 10}}", ["Alpha", "Gamma"]),
        ("{rating: {_lt: 4.5}}", ["Gamma"]),
        ("{rating: {_lte: 4.5}}", ["Alpha", "Gamma"]),
        ('{title: {_like: "%a"}}', ["Alpha", "Beta", "Gamma"]),
        ('{title: {_like: "a%"}}', []),
        ('{title: {_ilike: "a%"}}', ["Alpha"]),
        ("{id: {_in: [1, 3]}}", ["Alpha", "Gamma"]),
        ("{id: {_in: []}}", []),
        ("{plays: {_nin: [10]}}", ["Beta", "Gamma"]),
        ("{is_hit: {_eq: true}}", ["Alpha", "Gamma"]),
        ("{is_hit: {_eq: false}}", ["Beta"]),
        ("{is_hit: {_neq: false}}", ["Alpha", "Gamma"]),
        ('{title: {eq: "Beta"}}', ["Beta"]),
        ('{title: {_gte: "B"}, id: {_lt: 3}}', ["Beta"]),
    ],
)
def test_filter_operators_and_null_semantics(client, db, where, titles):
    result = gql(client, db, f"{{ songs(where: {where}) {{ title }} }}")
    assert result == {"data": {"songs": [{"title": t} for t in titles]}}


def test_filter_alias_and_ordering(client, db):
    assert gql(client, db, "{ songs(filter: {id: {_eq: 2}}) { id } }") == {"data": {"songs": [{"id": 2}]}}
    result = gql(client, db, "{ songs(order_by: [{is_hit: DESC}, {title: ASC}]) { title } }")
    assert result == {"data": {"songs": [{"title": "Gamma"}, {"title": "Alpha"}, {"title": "Beta"}]}}  # is_hit 2, 1, 0
    result = gql(client, db, "{ songs(order_by: [{id: desc}], limit: 1, offset: 1) { id } }")
    assert result == {"data": {"songs": [{"id": 2}]}}


@pytest.mark.parametrize(
    "arguments, message",
    [
        ("limit: -1", "limit must be positive"),
        ("limit: 1, offset: -1", "offset must be positive"),
        ("offset: 1", "cannot specify offset without also specifying a limit"),
        ("order_by: [{}]", "Order must not be empty"),
        ("where: {id: {}}", "Filter must not be empty"),
    ],
)
def test_argument_errors(client, db, arguments, message):
    result = gql(client, db, f"{{ songs({arguments}) {{ id }} }}")
    assert result["data"] is None
    assert result["errors"][0]["message"] == message
    assert result["errors"][0]["path"] == ["songs"]


def test_int_beyond_32_bits_is_a_field_error_with_its_path_and_the_rest_is_returned(client, db):
    result = gql(client, db, "{ songs { title plays } }")
    assert result["data"] == {
        "songs": [
            {"title": "Alpha", "plays": 10},
            {"title": "Beta", "plays": None},
            {"title": "Gamma", "plays": None},
        ]
    }
    assert result["errors"] == [
        {
            "message": "Integer 3000000000 does not fit GraphQL's 32-bit Int: read this cell with POST /dbs/:dbId/sql, "
            "or keep such numbers in a TEXT column",
            "locations": [{"line": 1, "column": 17}],
            "path": ["songs", 2, "plays"],
        }
    ]


def test_aliases_fragments_variables_and_directives(client, db):
    query = """
    query Q($min: Int!, $withEmail: Boolean!) {
      first: songs(where: {id: {_gte: $min}}, limit: 1) { ...T }
      users(limit: 1) { name email @include(if: $withEmail) __typename }
    }
    fragment T on songs_row { id title }
    """
    assert gql(client, db, query, {"min": 2, "withEmail": False}) == {
        "data": {
            "first": [{"id": 2, "title": "Beta"}],
            "users": [{"name": "John", "__typename": "users_row"}],
        }
    }


def test_compiled_and_graphql_core_paths_return_identical_json(services):
    record = services.hosting.create("paths", query=SCHEMA)
    engine = GraphQLEngine(services.hosting)
    queries = [
        "{ users { rowid name email } songs(order_by: [{title: DESC}]) { id title rating is_hit note cover } }",
        "{ a: songs(where: {plays: {_neq: 10}}, limit: 5) { t: title users_by_user_email { name } } }",
        "{ users { name songs_by_user_email { title } } pairs { a b v } }",
        '{ pairs_by_pk(a: "x", b: 1) { v __typename } songs_aggregate(where: {is_hit: {_eq: true}}) { count } }',
    ]
    for query in queries:
        compiled = engine.execute(record, Mode.READ_ONLY, query)
        assert "errors" not in compiled
        generated = engine.schema_for(record, Mode.READ_ONLY)
        with engine._connection(record, generated, Mode.READ_ONLY, f"/api/dbs/{record.id}", write=False) as ctx:
            document = engine._document(engine._cached(record, Mode.READ_ONLY), query)
            fallback = engine._execute_with_graphql_core(generated, document, ctx, None, None)
        assert compiled == fallback


def test_relationships_in_both_directions(client, db):
    result = gql(
        client,
        db,
        "{ users(limit: 2) { name songs_by_user_email { title } } songs(limit: 1) { title users_by_user_email { email } } }",
    )
    assert result == {
        "data": {
            "users": [
                {"name": "John", "songs_by_user_email": [{"title": "Alpha"}, {"title": "Beta"}]},
                {"name": "Eve", "songs_by_user_email": [{"title": "Gamma"}]},
            ],
            "songs": [{"title": "Alpha", "users_by_user_email": {"email": "john@example.com"}}],
        }
    }


def test_aggregate_count(client, db):
    assert gql(client, db, "{ songs_aggregate(where: {plays: {_eq: null}}) { count } }") == {
        "data": {"songs_aggregate": {"count": 1}}
    }


def test_insert_with_returning_and_defaults(client, db):
    result = gql(
        client,
        db,
        'mutation { insert_songs(objects: [{title: "Delta", is_hit: true}, {title: "Eps"}]) { affected_rows returning { id title is_hit } } }',
    )
    assert result == {
        "data": {
            "insert_songs": {
                "affected_rows": 2,
                "returning": [
                    {"id": 4, "title": "Delta", "is_hit": True},
                    {"id": 5, "title": "Eps", "is_hit": False},
                ],
            }
        }
    }
    assert sql(client, db, "SELECT is_hit FROM songs WHERE id = 4").json()["rows"] == [{"is_hit": 1}]
    # A key column without a default is a required field of the insert input (as in AirGQL's schema).
    result = gql(client, db, "mutation { insert_pairs(objects: [{}]) { affected_rows } }")
    assert result["data"] is None
    assert [e["message"] for e in result["errors"]] == [
        "Field 'pairs_insert_input.a' of required type 'String!' was not provided.",
    ]  # b, an INTEGER key column, may be left out (AirGQL's rule); SQLite then refuses the row
    assert sql(client, db, "SELECT count(*) AS n FROM pairs").json()["rows"] == [{"n": 2}]


def test_upsert(client, db):
    query = """mutation { insert_users(
        objects: [{email: "john@example.com", name: "Johnny", created_utc: "x"}],
        on_conflict: [{constraint: [email], update_columns: [name]}]
      ) { affected_rows returning { email name created_utc } } }"""
    assert gql(client, db, query) == {
        "data": {
            "insert_users": {
                "affected_rows": 1,
                "returning": [
                    {"email": "john@example.com", "name": "Johnny", "created_utc": "2021-01-01"},
                ],
            }
        }
    }
    bad = gql(
        client,
        db,
        query.replace('name: "Johnny", ', ""),
    )
    assert "update_columns must be among the inserted columns" in bad["errors"][0]["message"]


def test_update_and_delete_with_where_and_by_pk(client, db):
    result = gql(
        client,
        db,
        "mutation { update_songs(where: {id: {_lte: 2}}, _set: {rating: 2.5}) { affected_rows returning { id rating } } }",
    )
    assert result == {
        "data": {
            "update_songs": {"affected_rows": 2, "returning": [{"id": 1, "rating": 2.5}, {"id": 2, "rating": 2.5}]}
        }
    }
    result = gql(
        client, db, 'mutation { update_songs_by_pk(id: 3, _set: {title: "G"}) { affected_rows returning { title } } }'
    )
    assert result == {"data": {"update_songs_by_pk": {"affected_rows": 1, "returning": {"title": "G"}}}}
    result = gql(client, db, "mutation { delete_songs_by_pk(id: 99) { affected_rows returning { id } } }")
    assert result == {"data": {"delete_songs_by_pk": {"affected_rows": 0, "returning": None}}}
    result = gql(
        client, db, 'mutation { delete_songs(where: {title: {_eq: "G"}}) { affected_rows returning { id title } } }'
    )
    assert result == {"data": {"delete_songs": {"affected_rows": 1, "returning": [{"id": 3, "title": "G"}]}}}
    for refused in [
        "mutation { delete_songs(where: {}) { affected_rows } }",
        'mutation { update_songs(_set: {title: "x"}) { affected_rows } }',
    ]:
        assert gql(client, db, refused)["errors"][0]["message"] == "Filter must not be empty"
    assert sql(client, db, "SELECT count(*) AS n FROM songs").json()["rows"] == [{"n": 2}]


def test_constraint_failure_writes_nothing_of_that_field(client, db):
    result = gql(
        client,
        db,
        """mutation {
      ok: insert_users(objects: [{email: "new@example.com", created_utc: "x"}]) { affected_rows }
      bad: insert_songs(objects: [{title: "x", user_email: "missing@example.com"}]) { affected_rows }
    }""",
    )
    assert result["data"] is None
    assert "FOREIGN KEY constraint failed" in result["errors"][0]["message"]
    assert result["errors"][0]["path"] == ["bad"]
    assert sql(client, db, "SELECT count(*) AS n FROM songs WHERE title = 'x'").json()["rows"] == [{"n": 0}]
    # Each root field is its own transaction: the first insert stands.
    assert sql(client, db, "SELECT count(*) AS n FROM users WHERE email = 'new@example.com'").json()["rows"] == [
        {"n": 1}
    ]


def test_more_than_ten_thousand_rows_needs_a_limit(client):
    db = create_db(
        client,
        "CREATE TABLE n(x INTEGER); INSERT INTO n WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 10050) SELECT i FROM c;",
    )
    result = gql(client, db, "{ n { x } }")
    assert result["data"] is None
    assert "10050 rows" in result["errors"][0]["message"] and "limit" in result["errors"][0]["message"]
    assert len(gql(client, db, "{ n(limit: 20000) { x } }")["data"]["n"]) == 10000


def test_schema_change_through_sql_shows_up_in_the_next_request(client, db):
    assert "errors" in gql(client, db, "{ later { a } }")
    sql(client, db, "CREATE TABLE later(a TEXT); INSERT INTO later VALUES ('new')")
    assert gql(client, db, "{ later { a } }") == {"data": {"later": [{"a": "new"}]}}


def test_graphiql_introspection_query_succeeds_and_only_skip_include_are_advertised(client, db):
    result = gql(client, db, get_introspection_query())
    assert "errors" not in result
    directives = {d["name"] for d in result["data"]["__schema"]["directives"]}
    assert directives == {"skip", "include"}
    comparison = next(t for t in result["data"]["__schema"]["types"] if t["name"] == "IntComparison")
    assert {f["name"] for f in comparison["inputFields"]} == {
        "_eq",
        "_neq",
        "_gt",
        "_gte",
        "_lt",
        "_lte",
        "_like",
        "_ilike",
        "_in",
        "_nin",
        "_is_null",
    }


def test_access_modes(client, db):
    readonly_id = client.post(f"/api/dbs/{db}/readonly-id").json()["readonlyId"]
    path = f"/readonly/{readonly_id}/graphql"
    assert gql(client, None, "{ users(limit: 1) { name } }", path=path) == {"data": {"users": [{"name": "John"}]}}
    assert gql(client, None, "{ __schema { mutationType { name } } }", path=path) == {
        "data": {"__schema": {"mutationType": None}}
    }
    refused = gql(client, None, "mutation { delete_songs(where: {id: {_gt: 0}}) { affected_rows } }", path=path)
    assert refused["data"] is None and "mutation" in refused["errors"][0]["message"]

    def token(permission):
        return client.post(
            "/api/tokens",
            json={"name": permission, "team_name": "alice", "permissions": [{"db_id": db, "name": permission}]},
        ).json()["body"]

    read = {"Authorization": f"Bearer {token('read')}"}
    assert (
        gql(client, db, "{ __schema { mutationType { name } } }", headers=read)["data"]["__schema"]["mutationType"]
        is None
    )
    insert = {"Authorization": f"Bearer {token('insert')}"}
    assert (
        gql(client, db, "{ users { name } }", headers=insert)["errors"][0]["message"]
        == "Cannot read field using the provided token"
    )
    inserted = gql(
        client,
        db,
        'mutation { insert_users(objects: [{email: "form@example.com", created_utc: "now"}]) { affected_rows } }',
        headers=insert,
    )
    assert inserted == {"data": {"insert_users": {"affected_rows": 1}}}
    no_returning = gql(
        client,
        db,
        'mutation { insert_users(objects: [{email: "f2@example.com", created_utc: "now"}]) { returning { name } } }',
        headers=insert,
    )
    assert "returning" in no_returning["errors"][0]["message"]
    fields = gql(client, db, '{ __type(name: "Mutation") { fields { name } } }', headers=insert)["data"]["__type"][
        "fields"
    ]
    assert {f["name"] for f in fields} == {
        "insert_users",
        "insert_songs",
        "insert_pairs",
        "insert_nameXX0withXXDspecialXX4chars",
    }


def test_unknown_database_and_bad_requests(client, db):
    response = client.post("/dbs/01unknown000000000000000000/graphql", json={"query": "{ x }"})
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": 'Database "01unknown000000000000000000" does not exist'}]}
    assert client.post(f"/dbs/{db}/graphql", json={"variables": {}}).status_code == 400
    result = gql(client, db, "{ nope }")
    assert result["data"] is None and "Cannot query field 'nope'" in result["errors"][0]["message"]
    assert gql(client, db, "{ users { ")["errors"][0]["message"].startswith("Syntax Error")


def test_hostile_strings_stay_values(client, db):
    hostile = "x'); DROP TABLE songs; --"
    result = gql(client, db, "query($t: String!) { songs(where: {title: {_eq: $t}}) { id } }", {"t": hostile})
    assert result == {"data": {"songs": []}}
    result = gql(
        client,
        db,
        "mutation($t: String!) { insert_songs(objects: [{title: $t}]) { returning { title } } }",
        {"t": hostile},
    )
    assert result["data"]["insert_songs"]["returning"] == [{"title": hostile}]
    assert sql(client, db, "SELECT count(*) AS n FROM songs").json()["rows"] == [{"n": 4}]


def test_playground_and_default_query(client, db):
    page = client.get(f"/dbs/{db}/graphql")
    assert page.status_code == 200 and "graphiql.min.js" in page.text and "unpkg" not in page.text
    assert client.get("/static/vendor/graphiql-3.8.3/graphiql.min.js").status_code == 200
    default = client.get(f"/dbs/{db}/playground/default-query")
    assert default.text.startswith("{\n  users(limit: 10) {")
    assert "errors" not in gql(client, db, default.text)


def test_hostile_table_and_column_names_are_only_ever_quoted(client):
    db = create_db(
        client,
        """CREATE TABLE "t""; DROP TABLE keep; --" ("c"") OR 1=1; --" TEXT); CREATE TABLE keep(a);
                              INSERT INTO "t""; DROP TABLE keep; --" VALUES ('safe'); INSERT INTO keep VALUES (1);""",
    )
    table = encode_name('t"; DROP TABLE keep; --')
    column = encode_name('c") OR 1=1; --')
    assert gql(client, db, f'{{ {table}(where: {{{column}: {{_eq: "safe"}}}}) {{ {column} }} }}') == {
        "data": {table: [{column: "safe"}]}
    }
    result = gql(
        client,
        db,
        f'mutation {{ update_{table}(where: {{{column}: {{_eq: "safe"}}}}, _set: {{{column}: "x"}}) {{ affected_rows }} }}',
    )
    assert result == {"data": {f"update_{table}": {"affected_rows": 1}}}
    assert sql(client, db, "SELECT count(*) AS n FROM keep").json()["rows"] == [{"n": 1}]


def test_the_playground_answers_at_airsequels_graphiql_url_too(client, db):
    page = client.get(f"/dbs/{db}/graphiql")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert f"/dbs/{db}/graphql" in page.text  # the form posts to the GraphQL endpoint, not to /graphiql
    assert client.get("/dbs/01nosuchdatabase0000000000/graphiql").status_code == 404
