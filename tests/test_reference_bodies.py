"""Every example request body of the reference JSON API, sent as it is written to its route, is accepted:
the check that refuses unknown fields (tests/test_unknown_fields.py) must not refuse a field the reference
sends. Values that name things (database ids, a reset key) are this server's own; a few values the
reference gives are refused on their merits, and each such case says why beside it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import PASSWORD, bearer, create_db, sign_up_and_login


@dataclass
class World:
    """What the bodies refer to: alice (server admin) administers teams cool-team, johns-team and
    example-team; `db` (with tables users and existing_table) and `db2` belong to cool-team."""

    db: str
    db2: str
    readonly_id: str
    john: dict[str, str]


def world(client: TestClient) -> World:
    for team in ("cool-team", "johns-team", "example-team"):
        assert client.post("/api/teams", json={"name": team}).status_code == 201
    db = _db_of(client, "cool-team", "CREATE TABLE users(name TEXT, email TEXT); CREATE TABLE existing_table(x)")
    db2 = _db_of(client, "cool-team", "CREATE TABLE t(a)")
    readonly_id = client.post(f"/api/dbs/{db}/readonly-id").json()["readonlyId"]
    john = bearer(sign_up_and_login(client, "john"))
    assert client.patch("/api/teams/cool-team/members/john", json={"roles": ["Viewer"]}).status_code == 200
    return World(db, db2, readonly_id, john)


def _db_of(client: TestClient, team: str, schema: str) -> str:
    created = client.post("/api/dbs", json={"name": "cool-app-database", "team": team, "query": schema})
    assert created.status_code == 201, created.text
    return created.json()["id"]


TOKEN_POST = {
    "description": "Allows cool app to access GraphQL API",
    "expiration_utc": None,
    "name": "TokenPost for cool app",
    "permissions": [{"db_id": "{db}", "name": "read"}, {"db_id": "{db2}", "name": "write"}],
    "team_name": "cool-team",
}
CHART = {
    "chartType": "BarChart",
    "headers": [],
    "hideNullValues": False,
    "labelRotation": 30,
    "table": "users",
    "title": "Example Chart",
}
DASHBOARD = {"charts": [], "title": "Example Dashboard"}
ENV = {"name": "ENVIRONMENT", "value": "development"}

# (method, path, the reference's body, the status it gets). {db}, {db2}, {readonly_id}, {chart},
# {dashboard}, {token} are filled in from the world.
CASES: list[tuple[str, str, dict[str, Any], int]] = [
    (
        "POST",
        "/api/dbs",
        {
            "fileFormat": "csv",
            "name": "Example Database",
            "query": "CREATE TABLE users (name TEXT, email TEXT)",
            "team": "example-team",
        },
        201,
    ),
    (
        "PATCH",
        "/api/dbs/{db2}",
        {
            "description": "New Database Description",
            "name": "New Database Name",
            "owner": {"contents": "johns-team", "tag": "TextValue"},
        },
        200,
    ),
    ("POST", "/api/dbs/{db}/charts", CHART, 201),
    ("PATCH", "/api/dbs/{db}/charts/{chart}", CHART, 200),
    ("POST", "/api/dbs/{db}/dashboards", DASHBOARD, 201),
    ("PATCH", "/api/dbs/{db}/dashboards/{dashboard}", DASHBOARD, 200),
    ("POST", "/api/dbs/{db}/env", ENV, 201),
    ("PATCH", "/api/dbs/{db}/env/EXISTING", {"name": "ENVIRONMENT", "value": "development"}, 200),
    (
        "PATCH",
        "/api/dbs/{db}/settings",
        {
            "auditing": True,
            "envVars": [{"name": "HELLO", "value": "world"}],
            "environment": {"contents": "production", "tag": "TextValue"},
            "schemaLocked": False,
            "viewsTab": True,
            "visibility": "public",
        },
        200,
    ),
    (
        "PATCH",
        "/api/dbs/{db}/tables/users",
        {"after": "existing_table", "description": "New Table Description", "name": "New Table Name"},
        200,
    ),
    ("PUT", "/api/dbs/{db}/tables/Example Table", {}, 201),
    ("PATCH", "/api/dbs/{db}/tables/users/columns/name", {}, 200),
    ("PUT", "/api/dbs/{db}/tables/users/columns/phone", {}, 201),
    ("DELETE", "/api/dbs/{db}/tables/existing_table", {}, 200),
    # the reference's password, test123, is shorter than this server's 8 characters (a sign-up refuses it)
    ("POST", "/api/login", {"password": PASSWORD, "username": "john"}, 200),
    ("POST", "/api/logout", {}, 200),
    # sent through Host: localhost, which the new list names (else the change would lock the caller out)
    (
        "PATCH",
        "/api/settings",
        {"allowedHosts": ["localhost", "example.org:1234"], "envVars": [{"name": "HELLO", "value": "world"}]},
        200,
    ),
    ("POST", "/api/settings/env", ENV, 201),
    ("PATCH", "/api/settings/env/EXISTING", {"name": "ENVIRONMENT", "value": "development"}, 200),
    (
        "PATCH",
        "/api/teams/example-team",
        {
            "billing_email_address": "john@example.com",
            "billing_plan": "pro",
            "billing_subscription_id": 1234567890,
            "name": "New Team Name",
        },
        200,
    ),
    ("PATCH", "/api/teams/cool-team/members/john", {"roles": ["Admin", "Editor"]}, 200),
    ("POST", "/api/tokens", TOKEN_POST, 201),
    (
        "PATCH",
        "/api/tokens/{token}",
        {
            "description": {"contents": "Allows cool app to access GraphQL API", "tag": "TextValue"},
            "expiration_utc": {"tag": "TextNull"},
            "name": "TokenPatch for cool app",
            "team_name": "cool-team",
        },
        200,
    ),
    # the reference's password, test123, is refused on its merits (8 characters at least)
    ("POST", "/api/users", {"email_address": "jim@example.org", "password": PASSWORD, "username": "jim"}, 201),
    ("POST", "/api/users/invite", {"email": "joe@example.com"}, 200),  # a server admin invites (docs/mail.md)
    ("POST", "/api/users/reset-password", {"email": "joe@example.com"}, 200),
    ("POST", "/api/users/reset-password/submit", {"password": "donotusethispassword", "resetKey": "{reset}"}, 200),
    (
        "POST",
        "/dbs/{db}/graphql",
        {"operationName": None, "query": "{ users { name, email } }", "variables": None},
        200,
    ),
    (
        "POST",
        "/readonly/{readonly_id}/graphql",
        {"operationName": None, "query": "{ users { name, email } }", "variables": None},
        200,
    ),
    ("POST", "/dbs/{db}/sql", {"query": "SELECT * FROM users"}, 200),
    (
        "POST",
        "/api/dbs/{db}/functions",
        {
            "content": 'export default function() { \n console.info("Hello World!") \n}',
            "description": "This is an awesome function",
            "name": "Awesome Function",
            "runtime": "deno",
        },
        201,
    ),
    (
        "POST",
        "/api/dbs/{db}/prompt",
        {"funcId": "01hg5j9esf8xvwvrjej58feybn", "prompt": "Insert a new user", "tableName": None},
        501,  # AI prompts are not included
    ),
]


def _filled(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: names.get(m[1], m[0]), value)
    if isinstance(value, list):
        return [_filled(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, names) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "status"), CASES, ids=[f"{m} {p}" for m, p, _, _ in CASES])
def test_the_reference_example_body_is_accepted(client, settings, method, path, body, status):
    w = world(client)
    names = {"db": w.db, "db2": w.db2, "readonly_id": w.readonly_id}
    names["chart"] = client.post(f"/api/dbs/{w.db}/charts", json={"table": "users"}).json()["ulid"]
    names["dashboard"] = client.post(f"/api/dbs/{w.db}/dashboards", json={}).json()["ulid"]
    names["token"] = str(client.post("/api/tokens", json=_filled(TOKEN_POST, names)).json()["id"])
    assert client.post(f"/api/dbs/{w.db}/env", json={"name": "EXISTING", "value": "1"}).status_code == 201
    assert client.post("/api/settings/env", json={"name": "EXISTING", "value": "1"}).status_code == 201
    headers: dict[str, str] = {}
    if path == "/api/users/reset-password/submit":
        assert client.post("/api/users/reset-password", json={"email": "john@example.org"}).status_code == 200
        [message] = list((settings.data_dir / "outbox").iterdir())
        names["reset"] = message.read_text().split("single use):\n")[1].split("\n")[0]
    if path == "/api/settings":
        headers["Host"] = "localhost"
    if path in ("/api/login", "/api/logout"):
        headers["Authorization"] = w.john["Authorization"]
    answer = client.request(method, _filled(path, names), json=_filled(body, names), headers=headers)
    assert answer.status_code == status, answer.text
    if status < 300 and answer.headers.get("content-type", "").startswith("application/json"):
        assert not answer.json().get("errors"), answer.text


def test_a_team_renamed_as_the_reference_does_answers_under_its_new_name(client):
    assert client.post("/api/teams", json={"name": "good-corp"}).status_code == 201
    db = client.post("/api/dbs", json={"name": "App Database", "team": "good-corp"}).json()["id"]
    renamed = client.patch("/api/teams/good-corp", json={"name": "New Team Name"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "New Team Name"
    assert client.get("/api/teams/New Team Name").json()["name"] == "New Team Name"
    assert client.get("/api/teams/good-corp").status_code == 404
    assert client.get(f"/api/dbs/{db}").json()["owner"] == "New Team Name"  # its databases moved along
    assert client.get("/teams/New%20Team%20Name").status_code == 200  # the team's web page
    for bad in (" leading", "trailing ", "two  spaces", "x", "a/b"):
        refused = client.patch("/api/teams/New Team Name", json={"name": bad})
        assert refused.status_code == 400, bad
    assert client.get("/api/teams/New Team Name").status_code == 200


def test_a_table_put_without_columns_gets_an_id_key(client):
    db = create_db(client, "CREATE TABLE t(a)")
    created = client.put(f"/api/dbs/{db}/tables/Example Table", json={})
    assert created.status_code == 201, created.text
    [column] = created.json()["columns"]
    assert (column["name"], column["sqliteDataType"], column["isPrimaryKey"]) == ("id", "INTEGER", True)
    again = client.put(f"/api/dbs/{db}/tables/Example Table", json={})
    assert again.status_code == 409
    empty = client.put(f"/api/dbs/{db}/tables/other", json={"columns": []})
    assert empty.status_code == 400 and empty.json()["errors"] == ["A table needs at least one column"]
