"""The permission matrix: every kind of principal against every action, status and side effects."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.http.app import create_app
from tests.control_planes import control_plane_flag
from tests.helpers import acme_team, bearer, sign_up_and_login

PRINCIPALS = [
    "anonymous",
    "viewer",
    "editor",
    "admin",
    "other_admin",
    "read_token",
    "write_token",
    "insert_token",
    "expired_token",
    "revoked_token",
]
ACTIONS = [
    "list",
    "read_sql",
    "write_sql",
    "download",
    "replace",
    "share_link",
    "manage_tokens",
    "manage_members",
    "delete",
]

OK = 200
# What each principal gets for each action on a private database of team "acme".
EXPECTED: dict[str, dict[str, int]] = {
    "anonymous": dict(
        list=401,
        read_sql=404,
        write_sql=404,
        download=404,
        replace=404,
        share_link=404,
        manage_tokens=401,
        manage_members=401,
        delete=404,
    ),
    "viewer": dict(
        list=OK,
        read_sql=OK,
        write_sql=403,
        download=OK,
        replace=403,
        share_link=403,
        manage_tokens=403,
        manage_members=403,
        delete=403,
    ),
    "editor": dict(
        list=OK,
        read_sql=OK,
        write_sql=OK,
        download=OK,
        replace=OK,
        share_link=403,
        manage_tokens=403,
        manage_members=403,
        delete=403,
    ),
    "admin": dict(
        list=OK,
        read_sql=OK,
        write_sql=OK,
        download=OK,
        replace=OK,
        share_link=OK,
        manage_tokens=201,
        manage_members=OK,
        delete=OK,
    ),
    "other_admin": dict(
        list=OK,
        read_sql=404,
        write_sql=404,
        download=404,
        replace=404,
        share_link=404,
        manage_tokens=404,
        manage_members=404,
        delete=404,
    ),
    "read_token": dict(
        list=OK,
        read_sql=OK,
        write_sql=403,
        download=OK,
        replace=403,
        share_link=403,
        manage_tokens=403,
        manage_members=403,
        delete=403,
    ),
    "write_token": dict(
        list=OK,
        read_sql=OK,
        write_sql=OK,
        download=OK,
        replace=OK,
        share_link=403,
        manage_tokens=403,
        manage_members=403,
        delete=403,
    ),
    # Insert-only: it sees the database in the list (without its size or read-only id) and nothing more.
    "insert_token": dict(
        list=OK,
        read_sql=403,
        write_sql=403,
        download=403,
        replace=403,
        share_link=403,
        manage_tokens=403,
        manage_members=403,
        delete=403,
    ),
    "expired_token": {action: 401 for action in ACTIONS},
    "revoked_token": {action: 401 for action in ACTIONS},
}


@dataclass
class World:
    client: TestClient
    root: dict[str, str]
    db_id: str
    victims: dict[str, str]
    auth: dict[str, dict[str, str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    data_dir = tmp_path_factory.mktemp("matrix")
    settings = Settings.from_env(
        data_dir=data_dir, secret_key="k", sql_time_limit_seconds=2, control_plane=control_plane_flag(data_dir)
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        root = bearer(sign_up_and_login(client, "root"))  # first user: server admin, kept out of the matrix
        sessions = acme_team(client)

        def new_db(name: str) -> str:
            response = client.post(
                "/api/dbs",
                headers=sessions["adam"],
                json={
                    "name": name,
                    "team": "acme",
                    "query": "CREATE TABLE items(id INTEGER PRIMARY KEY, label TEXT); INSERT INTO items(label) VALUES ('one')",
                },
            )
            assert response.status_code == 201, response.text
            return response.json()["id"]

        db_id = new_db("main")
        victims = {principal: new_db(f"victim-{principal}") for principal in PRINCIPALS}

        def token(permission: str, expiration: str | None = None) -> str:
            response = client.post(
                "/api/tokens",
                headers=sessions["adam"],
                json={
                    "name": permission,
                    "team_name": "acme",
                    "expiration_utc": expiration,
                    "permissions": [{"db_id": db, "name": permission} for db in [db_id, *victims.values()]],
                },
            )
            assert response.status_code == 201, response.text
            return response.json()["body"]

        # A token that has expired since it was made (one cannot be made with a past expiry): made
        # for a day, then its expiry moved back in the control plane, as time passing would.
        expired = token("read", "2099-01-01T00:00:00Z")
        client.app.state.services.control.execute(
            "UPDATE tokens SET expiration_utc = '2001-01-01T00:00:00.000Z' WHERE id = (SELECT max(id) FROM tokens)"
        )
        revoked = token("write")
        revoked_id = client.get("/api/teams/acme/tokens", headers=sessions["adam"]).json()["tokens"][-1]["id"]
        assert client.delete(f"/api/tokens/{revoked_id}", headers=sessions["adam"]).status_code == 200
        world = World(client, root, db_id, victims)
        world.auth = {
            "anonymous": {},
            "viewer": sessions["vera"],
            "editor": sessions["eddie"],
            "admin": sessions["adam"],
            "other_admin": sessions["otto"],
            "read_token": bearer(token("read")),
            "write_token": bearer(token("write")),
            "insert_token": bearer(token("insert")),
            "expired_token": bearer(expired),
            "revoked_token": bearer(revoked),
        }
        yield world


def snapshot(world: World, db_id: str) -> list:
    response = world.client.post(
        f"/dbs/{db_id}/sql", headers=world.root, json={"query": "SELECT * FROM items ORDER BY id"}
    )
    assert response.status_code == 200
    return response.json()["rows"]


def link(world: World) -> tuple[str, bool]:
    """The read-only link of the database in the registry: its id, and whether it is on."""
    record = world.client.app.state.services.hosting.get(world.db_id)  # type: ignore[attr-defined]
    return record.readonly_id, record.readonly_enabled


def attempt(world: World, principal: str, action: str) -> int:
    client, headers, db_id = world.client, world.auth[principal], world.db_id
    if action == "list":
        response = client.get("/api/dbs", headers=headers)
        if response.status_code == 200:
            listed = {db["id"]: db for db in response.json()["databases"]}
            assert (db_id in listed) == (principal != "other_admin")
            # The read-only id goes to managers only (and is null while the link is off).
            assert all(db["readonlyId"] is None for db in listed.values()) or principal == "admin"
            if db_id in listed:  # its size follows from the rows: not for an insert-only token
                assert (listed[db_id]["size"] is None) == (principal == "insert_token")
        return response.status_code
    if action == "read_sql":
        return client.post(f"/dbs/{db_id}/sql", headers=headers, json={"query": "SELECT label FROM items"}).status_code
    if action == "write_sql":
        return client.post(
            f"/dbs/{db_id}/sql", headers=headers, json={"query": "UPDATE items SET label = label"}
        ).status_code
    if action == "download":
        return client.get(f"/dbs/{db_id}/download", headers=headers).status_code
    if action == "replace":
        same_content = client.get(f"/dbs/{db_id}/download", headers=world.root).content
        return client.put(f"/dbs/{db_id}", headers=headers, files={"file": ("same.sqlite", same_content)}).status_code
    if action == "share_link":  # turn the read-only link on: the link's managers only
        response = client.post(f"/api/dbs/{db_id}/readonly-id", headers=headers)
        assert (response.status_code == 200) == ("readonlyId" in response.text)
        return response.status_code
    if action == "manage_tokens":
        return client.post(
            "/api/tokens",
            headers=headers,
            json={
                "name": "more",
                "team_name": "acme",
                "permissions": [{"db_id": db_id, "name": "read"}],
            },
        ).status_code
    if action == "manage_members":
        return client.patch("/api/teams/acme/members/vera", headers=headers, json={"roles": ["Viewer"]}).status_code
    if action == "delete":
        return client.delete(f"/api/dbs/{world.victims[principal]}", headers=headers).status_code
    raise AssertionError(action)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_permission_matrix(world, principal):
    statuses = {}
    for action in ACTIONS:
        before = snapshot(world, world.db_id)
        link_before = link(world)
        victim_before = world.client.get(f"/api/dbs/{world.victims[principal]}", headers=world.root).status_code
        tokens_before = len(world.client.get("/api/teams/acme/tokens", headers=world.root).json()["tokens"])
        statuses[action] = attempt(world, principal, action)
        if statuses[action] >= 400:  # refused: nothing changed
            assert snapshot(world, world.db_id) == before
            assert link(world) == link_before
            assert (
                world.client.get(f"/api/dbs/{world.victims[principal]}", headers=world.root).status_code
                == victim_before
            )
            assert len(world.client.get("/api/teams/acme/tokens", headers=world.root).json()["tokens"]) == tokens_before
            members = world.client.get("/api/teams/acme/members", headers=world.root).json()["members"]
            assert {"username": "vera", "roles": ["Viewer"]} in members
    assert statuses == EXPECTED[principal]
    if EXPECTED[principal]["delete"] == OK:
        assert world.client.get(f"/api/dbs/{world.victims[principal]}", headers=world.root).status_code == 404


def test_public_databases_are_readable_by_anyone_and_writable_by_nobody_anonymous(world):
    client, admin = world.client, world.auth["admin"]
    db_id = world.victims["viewer"]
    assert client.patch(f"/api/dbs/{db_id}/settings", headers=admin, json={"visibility": "public"}).status_code == 200
    assert client.post(f"/dbs/{db_id}/sql", json={"query": "SELECT count(*) AS n FROM items"}).json()["rows"] == [
        {"n": 1}
    ]
    assert client.post(f"/dbs/{db_id}/sql", json={"query": "DELETE FROM items"}).status_code == 401
    assert (
        client.post(
            f"/dbs/{db_id}/sql", headers=world.auth["other_admin"], json={"query": "DELETE FROM items"}
        ).status_code
        == 403
    )
    assert snapshot(world, db_id) == [{"id": 1, "label": "one"}]
    assert client.patch(f"/api/dbs/{db_id}/settings", headers=admin, json={"visibility": "private"}).status_code == 200
    assert client.post(f"/dbs/{db_id}/sql", json={"query": "SELECT 1"}).status_code == 404


def test_readonly_id_gives_read_access_to_one_database_only(world):
    client = world.client
    readonly_id = client.post(f"/api/dbs/{world.db_id}/readonly-id", headers=world.auth["admin"]).json()["readonlyId"]
    # Anyone holding the id may copy the database into their own team, but must be logged in to own a copy.
    assert client.post(f"/readonly/{readonly_id}/duplicate").status_code == 401
    response = client.post(f"/readonly/{readonly_id}/duplicate", headers=world.auth["other_admin"])
    assert response.status_code == 200
    copy = client.get(f"/api/dbs/{response.json()['id']}", headers=world.auth["other_admin"]).json()
    assert copy["owner"] == "otto"
    # The read-only id is not a database id.
    assert client.post(f"/dbs/{readonly_id}/sql", json={"query": "SELECT 1"}).status_code == 404
    assert client.post(f"/readonly/{'x' * 16}/duplicate", headers=world.auth["other_admin"]).status_code == 404
