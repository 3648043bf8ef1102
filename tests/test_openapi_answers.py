"""The OpenAPI document's response schemas are true: real requests against the app, in every area of
the API, and each answer (success or error) checked against what the document declares for its
route and status, with jsonschema (openapi-schema-validator's OpenAPI 3.0 dialect: `nullable`)."""

from __future__ import annotations

import time
from typing import Any

import httpx2 as httpx
import pytest
from openapi_schema_validator import OAS30Validator
from starlette.testclient import TestClient

from tests.helpers import PASSWORD, create_db, make_sqlite_file, sign_up_and_login, sql

SCHEMA = (
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER NOT NULL DEFAULT 3, b TEXT UNIQUE, f BLOB, r REAL);"
    "INSERT INTO t(a, b, f, r) VALUES (1, 'x', x'00', 1.5), (2, NULL, NULL, NULL);"
    "CREATE VIEW v AS SELECT * FROM t"
)
AREAS = {"databases", "tables", "records", "sql", "tokens", "teams", "settings", "exports", "graphql", "charts"}


def violations(document: dict[str, Any], method: str, template: str, response: httpx.Response) -> list[str]:
    """What is wrong with `response` for the operation `method template`, per the document."""
    operation = document["paths"][template][method.lower()]
    status = response.status_code
    declared = operation["responses"].get(str(status))
    if declared is None and status < 400:
        return [f"status {status} is not declared (declared: {sorted(operation['responses'])})"]
    declared = declared or operation["responses"]["default"]
    content = declared.get("content", {})
    if not content:
        return [] if not response.content else [f"status {status} declares no body, got {response.content[:80]!r}"]
    media = response.headers.get("content-type", "").split(";")[0].strip()
    media = next((m for m in (media, media.split("/")[0] + "/*", "*/*") if m in content), media)
    if media not in content:
        return [f"status {status}: media type {media!r} is not declared ({sorted(content)})"]
    schema = content[media].get("schema")
    if media != "application/json" or schema is None or schema.get("format") == "binary":
        return []
    validator = OAS30Validator({**schema, "components": document["components"]})
    return [
        f"status {status}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(response.json())
    ]


class Checked:
    """Sends requests by route template and checks each answer against the document."""

    def __init__(self, client: TestClient, document: dict[str, Any]):
        self.client, self.document = client, document
        self.problems: list[str] = []
        self.operations: set[tuple[str, str]] = set()

    def __call__(self, method: str, template: str, expect: int, /, **options: Any) -> httpx.Response:
        values = options.pop("path", {})
        client = options.pop("client", self.client)
        response = client.request(method, template.format(**values), **options)
        assert response.status_code == expect, (method, template, response.status_code, response.text[:500])
        self.operations.add((method, template))
        self.problems += [f"{method} {template}: {p}" for p in violations(self.document, method, template, response)]
        return response

    def tags(self) -> set[str]:
        return {self.document["paths"][p][m.lower()]["tags"][0] for m, p in self.operations}


@pytest.fixture
def check(client):
    return Checked(client, client.get("/api/openapi.json").json())


def test_the_check_finds_an_answer_that_breaks_its_schema(check):
    """The check can fail: a Database without its id, or a wrong media type, is reported."""
    document = check.document
    db_id = create_db(check.client, SCHEMA)
    real = check.client.get(f"/api/dbs/{db_id}")
    assert violations(document, "GET", "/api/dbs/{db_id}", real) == []
    broken = real.json()
    del broken["id"]
    broken["size"] = "big"
    fake = httpx.Response(200, json=broken)
    found = violations(document, "GET", "/api/dbs/{db_id}", fake)
    assert any("'id' is a required property" in p for p in found) and any("'big'" in p for p in found)
    assert violations(document, "GET", "/api/dbs/{db_id}", httpx.Response(201, json=real.json())) != []
    html = httpx.Response(200, text="<p>", headers={"content-type": "text/html"})
    assert violations(document, "GET", "/api/dbs/{db_id}", html) != []
    assert violations(document, "GET", "/dbs/{db_id}", html) == []


