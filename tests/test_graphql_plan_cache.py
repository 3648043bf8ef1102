"""GraphQL plans keyed on the query with its literals taken out (issue 18, Speed): requests that differ only
in their inline values share one parsed, validated plan, and answer exactly as before.

Each refusal is compared with the answer the same text gets where no plan exists yet (a second database with
the same schema: plans are kept per schema), so "the same message as before" is checked, not assumed.
"""

from __future__ import annotations

import pytest
from graphql import FloatValueNode, IntValueNode, StringValueNode, parse
from starlette.testclient import TestClient

from airsequel.core.graphql.engine import GraphQLEngine
from airsequel.core.graphql.plans import shape_of
from tests.helpers import create_db, sql

PEOPLE = (
    "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, score REAL);"
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300)"
    " INSERT INTO people SELECT x, 'person ' || x, x / 2.0 FROM c"
)


def engine(client: TestClient) -> GraphQLEngine:
    return client.app.state.services.graphql  # type: ignore[attr-defined]


def gql(client: TestClient, db: str, query: str, variables: dict | None = None):
    body: dict = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return client.post(f"/dbs/{db}/graphql", json=body)


@pytest.fixture
def dbs(client: TestClient) -> tuple[str, str]:
    """Two databases with the same schema and rows: `hot` gets plans, `cold` answers as if there were none."""
    return create_db(client, PEOPLE, name="hot"), create_db(client, PEOPLE, name="cold")


def test_two_hundred_inline_values_share_one_plan_and_each_gets_its_rows(client, dbs):
    hot, _ = dbs
    counts = engine(client).plan_counts()
    built, used = counts.built, counts.used
    for n in range(1, 201):
        answer = gql(client, hot, f"{{ people(where: {{id: {{_gte: {n}}}}}, limit: 3) {{ id name }} }}")
        assert answer.status_code == 200
        assert answer.json() == {"data": {"people": [{"id": i, "name": f"person {i}"} for i in (n, n + 1, n + 2)]}}
    assert counts.built == built + 1
    assert counts.used == used + 198  # the second request of the shape made the plan, on the full path


def test_strings_floats_and_lists_are_lifted_too(client, dbs):
    hot, _ = dbs
    counts = engine(client).plan_counts()
    built = counts.built
    for n in (3, 17, 250):
        answer = gql(
            client,
            hot,
            f'{{ people(where: {{name: {{_eq: "person {n}"}}, score: {{_gte: {n / 2}}}, id: {{_in: [{n}, {n + 1}]}}}})'
            " { id score } }",
        )
        assert answer.json() == {"data": {"people": [{"id": n, "score": n / 2}]}}
    assert counts.built == built + 1


def test_an_inline_string_that_looks_like_sql_is_a_bound_value(client, dbs):
    hot, _ = dbs
    sql(client, hot, "INSERT INTO people VALUES (1000, 'x'' OR 1=1 --', 0)")
    query = '{{ people(where: {{name: {{_eq: "{0}"}}}}) {{ id }} }}'
    assert gql(client, hot, query.format("person 1")).json() == {"data": {"people": [{"id": 1}]}}  # the plan
    for text, expected in (("x' OR 1=1 --", [{"id": 1000}]), ("'; DROP TABLE people; --", []), ('\\" OR 1=1', [])):
        assert gql(client, hot, query.format(text)).json() == {"data": {"people": expected}}
    assert sql(client, hot, "SELECT count(*) AS n FROM people").json()["rows"] == [{"n": 301}]


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        ('{ people(where: {name: {_eq: "5"}}) { id } }', "{ people(where: {name: {_eq: 5}}) { id } }"),
        ("{ people(where: {id: {_eq: 5}}) { id } }", '{ people(where: {id: {_eq: "5"}}) { id } }'),
        ("{ people(where: {id: {_eq: 5}}) { id } }", "{ people(where: {id: {_eq: 5.5}}) { id } }"),
        ("{ people(limit: 5) { id } }", "{ people(limit: 99999999999) { id } }"),  # same shape: Int out of range
        ("{ people(limit: 5) { id } }", '{ people(limit: "5") { id } }'),
    ],
)
def test_a_literal_of_the_wrong_type_is_refused_as_before(client, dbs, good, bad):
    hot, cold = dbs
    for n in "567":
        assert "errors" not in gql(client, hot, good.replace("5", n)).json()  # planned from the second
    counts = engine(client).plan_counts()
    used = counts.used
    before = gql(client, cold, bad)
    after = gql(client, hot, bad)
    assert counts.used == used  # refused: answered by the full path
    assert after.status_code == before.status_code == 200
    assert after.json() == before.json()
    assert after.json()["data"] is None
    assert "cannot represent" in after.json()["errors"][0]["message"]


