"""GraphQL filter operators beyond AirGQL's (docs/graphql.md, "Filters"): _glob, _regex/_iregex (RE2),
the JSON operators on text columns; invalid JSON in a cell, refusals, both execution paths."""

from __future__ import annotations

import time

import pytest

from airsequel.core.sql import regexp
from tests.helpers import create_db, sql
from tests.test_graphql_filters_logic import both_paths, gql

SCHEMA = """
CREATE TABLE docs (id INTEGER PRIMARY KEY, name TEXT, meta TEXT, raw, n INTEGER);
INSERT INTO docs VALUES
  (1, 'Alpha', '{"a": 1, "tags": ["x", "y"], "o": {"k": "v", "z": null}, "b": true}', '{"q": 1}', 1),
  (2, 'alphabet', '{"a": 2, "tags": ["y"], "with space": 1, "s": "1"}', '[1, 2, 3]', 2),
  (3, 'Beta', 'not json {', '"text"', 3),
  (4, 'beta-2', '[1, "two", 3.5]', NULL, 4),
  (5, NULL, NULL, 'x', 5),
  (6, 'Gamma', '{"a": 1.0, "tags": "x"}', 7, 6);
"""


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA, name="docs")


def ids(client, db, where, variables=None):
    if variables is not None:
        query = "query ($w: docs_filter) { docs(where: $w) { id } }"
    else:
        query = f"{{ docs(where: {where}) {{ id }} }}"
    return [row["id"] for row in both_paths(client, db, query, variables)["docs"]]


def test_glob_is_case_sensitive(client, db):
    assert ids(client, db, '{name: {_glob: "[AB]*"}}') == [1, 3]
    assert ids(client, db, '{name: {_glob: "*-?"}}') == [4]


def test_regex_and_iregex(client, db):
    assert regexp.available()
    assert ids(client, db, '{name: {_regex: "^[ab]"}}') == [2, 4]
    assert ids(client, db, '{name: {_iregex: "^a.*a$"}}') == [1]
    assert ids(client, db, '{name: {_regex: "-\\\\d$"}}') == [4]
    # Untyped cells: numbers match as their text.
    assert ids(client, db, '{raw: {_regex: "^7$"}}') == [6]


def test_a_pattern_that_backtracks_in_pythons_re_is_linear_in_re2(client, db):
    sql(client, db, "INSERT INTO docs (id, name) VALUES (7, ?)", ["a" * 100_000 + "!"])
    started = time.monotonic()
    assert ids(client, db, '{name: {_regex: "^(a+)+$"}}') == []
    assert time.monotonic() - started < 2
    # The same operator in POST /sql.
    response = sql(client, db, "SELECT id FROM docs WHERE name REGEXP '(a|aa)+!$'")
    assert response.status_code == 200 and response.json()["rows"] == [{"id": 7}]


def test_bad_and_long_patterns_are_refused(client, db):
    data = gql(client, db, '{ docs(where: {name: {_regex: "(unclosed"}}) { id } }')
    assert data["data"] is None and data["errors"][0]["message"].startswith("Invalid regular expression: missing )")
    data = gql(client, db, '{ docs(where: {name: {_regex: "%s"}}) { id } }' % ("a" * 1001))
    assert data["errors"][0]["message"] == "A regular expression may have at most 1000 characters"


def test_has_key_any_all(client, db):
    assert ids(client, db, '{meta: {_has_key: "tags"}}') == [1, 2, 6]
    assert ids(client, db, '{meta: {_has_key: "with space"}}') == [2]
    assert ids(client, db, '{meta: {_has_key: "k"}}') == []  # top level only
    assert ids(client, db, '{meta: {_has_keys_any: ["o", "s"]}}') == [1, 2]
    assert ids(client, db, '{meta: {_has_keys_all: ["a", "b"]}}') == [1]
    assert ids(client, db, '{raw: {_has_key: "q"}}') == [1]