def test_databases_tables_records_and_files_answer_as_declared(check, tmp_path):
    db = {"db_id": create_db(check.client, SCHEMA, name="shapes")}
    check("GET", "/api/dbs", 200, params={"limit": 5})
    check("POST", "/api/dbs", 201, json={"name": "second", "description": "d"})
    check("GET", "/api/dbs/{db_id}", 200, path=db)
    check("PATCH", "/api/dbs/{db_id}", 200, path=db, json={"description": "about"})
    readonly = check("POST", "/api/dbs/{db_id}/readonly-id", 200, path=db).json()["readonlyId"]
    check("GET", "/api/dbs/{db_id}/schema", 200, path=db)
    check("POST", "/api/dbs/{db_id}/vacuum", 200, path=db)
    check("GET", "/api/dbs/{db_id}/azimutt-schema", 200, path=db)
    for table in ("t", "v"):
        check("GET", "/api/dbs/{db_id}/tables/{table}", 200, path={**db, "table": table})
    new = {**db, "table": "n"}
    check("PUT", "/api/dbs/{db_id}/tables/{table}", 201, path=new, json={"columns": [{"name": "id"}]})
    check("PATCH", "/api/dbs/{db_id}/tables/{table}", 200, path=new, json={"description": "n"})
    column = {**new, "column": "c"}
    check("PUT", "/api/dbs/{db_id}/tables/{table}/columns/{column}", 201, path=column, json={"sqliteDataType": "TEXT"})
    check("PATCH", "/api/dbs/{db_id}/tables/{table}/columns/{column}", 200, path=column, json={"description": "c"})
    check("DELETE", "/api/dbs/{db_id}/tables/{table}/columns/{column}", 200, path=column)
    check("DELETE", "/api/dbs/{db_id}/tables/{table}", 200, path=new)
    check("GET", "/api/dbs/{db_id}/tables/{table}", 404, path=new)
    t = {**db, "table": "t"}
    check("GET", "/api/dbs/{db_id}/tables/{table}/search/{term}", 200, path={**t, "term": "x"})
    check("GET", "/api/dbs/{db_id}/tables/{table}/export", 200, path=t)
    check("GET", "/api/dbs/{db_id}/tables/{table}/records", 200, path=t, params={"limit": 1})
    check("GET", "/api/dbs/{db_id}/tables/{table}/records", 200, path=t, headers={"Accept": "text/csv"})
    check("GET", "/api/dbs/{db_id}/tables/{table}/records", 400, path=t, params={"limit": "many"})
    cell = {**t, "column": "f", "key_column": "id", "key_value": "1"}
    cell_path = "/tables/{table}/columns/{column}/files/{key_column}/{key_value}"
    check("PUT", "/api/dbs/{db_id}" + cell_path, 200, path=cell, files={"file": ("a.png", b"\x89PNG\r\n\x1a\n")})
    check("GET", "/api/dbs/{db_id}" + cell_path, 200, path=cell)
    check("GET", "/readonly/{readonly_id}" + cell_path, 200, path={**cell, "readonly_id": readonly})
    check("GET", "/dbs/{db_id}/download", 200, path=db)
    check("POST", "/dbs/{db_id}/duplicate", 200, path=db, headers={"Accept": "application/json"})
    check("POST", "/dbs/{db_id}/regenerate-readonly-id", 200, path=db)
    check("DELETE", "/api/dbs/{db_id}/readonly-id", 200, path=db)
    asset = check("POST", "/api/dbs/{db_id}/assets", 201, path=db, json={"filename": "a.txt"}).json()
    owned = {**db, "asset_id": asset["id"]}
    check("PUT", "/api/dbs/{db_id}/assets/{asset_id}", 200, path=owned, content=b"hello")
    check("PATCH", "/api/dbs/{db_id}/assets/{asset_id}", 200, path=owned, json={"is_uploaded": True})
    check("GET", "/api/dbs/{db_id}/assets/{asset_id}", 200, path=owned, params={"meta": "true"})
    check("GET", "/api/dbs/{db_id}/assets/{asset_id}", 200, path=owned)
    check("GET", "/api/dbs/{db_id}/assets", 200, path=db)
    check("DELETE", "/api/dbs/{db_id}/assets/{asset_id}", 200, path=owned)
    check("GET", "/api/dbs/{db_id}/backups", 404, path=db)  # backups are off on this server
    check("GET", "/api/dbs/{db_id}/apps", 200, path=db)
    function = {"name": "f", "content": "export default () => ({ data: 1 })"}
    made = check("POST", "/api/dbs/{db_id}/functions", 201, path=db, json=function).json()
    check("GET", "/api/dbs/{db_id}/functions/{func_id}", 200, path={**db, "func_id": made["id"]})
    for page in ("/dbs/{db_id}", "/dbs/{db_id}/sql", "/dbs/{db_id}/duplicate"):
        check("GET", page, 200, path=db)
    check("GET", "/dbs/{db_id}", 404, path={"db_id": "nope"})
    regenerated = check("POST", "/dbs/{db_id}/regenerate-db-id", 200, path=db).json()["id"]
    check("DELETE", "/api/dbs/{db_id}", 200, path={"db_id": regenerated})
    check("GET", "/api/dbs/{db_id}", 404, path={"db_id": regenerated})
    upload = make_sqlite_file(tmp_path / "up.sqlite", "CREATE TABLE u(x)")
    uploaded = check("POST", "/dbs", 201, files={"file": ("up.sqlite", upload)}).json()
    check("PUT", "/dbs/{db_id}", 200, path={"db_id": uploaded["id"]}, files={"file": ("up.sqlite", upload)})
    check("POST", "/dbs", 422, files={"file": ("up.sqlite", b"not a database")})
    assert check.problems == [], "\n".join(check.problems)
    assert {"databases", "tables", "records", "files"} <= check.tags()


