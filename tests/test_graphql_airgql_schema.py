"""Our generated schema holds AirGQL's: a client generated from AirGQL's introspection works unchanged.

tests/fixtures/airgql/ holds AirGQL's own test material: the introspection query GraphiQL sends and
the result AirGQL gives for its test fixture (the two tables below, from AirGQL's tests/Spec.hs).
Every type, field, argument, input field, enum value and directive there must exist in ours with
the same type (kind, name and ofType chain, nullability included); what we add beside them is fine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphql import parse, validate

from airsequel.core.graphql.engine import GraphQLEngine
from airsequel.core.graphql.schema import Mode
from tests.helpers import create_db

FIXTURES = Path(__file__).parent / "fixtures" / "airgql"

# AirGQL's tests/Spec.hs, createUsersTableQuery and createSongsTableQuery.
AIRGQL_FIXTURE = """
CREATE TABLE IF NOT EXISTS "users" (
  "name"              TEXT,
  "email"             TEXT NOT NULL UNIQUE,
  "created_utc"       TEXT NOT NULL,
  "number_of_logins"  INTEGER,
  "progress"          REAL,
  PRIMARY KEY("email")
);
CREATE TABLE IF NOT EXISTS "songs" (
  "name"              TEXT NOT NULL,
  "duration_seconds"  INTEGER NOT NULL
);
"""


def type_ref(ref: dict[str, Any] | None) -> str:
    """A type reference as GraphQL writes it: [users_row!]!"""
    if ref is None:
        return "?"
    if ref["kind"] == "NON_NULL":
        return type_ref(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + type_ref(ref["ofType"]) + "]"
    return str(ref["name"])


def differences(theirs: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """Everything of `theirs` (an introspected __schema) that `ours` lacks or types differently."""
    found: list[str] = []
    for root in ("queryType", "mutationType", "subscriptionType"):
        # A root type theirs lacks is an addition (our Subscription type: live queries), not a difference.
        if theirs[root] is not None and theirs[root].get("name") != (ours[root] or {}).get("name"):
            found.append(f"{root}: theirs {theirs[root]}, ours {ours[root]}")
    our_types = {t["name"]: t for t in ours["types"]}
    for their_type in theirs["types"]:
        name = their_type["name"]
        if name.startswith("__"):
            continue  # introspection's own types: graphql-core's, by the specification
        our_type = our_types.get(name)
        if our_type is None:
            found.append(f"type {name} ({their_type['kind']}) is missing")
            continue
        if our_type["kind"] != their_type["kind"]:
            found.append(f"type {name} is {our_type['kind']}, theirs {their_type['kind']}")
            continue
        found.extend(_field_differences(name, their_type.get("fields"), our_type.get("fields")))
        found.extend(_input_differences(name, their_type.get("inputFields"), our_type.get("inputFields")))
        our_values = {v["name"] for v in our_type.get("enumValues") or []}
        for value in their_type.get("enumValues") or []:
            if value["name"] not in our_values:
                found.append(f"enum value {name}.{value['name']} is missing")
    our_directives = {d["name"]: d for d in ours["directives"]}
    for directive in theirs["directives"]:
        ours_directive = our_directives.get(directive["name"])
        if ours_directive is None:
            found.append(f"directive @{directive['name']} is missing")
            continue
        if set(directive["locations"]) - set(ours_directive["locations"]):
            found.append(f"directive @{directive['name']} lacks locations of theirs {directive['locations']}")
        found.extend(_input_differences(f"@{directive['name']}", directive["args"], ours_directive["args"]))
    return found


def _field_differences(owner: str, theirs: list[Any] | None, ours: list[Any] | None) -> list[str]:
    found: list[str] = []
    by_name = {f["name"]: f for f in ours or []}
    for field in theirs or []:
        where = f"{owner}.{field['name']}"
        mine = by_name.get(field["name"])
        if mine is None:
            found.append(f"field {where} is missing")
            continue
        if type_ref(mine["type"]) != type_ref(field["type"]):
            found.append(f"field {where} is {type_ref(mine['type'])}, theirs {type_ref(field['type'])}")
        found.extend(_input_differences(where, field["args"], mine["args"], what="argument"))
        # An argument we require that they do not have would break their clients' requests.
        theirs_args = {a["name"] for a in field["args"]}
        for argument in mine["args"]:
            if argument["name"] not in theirs_args and argument["type"]["kind"] == "NON_NULL":
                found.append(f"argument {where}({argument['name']}) is required here, unknown to theirs")
    return found


def _input_differences(owner: str, theirs: list[Any] | None, ours: list[Any] | None, what: str = "input") -> list[str]:
    found: list[str] = []
    by_name = {v["name"]: v for v in ours or []}
    for value in theirs or []:
        where = f"{owner}({value['name']})" if what == "argument" else f"{owner}.{value['name']}"
        mine = by_name.get(value["name"])
        if mine is None:
            found.append(f"{what} {where} is missing")
        elif type_ref(mine["type"]) != type_ref(value["type"]):
            found.append(f"{what} {where} is {type_ref(mine['type'])}, theirs {type_ref(value['type'])}")
    if what == "input" and ours is not None and theirs is not None:
        theirs_names = {v["name"] for v in theirs}
        for value in ours:
            if value["name"] not in theirs_names and value["type"]["kind"] == "NON_NULL":
                found.append(f"input {owner}.{value['name']} is required here, unknown to theirs")
    return found


def test_our_introspection_holds_airgqls(client):
    db = create_db(client, AIRGQL_FIXTURE, name="airgql_fixture")
    query = (FIXTURES / "introspection_query.gql").read_text()
    response = client.post(f"/dbs/{db}/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    result = response.json()
    assert "errors" not in result, result["errors"]
    theirs = json.loads((FIXTURES / "introspection_result.json").read_text())["data"]["__schema"]
    assert differences(theirs, result["data"]["__schema"]) == []


def test_the_comparison_reports_every_difference():
    """The check itself can fail: a schema with a few changes is told apart, each change reported."""
    theirs = json.loads((FIXTURES / "introspection_result.json").read_text())["data"]["__schema"]
    ours = json.loads(json.dumps(theirs))
    types = {t["name"]: t for t in ours["types"]}
    types["IntComparison"]["inputFields"] = [f for f in types["IntComparison"]["inputFields"] if f["name"] != "_in"]
    update = next(f for f in types["Mutation"]["fields"] if f["name"] == "update_users")
    next(a for a in update["args"] if a["name"] == "_set")["type"] = {
        "kind": "NON_NULL",
        "name": None,
        "ofType": {"kind": "INPUT_OBJECT", "name": "users_set_input", "ofType": None},
    }
    ours["types"] = [t for t in ours["types"] if t["name"] != "songs_column"]
    assert sorted(differences(theirs, ours)) == [
        "argument Mutation.update_users(_set) is users_set_input!, theirs users_set_input",
        "input IntComparison._in is missing",
        "type songs_column (ENUM) is missing",
    ]


def test_airgqls_readme_requests_on_its_example_database(client):
    """AirGQL's readme serves tests/example.sqlite and sends these two requests; uploaded here, they work."""
    content = (FIXTURES / "example.sqlite").read_bytes()
    uploaded = client.post("/dbs", files={"file": ("example.sqlite", content, "application/octet-stream")})
    assert uploaded.status_code == 201, uploaded.text
    db = uploaded.json()["id"]
    query = "query {\n    songs(limit: 2) {\n      id\n      title\n    }\n  }"
    response = client.post(f"/dbs/{db}/graphql", json={"query": query})
    assert response.json() == {
        "data": {"songs": [{"id": 1, "title": "Come Together"}, {"id": 2, "title": "Jailhouse Rock"}]}
    }
    mutation = 'mutation {\n    insert_songs(objects: [{ title: "New Song" }]) {\n      returning {\n        id\n        title\n      }\n    }\n  }'
    response = client.post(f"/dbs/{db}/graphql", json={"query": mutation})
    assert response.json() == {"data": {"insert_songs": {"returning": [{"id": 6, "title": "New Song"}]}}}
    # Its schema gives songs and artists the same shapes AirGQL's rules give (rowid beside the INTEGER
    # PRIMARY KEY, NOT NULL title required on insert, the foreign key as a relationship).
    shape = client.post(
        f"/dbs/{db}/graphql",
        json={"query": '{ __type(name: "songs_insert_input") { inputFields { name type { kind name } } } }'},
    ).json()["data"]["__type"]["inputFields"]
    assert {f["name"]: (f["type"]["kind"], f["type"]["name"]) for f in shape} == {
        "rowid": ("SCALAR", "Int"),
        "id": ("SCALAR", "Int"),
        "title": ("NON_NULL", None),
        "artist_id": ("SCALAR", "Int"),
        "year": ("SCALAR", "Int"),
    }
    related = client.post(
        f"/dbs/{db}/graphql", json={"query": "{ songs_by_pk(id: 3) { artists_by_artist_id { name } } }"}
    )
    assert related.json() == {"data": {"songs_by_pk": {"artists_by_artist_id": {"name": "Lady Gaga"}}}}


