"""Server and database settings, environment variables, auditing, allowed hosts, docs, 501s."""

from __future__ import annotations

from tests.helpers import bearer, create_db, sign_up_and_login, sql


def test_server_settings_apply_without_restart_and_need_a_server_admin(client):
    bob = bearer(sign_up_and_login(client, "bob"))
    assert client.get("/api/settings", headers=bob).status_code == 403
    assert client.patch("/api/settings", headers=bob, json={"signup": "closed"}).status_code == 403
    settings = client.get("/api/settings").json()
    assert settings["signup"] == "open" and settings["allowedHosts"] == [] and settings["maxRowsPerResponse"] == 10000
    assert (
        client.patch(
            "/api/settings",
            json={"maxRowsPerResponse": 2, "signup": "closed", "envVars": [{"name": "HELLO", "value": "world"}]},
        ).status_code
        == 200
    )
    db = create_db(client, "CREATE TABLE t(a); INSERT INTO t VALUES (1), (2), (3)")
    result = sql(client, db, "SELECT a FROM t").json()
    assert result["rows"] == [{"a": 1}, {"a": 2}] and result["truncated"] is True
    admin = client.headers.pop("Authorization")
    assert (
        client.post(
            "/api/users", json={"username": "late", "email_address": "l@example.org", "password": "password123"}
        ).status_code
        == 403
    )
    client.headers["Authorization"] = admin
    assert client.get("/api/settings").json()["envVars"][0]["name"] == "HELLO"
    for bad in [{"maxRowsPerResponse": 0}, {"signup": "maybe"}, {"allowedHosts": "x"}, {"nonsense": 1}]:
        assert client.patch("/api/settings", json=bad).status_code == 400
    assert client.get("/api/settings").json()["maxRowsPerResponse"] == 2


def test_server_env_vars_crud(client):
    created = client.post("/api/settings/env", json={"name": "API_KEY", "value": "s3cret"})
    assert created.status_code == 201 and created.json()["value"] == "s3cret"
    assert client.post("/api/settings/env", json={"name": "API_KEY", "value": "again"}).status_code == 409
    assert client.post("/api/settings/env", json={"name": "1bad", "value": "x"}).status_code == 400
    assert client.patch("/api/settings/env/API_KEY", json={"value": "rotated"}).status_code == 200
    assert client.get("/api/settings/env").json()["envVars"][0]["value"] == "rotated"
    assert client.delete("/api/settings/env/API_KEY").status_code == 200
    assert client.delete("/api/settings/env/API_KEY").status_code == 404


def test_database_env_values_only_for_admins_and_never_in_downloads(client):
    db = create_db(client, "CREATE TABLE t(a)")
    assert client.post(f"/api/dbs/{db}/env", json={"name": "TOKEN", "value": "very-secret-value"}).status_code == 201
    bob = bearer(sign_up_and_login(client, "bob"))
    client.patch("/api/teams/alice/members/bob", json={"roles": ["Viewer"]})
    assert client.get(f"/api/dbs/{db}/env").json()["envVars"][0]["value"] == "very-secret-value"
    as_viewer = client.get(f"/api/dbs/{db}/env", headers=bob).json()["envVars"]
    assert as_viewer[0]["name"] == "TOKEN" and "value" not in as_viewer[0]
    assert "value" not in client.get(f"/api/dbs/{db}/settings", headers=bob).json()["envVars"][0]
    assert client.post(f"/api/dbs/{db}/env", headers=bob, json={"name": "X", "value": "y"}).status_code == 403
    assert b"very-secret-value" not in client.get(f"/dbs/{db}/download").content
    assert (
        client.patch(
            f"/api/dbs/{db}/settings",
            json={
                "envVars": [{"name": "ONLY", "value": "1"}],
                "viewsTab": True,
                "environment": {"tag": "TextValue", "contents": "production"},
            },
        ).status_code
        == 200
    )
    settings = client.get(f"/api/dbs/{db}/settings").json()
    assert (
        settings["envVars"][0]["name"] == "ONLY"
        and settings["viewsTab"] is True
        and settings["environment"] == "production"
    )


def test_auditing_records_every_kind_of_write(client):
    db = create_db(client, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)")
    sql(client, db, "INSERT INTO t(b) VALUES ('before auditing')")
    assert client.patch(f"/api/dbs/{db}/settings", json={"auditing": True}).status_code == 200
    sql(client, db, "INSERT INTO t(b) VALUES ('x'), ('y')")
    sql(client, db, "SELECT * FROM t")  # reads are not audited
    client.post(
        f"/dbs/{db}/graphql",
        json={"query": 'mutation { update_t(where: {a: {_gt: 0}}, _set: {b: "z"}) { affected_rows } }'},
    )
    client.put(f"/api/dbs/{db}/tables/t/columns/c", json={"sqliteDataType": "TEXT"})
    entries = client.get(f"/api/dbs/{db}/audit").json()["entries"]
    assert [e["kind"] for e in entries] == ["schema", "graphql", "sql"]
    assert entries[2]["statement"] == "INSERT INTO t(b) VALUES ('x'), ('y')"
    assert entries[2]["affectedTables"] == ["t"] and entries[2]["rows"] == 2 and entries[2]["actor"] == "user:alice"
    assert entries[1]["rows"] == 3
    bob = bearer(sign_up_and_login(client, "bob"))
    assert client.get(f"/api/dbs/{db}/audit", headers=bob).status_code == 404


def test_allowed_hosts_refuse_other_host_headers(client):
    assert client.patch("/api/settings", json={"allowedHosts": ["testserver", "example.org:1234"]}).status_code == 200
    assert client.get("/api/status").status_code == 200
    assert client.get("/api/status", headers={"Host": "example.org:1234"}).status_code == 200
    refused = client.get("/api/status", headers={"Host": "evil.example"})
    assert refused.status_code == 403 and "allowedHosts" in refused.json()["errors"][0]


def test_docs_are_generated_from_the_routes(client):
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert (
        "post" in spec["paths"]["/dbs/{db_id}/sql"]
        and "get" in spec["paths"]["/api/dbs/{db_id}/tables/{table}/records"]
    )
    html = client.get("/api/docs")
    assert html.headers["content-type"].startswith("text/html")
    assert "/api/dbs/{db_id}/tables/{table}/records" in html.text and "/api/openapi.json" in html.text


def test_apps_and_not_included_routes(client):
    db = create_db(client)
    assert client.get(f"/api/dbs/{db}/apps").json() == {"apps": []}
    assert client.get(f"/dbs/{db}/apps/x").status_code == 404
    for method, path in [
        ("POST", "/api/events/paddle"),
    ]:
        response = client.request(method, path, json={})
        assert response.status_code == 501 and "not included" in response.json()["errors"][0], path