def test_sql_graphql_and_charts_answer_as_declared(check):
    db = {"db_id": create_db(check.client, SCHEMA)}
    check("POST", "/dbs/{db_id}/sql", 200, path=db, json={"query": "SELECT * FROM t"})
    check("POST", "/dbs/{db_id}/sql", 200, path=db, json={"query": "UPDATE t SET a = ? WHERE id = 1", "params": [5]})
    sql_error = check.client.post(f"/dbs/{db['db_id']}/sql", json={"query": "SELECT * FROM nope"})
    check.problems += violations(check.document, "POST", "/dbs/{db_id}/sql", sql_error)  # 200 or 400: both declared
    assert "nope" in str(sql_error.json()["errors"])
    check("POST", "/dbs/{db_id}/sql", 404, path={"db_id": "nope"}, json={"query": "SELECT 1"})
    check("POST", "/dbs/{db_id}/graphql", 200, path=db, json={"query": "{ t { id b f } }"})
    check("POST", "/dbs/{db_id}/graphql", 200, path=db, json={"query": "{ nope }"})
    check(
        "POST",
        "/dbs/{db_id}/graphql",
        200,
        path=db,
        json={"query": "mutation { insert_t(objects: [{a: 9}]) { affected_rows } }"},
    )
    check("POST", "/dbs/{db_id}/graphql", 400, path=db, json={"query": ""})
    check("POST", "/dbs/{db_id}/graphql", 404, path={"db_id": "nope"}, json={"query": "{ t { id } }"})
    check("GET", "/dbs/{db_id}/graphql", 200, path=db)
    check("GET", "/dbs/{db_id}/graphiql", 200, path=db)
    check("GET", "/dbs/{db_id}/playground/default-query", 200, path=db)
    readonly = check("POST", "/api/dbs/{db_id}/readonly-id", 200, path=db).json()["readonlyId"]
    check(
        "POST", "/readonly/{readonly_id}/graphql", 200, path={"readonly_id": readonly}, json={"query": "{ t { id } }"}
    )
    chart = check("POST", "/api/dbs/{db_id}/charts", 201, path=db, json={"table": "t", "headers": ["b", "a"]}).json()
    item = {**db, "item_id": chart["ulid"]}
    check("PATCH", "/api/dbs/{db_id}/charts/{item_id}", 200, path=item, json={"table": "t", "title": "T"})
    check("GET", "/api/dbs/{db_id}/charts/{item_id}/svg", 200, path=item)
    check("GET", "/api/dbs/{db_id}/charts", 200, path=db)
    board = check("POST", "/api/dbs/{db_id}/dashboards", 201, path=db, json={"title": "d", "charts": [chart["ulid"]]})
    board_item = {**db, "item_id": board.json()["ulid"]}
    check("PATCH", "/api/dbs/{db_id}/dashboards/{item_id}", 200, path=board_item, json={"title": "e", "charts": []})
    check("GET", "/api/dbs/{db_id}/dashboards", 200, path=db)
    check("DELETE", "/api/dbs/{db_id}/dashboards/{item_id}", 200, path=board_item)
    check("DELETE", "/api/dbs/{db_id}/charts/{item_id}", 200, path=item)
    check("POST", "/api/dbs/{db_id}/charts", 400, path=db, json={"table": ""})
    assert check.problems == [], "\n".join(check.problems)
    assert {"sql", "graphql", "charts"} <= check.tags()