def test_airgqls_own_test_documents_validate_against_our_schema(services):
    """Every GraphQL document of AirGQL's tests that addresses its fixture's tables (queries, mutations,
    `filter`/`set`/`eq` spellings, variables, fragments) validates against the schema built here."""
    record = services.hosting.create("airgql_fixture", query=AIRGQL_FIXTURE)
    schema = GraphQLEngine(services.hosting).schema_for(record, Mode.READ_WRITE).schema
    documents = json.loads((FIXTURES / "documents.json").read_text())["documents"]
    assert len(documents) >= 40
    refused = {
        d["source"]: [e.message for e in errors]
        for d in documents
        if (errors := validate(schema, parse(d["document"])))
    }
    assert refused == {}


def test_airgqls_boolean_filter_requests_and_answers(client):
    """AirGQL's QuerySpec "filter_eq_boolean": its table, its rows, its two requests, its exact answers."""
    db = create_db(
        client,
        """CREATE TABLE IF NOT EXISTS "users" ("name" TEXT, "is_admin" BOOLEAN);
        INSERT INTO USERS (name, is_admin) VALUES ('John', TRUE), ('Eve', FALSE), ('Anna', NULL);""",
        name="filter_eq_boolean",
    )
    for query, answer in (
        ("{\n  users (filter: {is_admin: {eq: false}}) {\n    name\n  }\n}", b'{"data":{"users":[{"name":"Eve"}]}}'),
        ("{\n  users (filter: {is_admin: {eq: null}}) {\n    name\n  }\n}", b'{"data":{"users":[{"name":"Anna"}]}}'),
    ):
        response = client.post(f"/dbs/{db}/graphql", json={"query": query})
        assert response.status_code == 200
        assert response.content == answer
