"""A JSON body with a field its route does not declare is refused with a 400 naming the field and what
the object takes, and nothing changes: a misspelt or unsupported field is never silently ignored. The
route's `documents_body` schema is the one list of its fields (what the OpenAPI description shows)."""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest
from starlette.routing import Route

from airsequel.core.errors import InvalidInput
from airsequel.http.bodies import STRING, extensible, obj, refuse_unknown_fields, unknown_fields
from tests.helpers import create_db, sql

TOKEN_SCHEMA = obj(
    ["name"],
    name=STRING,
    permissions={"type": "array", "items": obj(["db_id"], db_id=STRING, name=STRING)},
    variables={"type": "object"},
)


def test_unknown_fields_are_found_at_the_top_and_inside_declared_objects():
    body = {
        "name": "n",
        "bogus": 1,
        "nmae": 2,
        "permissions": [{"db_id": "a", "name": "read"}, {"db_id": "b", "level": "write"}],
        "variables": {"anything": "goes"},  # an object the schema does not describe: its keys are not checked
    }
    assert unknown_fields(TOKEN_SCHEMA, body) == {"": ["bogus", "nmae"], "permissions[1]": ["level"]}
    with pytest.raises(InvalidInput) as refused:
        refuse_unknown_fields(TOKEN_SCHEMA, body)
    assert str(refused.value) == (
        "Unknown fields 'bogus', 'nmae' in the request body (it takes: name, permissions, variables); "
        "Unknown field 'level' in 'permissions[1]' (it takes: db_id, name)"
    )
    assert unknown_fields(TOKEN_SCHEMA, {"name": "n", "permissions": "not a list"}) == {}  # types: the readers
    assert unknown_fields(extensible(obj(a=STRING)), {"a": "x", "b": 1}) == {}
    refuse_unknown_fields(None, {"anything": 1})  # a route without a schema: nothing to check against


def test_bogus_fields_are_refused_on_patch_routes_and_nothing_changes(client):
    db = create_db(client, "CREATE TABLE t(a TEXT); INSERT INTO t VALUES ('x')")
    permissions = [{"db_id": db, "name": "read"}]  # a token needs one
    token = client.post("/api/tokens", json={"name": "ci", "team_name": "alice", "permissions": permissions}).json()
    before = {
        "db": client.get(f"/api/dbs/{db}").json(),
        "settings": client.get(f"/api/dbs/{db}/settings").json(),
        "team": client.get("/api/teams/alice").json(),
        "token": client.get(f"/api/tokens/{token['id']}").json(),
        "server": client.get("/api/settings").json(),
    }
    for path, body, takes in [
        (f"/api/dbs/{db}/tables/t", {"name": "renamed", "bogus": 1}, "after, description, name"),
        (f"/api/dbs/{db}", {"name": "Renamed", "bogus": 1}, "description, name"),
        (f"/api/dbs/{db}/settings", {"visibility": "public", "bogus": 1}, "auditing, durability, envVars, environment"),
        ("/api/teams/alice", {"billing_plan": "pro", "bogus": 1}, "billing_email_address, billing_plan"),
        (f"/api/tokens/{token['id']}", {"name": "renamed", "bogus": 1}, "description, expiration_utc, name"),
        ("/api/settings", {"signup": "closed", "bogus": 1}, "allowedHosts, envVars"),
        (f"/api/dbs/{db}/tables/t/columns/a", {"name": "b", "bogus": 1}, "default, description, isNonNull"),
    ]:
        refused = client.patch(path, json=body)
        assert refused.status_code == 400, (path, refused.text)
        message = refused.json()["errors"][0]
        assert message.startswith("Unknown field 'bogus' in the request body (it takes: "), message
        assert takes in message, message
    assert sql(client, db, "SELECT name FROM sqlite_master").json()["rows"] == [{"name": "t"}]
    assert sql(client, db, "SELECT * FROM t").json()["rows"] == [{"a": "x"}]
    after = {
        "db": client.get(f"/api/dbs/{db}").json(),
        "settings": client.get(f"/api/dbs/{db}/settings").json(),
        "team": client.get("/api/teams/alice").json(),
        "token": client.get(f"/api/tokens/{token['id']}").json(),
        "server": client.get("/api/settings").json(),
    }
    assert after == before