def test_accounts_teams_tokens_settings_and_exports_answer_as_declared(check):
    anonymous = TestClient(check.client.app)  # the same server, no credentials
    db_id = create_db(check.client, SCHEMA)
    db = {"db_id": db_id}
    check("GET", "/api/status", 200)
    check("GET", "/api/status", 200, client=anonymous)
    check("GET", "/api/users/{username}", 200, path={"username": "alice"})
    check("POST", "/api/login", 200, json={"username": "alice", "password": PASSWORD})
    check("POST", "/api/login", 401, json={"username": "alice", "password": "wrong password"})
    check("POST", "/api/users/reset-password", 200, json={"email": "alice@example.org"})
    check("GET", "/api/dbs/{db_id}", 404, path=db, client=anonymous)  # a private database is not shown
    check("GET", "/api/users/{username}", 401, path={"username": "alice"}, client=anonymous)
    team = {"team_name": "acme"}
    check("POST", "/api/teams", 201, json={"name": "acme"})
    check("GET", "/api/teams/{team_name}", 200, path=team)
    check("PATCH", "/api/teams/{team_name}", 200, path=team, json={"billing_plan": "pro"})
    sign_up_and_login(check.client, "bob")
    member = {**team, "username": "bob"}
    check("PATCH", "/api/teams/{team_name}/members/{username}", 200, path=member, json={"roles": ["Editor"]})
    check("GET", "/api/teams/{team_name}/members", 200, path=team)
    check("DELETE", "/api/teams/{team_name}/members/{username}", 200, path=member)
    own = {"db_id": db_id, "name": "read"}
    token = check("POST", "/api/tokens", 201, json={"name": "t", "team_name": "alice", "permissions": [own]}).json()
    check("POST", "/api/tokens", 400, json={"name": "t", "team_name": "acme", "permissions": [own]})
    token_path = {"token_id": str(token["id"])}
    check("GET", "/api/tokens/{token_id}", 200, path=token_path)
    check("PATCH", "/api/tokens/{token_id}", 200, path=token_path, json={"description": None})
    check("GET", "/api/teams/{team_name}/tokens", 200, path={"team_name": "alice"})
    check("DELETE", "/api/tokens/{token_id}", 200, path=token_path)
    check("GET", "/api/settings", 200)
    check("PATCH", "/api/settings", 200, json={"searchMaxRows": 50})
    check("POST", "/api/settings/env", 201, json={"name": "K", "value": "v"})
    check("PATCH", "/api/settings/env/{name}", 200, path={"name": "K"}, json={"value": "w"})
    check("GET", "/api/settings/env", 200)
    check("DELETE", "/api/settings/env/{name}", 200, path={"name": "K"})
    check("PATCH", "/api/dbs/{db_id}/settings", 200, path=db, json={"auditing": True})
    check("POST", "/dbs/{db_id}/sql", 200, path=db, json={"query": "DELETE FROM t WHERE id = 2"})
    check("GET", "/api/dbs/{db_id}/settings", 200, path=db)
    check("POST", "/api/dbs/{db_id}/env", 201, path=db, json={"name": "K", "value": "v"})
    check("GET", "/api/dbs/{db_id}/env", 200, path=db)
    check("DELETE", "/api/dbs/{db_id}/env/{name}", 200, path={**db, "name": "K"})
    check("GET", "/api/dbs/{db_id}/audit", 200, path=db)
    job = check("POST", "/api/exports", 202, json={"name": "e", "databases": [db_id]}).json()
    job_path = {"export_id": job["id"]}
    deadline = time.monotonic() + 20
    while check("GET", "/api/exports/{export_id}", 200, path=job_path).json()["status"] != "SUCCESS":
        assert time.monotonic() < deadline, "the export did not finish"
        time.sleep(0.05)
    check("GET", "/api/exports", 200)
    check("GET", "/api/exports/{export_id}/data", 200, path=job_path)
    check("DELETE", "/api/exports/{export_id}", 200, path=job_path)
    check("GET", "/api/exports/{export_id}", 404, path=job_path)
    check("DELETE", "/api/teams/{team_name}", 200, path=team)
    check("POST", "/api/events/paddle", 501)
    check("GET", "/api/docs", 200)
    check("GET", "/api/openapi.json", 200)
    check("POST", "/api/logout", 200)
    assert check.problems == [], "\n".join(check.problems)
    assert AREAS - {"databases", "tables", "records", "sql", "graphql", "charts"} <= check.tags() | {"users"}
    assert {"users", "teams", "tokens", "settings", "exports", "status"} <= check.tags()