def test_an_int_and_a_float_at_one_place_get_plans_of_their_own(client, dbs):
    hot, _ = dbs
    counts = engine(client).plan_counts()
    built = counts.built
    query = "{{ people(where: {{score: {{_eq: {0}}}}}) {{ id }} }}"
    assert gql(client, hot, query.format("2")).json() == {"data": {"people": [{"id": 4}]}}
    assert gql(client, hot, query.format("2.5")).json() == {"data": {"people": [{"id": 5}]}}
    assert gql(client, hot, query.format("3")).json() == {"data": {"people": [{"id": 6}]}}
    assert gql(client, hot, query.format("3.5")).json() == {"data": {"people": [{"id": 7}]}}
    assert counts.built == built + 2


def test_the_cost_limit_still_refuses_a_planned_shape(client, dbs):
    hot, cold = dbs
    aliases = " ".join(f"a{i}: people(limit: {{0}}) {{{{ id }}}}" for i in range(21))
    query = f"{{{{ {aliases} }}}}"
    for n in (1, 2, 3):
        assert gql(client, hot, query.format(n)).status_code == 200  # planned from the second
    counts = engine(client).plan_counts()
    used = counts.used
    before = gql(client, cold, query.format(10_000))
    after = gql(client, hot, query.format(10_000))  # 21 x 10,000 rows > graphql_max_cost (200,000)
    assert after.status_code == before.status_code == 413
    assert counts.used == used + 1  # the plan's request, refused by the cost check with its own values
    assert after.json() == before.json()
    assert "rows or more" in after.json()["errors"][0]["message"]


def test_the_depth_limit_still_refuses_a_planned_shape(client):
    db = create_db(
        client, "CREATE TABLE n(id INTEGER PRIMARY KEY, parent INTEGER REFERENCES n(id)); INSERT INTO n VALUES (1, 1)"
    )
    inner = "id"
    for _ in range(12):
        inner = f"id n_by_parent {{ {inner} }}"
    answers = [gql(client, db, f"{{ n(limit: {n}) {{ {inner} }} }}").json() for n in (1, 2, 3)]
    assert (
        answers[0]
        == answers[1]
        == answers[2]
        == {
            "data": None,
            "errors": [{"message": "The query is nested too deeply (at most 12 levels)"}],
        }
    )


def test_errors_while_running_point_into_the_text_as_sent(client, dbs):
    hot, cold = dbs
    for n in (1, 2):
        assert "errors" not in gql(client, hot, f"{{ people(limit: {n}) {{ id }} }}").json()
    counts = engine(client).plan_counts()
    used = counts.used
    # The same shape: a negative limit is refused while it runs, by graphql-core, with the text's locations.
    text = "{ people(limit: -12345) { id } }"
    assert gql(client, hot, text).json() == gql(client, cold, text).json()
    assert gql(client, hot, text).json()["errors"][0]["locations"] == [{"line": 1, "column": 3}]
    assert counts.used == used + 2


def test_equal_literals_in_merged_aliases_answer_and_different_ones_are_refused(client, dbs):
    hot, cold = dbs
    same = "{ a: people(limit: 1) { id } a: people(limit: 1) { id } }"
    for _ in range(2):
        assert gql(client, hot, same).json() == {"data": {"a": [{"id": 1}]}}
    different = "{ a: people(limit: 1) { id } a: people(limit: 2) { id } }"
    assert gql(client, hot, different).json() == gql(client, cold, different).json()
    assert "conflict" in gql(client, hot, different).json()["errors"][0]["message"]


def test_variables_and_literals_together(client, dbs):
    hot, _ = dbs
    query = "query($low: Int!) {{ people(where: {{id: {{_gte: $low, _lt: {0}}}}}) {{ id }} }}"
    assert gql(client, hot, query.format(5), {"low": 3}).json() == {"data": {"people": [{"id": 3}, {"id": 4}]}}
    assert gql(client, hot, query.format(4), {"low": 2}).json() == {"data": {"people": [{"id": 2}, {"id": 3}]}}
    refused = gql(client, hot, query.format(4), {"low": "x"}).json()
    assert refused["data"] is None
    assert refused["errors"][0]["message"].startswith("Variable '$low' got invalid value 'x'")