def test_contains(client, db):
    assert ids(client, db, "{meta: {_contains: {a: 1}}}") == [1, 6]  # 1 and 1.0 are one JSON number
    assert ids(client, db, '{meta: {_contains: {tags: ["y"]}}}') == [1, 2]
    assert ids(client, db, '{meta: {_contains: {tags: ["x", "y"], b: true}}}') == [1]
    assert ids(client, db, '{meta: {_contains: {tags: ["x"]}}}') == [1]  # "x" is not an array holding "x"
    assert ids(client, db, '{meta: {_contains: {o: {k: "v"}}}}') == [1]
    assert ids(client, db, "{meta: {_contains: {o: {z: null}}}}") == [1]
    assert ids(client, db, "{meta: {_contains: {s: 1}}}") == []  # the text "1" is not the number 1
    assert ids(client, db, '{meta: {_contains: [3.5, "two"]}}') == [4]
    assert ids(client, db, "{meta: {_contains: {}}}") == [1, 2, 6]  # any object
    assert ids(client, db, None, {"w": {"meta": {"_contains": {"tags": ["y"], "a": 2}}}}) == [2]


def test_invalid_json_cells_match_nothing_and_fail_nothing(client, db):
    assert ids(client, db, '{_not: {meta: {_has_key: "a"}}}') == [3, 4, 5]
    assert ids(client, db, '{_or: [{meta: {_contains: {a: 2}}}, {name: {_eq: "Beta"}}]}') == [2, 3]


def test_json_refusals(client, db):
    data = gql(client, db, "{ docs(where: {meta: {_contains: {tags: [{a: 1}]}}}) { id } }")
    assert (
        data["errors"][0]["message"] == "_contains: arrays may hold scalars only (no objects or arrays inside arrays)"
    )
    data = gql(client, db, '{ docs(where: {meta: {_has_key: "a\\"b"}}) { id } }')
    assert data["errors"][0]["message"] == "JSON keys with a double quote cannot be looked up: 'a\"b'"
    data = gql(client, db, "{ docs(where: {meta: {_contains: null}}) { id } }")
    assert data["errors"][0]["message"] == "_contains must not be null"
    many = ", ".join(f"k{i}: {i}" for i in range(101))
    data = gql(client, db, f"{{ docs(where: {{meta: {{_contains: {{{many}}}}}}}) {{ id }} }}")
    assert "at most 100" in data["errors"][0]["message"]


def test_json_and_text_operators_are_on_text_columns_only(client, db):
    data = gql(client, db, '{ docs(where: {n: {_has_key: "a"}}) { id } }')
    assert "_has_key" in data["errors"][0]["message"] and data.get("data") is None
    data = gql(client, db, '{ docs(where: {n: {_regex: "1"}}) { id } }')
    assert "_regex" in data["errors"][0]["message"]
    assert ids(client, db, "{n: {_is_null: false, _gt: 4}}") == [5, 6]


def test_literals_inside_filters_are_right_through_the_plan_cache(client, db):
    """A shape seen again runs from its plan (literals lifted into variables): every answer stays right."""
    for value, expected in [("1", [1, 6]), ("2", [2]), ("1", [1, 6]), ("2", [2]), ('"1"', [])]:
        query = f'{{ docs(where: {{_or: [{{meta: {{_contains: {{a: {value}}}}}}}, {{name: {{_regex: "^Z"}}}}]}}) {{ id }} }}'
        assert [row["id"] for row in gql(client, db, query)["data"]["docs"]] == expected
    for year, expected in [(1, [1]), (2, [1, 2]), (3, [1, 2, 3])]:
        query = f"{{ docs(where: {{_and: [{{n: {{_lte: {year}}}}}, {{_not: {{n: {{_is_null: true}}}}}}]}}) {{ id }} }}"
        assert [row["id"] for row in gql(client, db, query)["data"]["docs"]] == expected