def test_pixiebrix_routes_answer_as_declared(check):
    db = {"database_id": create_db(check.client, SCHEMA)}
    check("GET", "/api/organizations/{organization_id}/databases/", 200, path={"organization_id": "alice"})
    records = "/api/databases/{database_id}/records/"
    check("GET", records, 200, path=db, params={"table": "t"})
    check("GET", records, 200, path=db, params={"table": "t"}, headers={"Accept": "application/json; version=2.0"})
    check("GET", records, 200, path=db, params={"table": "t"}, headers={"Accept": "text/csv"})
    assert sql(check.client, db["database_id"], "CREATE TABLE u(x)").status_code == 200
    check("GET", records, 400, path=db)  # two tables: which one?
    check("GET", records, 404, path={"database_id": "nope"})
    body = {"name": "weekly", "databases": [f"{db['database_id']}:t"], "media_type": "text/csv"}
    job = {"job_id": check("POST", "/api/databases/records/jobs/", 201, json=body).json()["id"]}
    deadline = time.monotonic() + 20
    while check("GET", "/api/databases/records/jobs/{job_id}/", 200, path=job).json()["status"] != "SUCCESS":
        assert time.monotonic() < deadline, "the export did not finish"
        time.sleep(0.05)
    check("GET", "/api/databases/records/jobs/{job_id}/data/", 200, path=job)
    check("GET", "/api/databases/records/jobs/{job_id}/", 404, path={"job_id": "nope"})
    assert check.problems == [], "\n".join(check.problems)
    assert check.tags() == {"pixiebrix"}


def test_medable_export_routes_answer_as_declared(check):
    org = {"org": create_db(check.client, SCHEMA)}
    body = {"label": "Rows", "description": "Nightly", "objects": "t", "format": "text/csv", "exportFiles": True}
    job = {**org, "export_id": check("POST", "/{org}/v2/exports", 201, path=org, json=body).json()["_id"]}
    deadline = time.monotonic() + 20
    while check("GET", "/{org}/v2/exports/{export_id}", 200, path=job).json()["state"] != "ready":
        assert time.monotonic() < deadline, "the export did not finish"
        time.sleep(0.05)
    check("GET", "/{org}/v2/exports", 200, path=org)
    check("GET", "/{org}/v2/exports/{export_id}/dataFile", 200, path=job)
    check("POST", "/{org}/v2/exports", 400, path=org, json={"label": "x", "afterScript": "return 1"})
    check("DELETE", "/{org}/v2/exports/{export_id}", 200, path=job)
    check("GET", "/{org}/v2/exports/{export_id}", 404, path=job)
    assert check.problems == [], "\n".join(check.problems)
    assert check.tags() == {"exports"}