def test_bogus_fields_are_refused_on_post_and_put_routes_and_nothing_is_made(client):
    db = create_db(client, "CREATE TABLE t(a TEXT)")
    made_before = (client.get("/api/dbs").json()["numberOfDatabases"], client.get("/api/teams/alice/tokens").json())
    for method, path, body in [
        ("POST", "/api/dbs", {"name": "x", "bogus": 1}),
        ("POST", "/api/tokens", {"name": "x", "team_name": "alice", "permissions": [], "bogus": 1}),
        ("POST", f"/api/dbs/{db}/charts", {"table": "t", "bogus": 1}),
        ("POST", f"/api/dbs/{db}/dashboards", {"title": "x", "bogus": 1}),
        ("POST", f"/api/dbs/{db}/env", {"name": "X", "value": "1", "bogus": 1}),
        ("PUT", f"/api/dbs/{db}/tables/u", {"columns": [{"name": "a"}], "bogus": 1}),
        ("PUT", f"/api/dbs/{db}/tables/t/columns/b", {"sqliteDataType": "TEXT", "bogus": 1}),
        ("POST", "/api/teams", {"name": "newteam", "bogus": 1}),
        ("POST", f"/dbs/{db}/sql", {"query": "INSERT INTO t VALUES ('no')", "bogus": 1}),
        (
            "POST",
            f"/dbs/{db}/graphql",
            {"query": 'mutation { insert_t(objects: [{a: "no"}]) { affected_rows } }', "bogus": 1},
        ),
    ]:
        refused = client.request(method, path, json=body)
        assert refused.status_code == 400, (path, refused.text)
        assert "Unknown field 'bogus' in the request body" in str(refused.json()["errors"]), refused.text
    assert (
        client.get("/api/dbs").json()["numberOfDatabases"],
        client.get("/api/teams/alice/tokens").json(),
    ) == made_before
    assert client.get(f"/api/dbs/{db}/charts").json()["charts"] == []
    assert client.get(f"/api/dbs/{db}/dashboards").json()["dashboards"] == []
    assert client.get(f"/api/dbs/{db}/env").json()["envVars"] == []
    assert sql(client, db, "SELECT name FROM sqlite_master").json()["rows"] == [{"name": "t"}]
    assert [c["name"] for c in client.get(f"/api/dbs/{db}/tables/t").json()["columns"]] == ["a"]
    assert sql(client, db, "SELECT count(*) AS n FROM t").json()["rows"] == [{"n": 0}]
    assert client.get("/api/teams/newteam").status_code == 404


def test_a_misspelt_field_inside_a_token_permission_is_refused(client):
    db = create_db(client, "CREATE TABLE t(a)")
    refused = client.post(
        "/api/tokens", json={"name": "x", "team_name": "alice", "permissions": [{"db_id": db, "nmae": "read"}]}
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == ["Unknown field 'nmae' in 'permissions[0]' (it takes: db_id, name)"]
    assert client.get("/api/teams/alice/tokens").json()["tokens"] == []


def test_every_route_that_reads_a_json_body_declares_its_fields(client):
    """A route calling read_json_object without documents_body would take any field: the check would
    have nothing to check against. And each declared body refuses what it does not name."""
    checked = 0
    for route in client.app.routes:
        if not isinstance(route, Route):
            continue
        schema = getattr(route.endpoint, "body_schema", None)
        source = textwrap.dedent(inspect.getsource(route.endpoint))
        reads_json = any(
            isinstance(node, ast.Name) and node.id == "read_json_object" for node in ast.walk(ast.parse(source))
        )
        if reads_json:
            assert schema is not None, f"{route.path} reads a JSON body but declares no documents_body schema"
        if schema is not None:
            assert schema.get("additionalProperties") is False, f"{route.path}: its body takes any field"
            checked += 1
    assert checked >= 30