def test_mutations_with_inline_values_use_the_plan_and_write_each_value(client, dbs):
    hot, _ = dbs
    counts = engine(client).plan_counts()
    built = counts.built
    for n in range(3):
        answer = gql(
            client,
            hot,
            f'mutation {{ insert_people(objects: [{{id: {2000 + n}, name: "new {n}"}}]) {{ affected_rows }} }}',
        )
        assert answer.json() == {"data": {"insert_people": {"affected_rows": 1}}}
    assert counts.built == built + 1
    rows = sql(client, hot, "SELECT id, name FROM people WHERE id >= 2000 ORDER BY id").json()["rows"]
    assert rows == [{"id": 2000 + n, "name": f"new {n}"} for n in range(3)]


def test_introspection_with_a_literal_answers_for_each_name(client, dbs):
    hot, _ = dbs
    for name in ("people_row", "IntComparison", "people_row"):
        answer = gql(client, hot, f'{{ __type(name: "{name}") {{ name }} }}')
        assert answer.json() == {"data": {"__type": {"name": name}}}


def test_a_literal_in_a_variables_default_keeps_its_text(client, dbs):
    hot, _ = dbs
    query = "query($n: Int = {0}) {{ people(where: {{id: {{_eq: $n}}}}) {{ id }} }}"
    assert gql(client, hot, query.format(7)).json() == {"data": {"people": [{"id": 7}]}}
    assert gql(client, hot, query.format(8)).json() == {"data": {"people": [{"id": 8}]}}


def test_the_scanner_takes_only_literals_apart():
    shape = shape_of('query Q5 { a5: f(x: -12, y: 1.5e3, z: "a # 5", w: "\\u00e9\\"") # 7 "x"\n { b } }')
    assert shape is not None
    assert [type(node) for node in shape.literals] == [IntValueNode, FloatValueNode, StringValueNode, StringValueNode]
    assert [node.value for node in shape.literals] == ["-12", "1.5e3", "a # 5", 'é"']
    assert shape.key[1] == "ifss"
    same = shape_of('query Q5 { a5: f(x: 3, y: 2.0, z: "b", w: "c") # 7 "x"\n { b } }')
    assert same is not None and shape.key == same.key
    text = '{ f(x: """  one\n    two \\""" """, y: "\\ud83d\\ude00 \\u{1F600}") }'
    decoded = shape_of(text)
    parsed = parse(text).definitions[0].selection_set.selections[0].arguments  # type: ignore[attr-defined]
    assert decoded is not None and [n.value for n in decoded.literals] == [a.value.value for a in parsed]
    assert decoded.literals[0].value == '  one\ntwo """ '  # graphql-core's own dedent
    # A variable named like a kind is not a literal's place.
    variable, literal = shape_of("query($s: String) { f(x: $s) }"), shape_of('query($s: String) { f(x: "a") }')
    assert variable is not None and literal is not None and variable.key != literal.key
    for broken in ("{ f(x: 01) }", "{ f(x: 1a) }", "{ f(x: 1.) }", '{ f(x: "\\q") }'):
        assert shape_of(broken) is None


def test_a_plan_made_for_one_access_mode_is_not_used_for_another(client, dbs):
    hot, cold = dbs
    mutation = (
        'mutation {{ update_people(where: {{id: {{_eq: {0}}}}}, _set: {{name: "changed"}}) {{ affected_rows }} }}'
    )
    for n in (1, 2):
        assert gql(client, hot, mutation.format(n)).json() == {"data": {"update_people": {"affected_rows": 1}}}
    readonly = {db: client.post(f"/api/dbs/{db}/readonly-id").json()["readonlyId"] for db in (hot, cold)}
    before = client.post(f"/readonly/{readonly[cold]}/graphql", json={"query": mutation.format(3)})
    after = client.post(f"/readonly/{readonly[hot]}/graphql", json={"query": mutation.format(3)})
    assert after.status_code == before.status_code
    assert after.json() == before.json()
    assert after.json()["data"] is None
    assert sql(client, hot, "SELECT name FROM people WHERE id = 3").json()["rows"] == [{"name": "person 3"}]
