"""Hostile SQL, files and GraphQL values through the HTTP API: refused or aborted with a clear
error, the server still answering, nothing written, nothing outside the data directory."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import create_db, make_sqlite_file, sql


def test_giant_results_deep_expressions_and_huge_queries(client):
    db = create_db(client, "CREATE TABLE t(a); INSERT INTO t VALUES ('x')")
    giant = sql(
        client,
        db,
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 200000) "
        "SELECT group_concat(printf('%0500d', i)) FROM c",
    )
    assert giant.status_code in (200, 504) and (
        "too big" in giant.json()["errors"][0] or "time limit" in giant.json()["errors"][0]
    )
    nested = sql(client, db, "SELECT " + "(" * 3000 + "1" + ")" * 3000)
    assert nested.status_code == 200 and nested.json()["errors"]
    deep = sql(client, db, "SELECT " + " + ".join(["1"] * 5000))
    assert deep.status_code == 200 and "too large" in deep.json()["errors"][0].lower()
    huge = client.post(f"/dbs/{db}/sql", json={"query": "SELECT 1 -- " + "x" * (10 * 1024 * 1024)})
    assert huge.status_code == 413
    for function in ("readfile('/etc/passwd')", "writefile('/tmp/airsequel-pwned', 'x')", "edit('x')"):
        response = sql(client, db, f"SELECT {function}")
        assert response.status_code == 200 and "no such function" in response.json()["errors"][0], function
    assert sql(client, db, "SELECT a FROM t").json()["rows"] == [{"a": "x"}]


def test_a_declared_huge_page_count_is_refused(client, settings, tmp_path):
    content = bytearray(make_sqlite_file(tmp_path / "x.sqlite", "CREATE TABLE t(a)"))
    content[28:32] = (2**31 - 1).to_bytes(4, "big")  # the header's "database size in pages"
    response = client.post("/dbs", files={"file": ("huge.sqlite", bytes(content))})
    assert response.status_code in (413, 422)
    assert client.get("/api/dbs").json()["numberOfDatabases"] == 0


# With trusted_schema=OFF, SQLite refuses, inside views and triggers, whatever is not tagged
# innocuous; among the built-ins that are otherwise allowed, that is the eponymous pragma tables.
# A direct `SELECT ... FROM pragma_function_list` is allowed (the guard lets PRAGMA function_list
# be read), so only trusted_schema=OFF stands between these schemas and their use; the tests
# fail when it is removed.
UNSAFE_IN_SCHEMA = "unsafe use of virtual table"


def test_an_uploaded_file_whose_schema_uses_unsafe_tables_is_refused(client, tmp_path):
    """sqlite_upload compiles every view and trigger of an upload with trusted_schema=OFF."""
    for name, script in [
        ("view", "CREATE VIEW v AS SELECT name FROM pragma_function_list"),
        (
            "trigger",
            "CREATE TABLE log(n); CREATE TRIGGER tr AFTER INSERT ON t"
            " BEGIN INSERT INTO log SELECT count(*) FROM pragma_compile_options; END",
        ),
    ]:
        content = make_sqlite_file(
            tmp_path / f"{name}.sqlite", f"CREATE TABLE t(a); INSERT INTO t VALUES (1); {script}"
        )
        response = client.post("/dbs", files={"file": (f"{name}.sqlite", content)})
        assert response.status_code == 422, (name, response.text)
        assert UNSAFE_IN_SCHEMA in response.json()["errors"][0], (name, response.text)
    assert client.get("/api/dbs").json()["numberOfDatabases"] == 0


def test_trusted_schema_is_off_for_hosted_files(client):
    """A schema planted by one writer cannot make the hosted connections (readers' and writers')
    run what it could not run directly, and no caller can read or switch the pragma."""
    db = create_db(client, "CREATE TABLE t(a); CREATE TABLE log(n)")
    assert sql(client, db, "SELECT count(*) AS n FROM pragma_function_list").json()["rows"][0]["n"] > 0
    planted = sql(
        client,
        db,
        "CREATE VIEW v AS SELECT name FROM pragma_function_list;"
        " CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log SELECT count(*) FROM pragma_compile_options; END",
    )
    assert planted.status_code == 200, planted.text
    read = sql(client, db, "SELECT count(*) AS n FROM v")
    assert read.status_code == 200 and UNSAFE_IN_SCHEMA in read.json()["errors"][0], read.text
    insert = sql(client, db, "INSERT INTO t VALUES (1)")
    assert insert.status_code == 200 and UNSAFE_IN_SCHEMA in insert.json()["errors"][0], insert.text
    assert sql(client, db, "SELECT (SELECT count(*) FROM t) AS t, (SELECT count(*) FROM log) AS log").json()[
        "rows"
    ] == [{"t": 0, "log": 0}]
    # not even readable: not on the allow-list
    assert sql(client, db, "PRAGMA trusted_schema").json()["errors"] == ["PRAGMA trusted_schema is not allowed"]
    assert sql(client, db, "PRAGMA trusted_schema=ON").json()["errors"] == ["PRAGMA trusted_schema is not allowed"]


def test_sessions_are_new_at_every_login(anonymous):
    from tests.helpers import PASSWORD, sign_up_and_login

    first = sign_up_and_login(anonymous, "sam")
    second = anonymous.post("/api/login", json={"username": "sam", "password": PASSWORD}).json()["sessionToken"]
    assert first != second
    anonymous.post("/api/logout", headers={"Authorization": f"Bearer {first}"})
    assert anonymous.get("/api/dbs", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert anonymous.get("/api/dbs", headers={"Authorization": f"Bearer {first}"}).status_code == 401


FUZZ_SCHEMA = "CREATE TABLE f(id INTEGER PRIMARY KEY, s TEXT, n INTEGER, r REAL, b BOOLEAN); INSERT INTO f(s, n, r, b) VALUES ('a', 1, 1.5, 1)"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(max_size=40),
    number=st.integers(min_value=-(2**31), max_value=2**31 - 1),
    real=st.floats(allow_nan=False, allow_infinity=False),
    operator=st.sampled_from(["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_like", "_ilike"]),
    limit=st.integers(min_value=-5, max_value=20000),
)
def test_graphql_fuzzed_values_never_break_the_server(client, text, number, real, operator, limit):
    db = getattr(test_graphql_fuzzed_values_never_break_the_server, "db", None)
    if db is None or client.get(f"/api/dbs/{db}").status_code != 200:
        db = create_db(client, FUZZ_SCHEMA)
        test_graphql_fuzzed_values_never_break_the_server.db = db  # type: ignore[attr-defined]
    query = """query($t: String!, $n: Int, $r: Float, $limit: Int) {
      a: f(where: {s: {OP: $t}}, limit: $limit) { id s }
      b: f(where: {n: {_gte: $n}, r: {_lte: $r}}, limit: 5) { id n r b }
      c: f_aggregate(where: {s: {_in: [$t]}}) { count }
    }""".replace("OP", operator)
    response = client.post(
        f"/dbs/{db}/graphql", json={"query": query, "variables": {"t": text, "n": number, "r": real, "limit": limit}}
    )
    assert response.status_code == 200
    body = response.json()
    if limit < 0:
        assert body["errors"][0]["message"] == "limit must be positive"
    else:
        assert "errors" not in body, body
        assert body["data"]["c"]["count"] in (0, 1)
    mutation = client.post(
        f"/dbs/{db}/graphql",
        json={
            "query": "mutation($t: String) { insert_f(objects: [{s: $t}]) { returning { s } } }",
            "variables": {"t": text},
        },
    )
    assert mutation.json()["data"]["insert_f"]["returning"] == [{"s": text}]
    stored = sql(client, db, "SELECT s FROM f ORDER BY id DESC LIMIT 1").json()["rows"]
    assert stored == [{"s": text}]
    client.post(f"/dbs/{db}/sql", json={"query": "DELETE FROM f WHERE id > 1"})
    assert sql(client, db, "SELECT count(*) AS n FROM f").json()["rows"] == [{"n": 1}]


# '²' and '①' pass str.isdigit() but not int(); 2**63 fits no SQLite INTEGER; '--5' loses one '-' to lstrip.
NOT_WHOLE_NUMBERS = ["²", "①", "٣", "--5", "-", str(2**63), "1e3", "+5", " 5"]


def test_numbers_in_paths_and_queries_are_read_strictly(client):
    db = create_db(client, "CREATE TABLE t(id INTEGER PRIMARY KEY, f BLOB); INSERT INTO t(id, f) VALUES (-5, x'01')")
    client.patch(f"/api/dbs/{db}/settings", json={"auditing": True})
    for text in NOT_WHOLE_NUMBERS:
        assert client.get(f"/api/tokens/{text}").status_code == 404, text
        assert client.get("/api/dbs", params={"limit": text}).status_code == 400, text
        assert client.get(f"/api/dbs/{db}/audit", params={"before": text}).status_code == 400, text
        assert client.get(f"/api/dbs/{db}/tables/t/records", params={"limit": text}).status_code == 400, text
        # a key that is no number is compared as text, so it finds nothing
        assert client.get(f"/api/dbs/{db}/tables/t/columns/f/files/id/{text}").status_code == 404, text
    assert client.get(f"/api/dbs/{db}/tables/t/columns/f/files/id/-5").content == b"\x01"
    assert client.get(f"/api/dbs/{db}/audit", params={"before": str(2**63 - 1)}).status_code == 200


def test_sql_params_sqlite_cannot_bind_are_clear_400s_and_write_nothing(client):
    db = create_db(client, "CREATE TABLE t(a)")
    for params, message in [
        ([2**63], "params[0] is beyond SQLite's 64-bit integers"),  # JSON allows it; the driver overflowed (a 500)
        (
            {"a": 2**64 - 1},
            ":a is beyond SQLite's 64-bit integers",
        ),  # (larger ones arrive as floats from the JSON parser)
        ([1, [2]], "params[1] must be a string, number, boolean or null"),
        ({"a": {"b": 1}}, ":a must be a string, number, boolean or null"),
    ]:
        answer = client.post(
            f"/dbs/{db}/sql",
            json={
                "query": "INSERT INTO t VALUES (?)" if isinstance(params, list) else "INSERT INTO t VALUES (:a)",
                "params": params,
            },
        )
        assert answer.status_code == 400 and message in answer.json()["errors"][0], (params, answer.text)
    assert sql(client, db, "SELECT count(*) AS n FROM t").json()["rows"] == [{"n": 0}]
    ok = client.post(
        f"/dbs/{db}/sql", json={"query": "INSERT INTO t VALUES (?), (?) RETURNING a", "params": [2**63 - 1, -(2**63)]}
    )
    assert ok.status_code == 200 and ok.json()["rows"] == [{"a": 2**63 - 1}, {"a": -(2**63)}]
