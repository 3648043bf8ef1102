"""Issue 16, points 3, 5 and 6: a permission is what it says.

- An insert-only token learns nothing about existing rows through any route: not the rows, not a
  count, not the size, not the read-only id (which would give every row to anyone).
- Restoring a past state (point-in-time restore, the backups window) is for the database's managers:
  a reader of a public database, a team Viewer or Editor, a token get 403, an outsider 404, and no copy.
- The read-only id goes to managers only; the link is off until a manager turns it on; regenerating
  it or turning it off ends the old id at once; making a public database private turns it off.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.core.errors import NotFound
from airsequel.core.registry.control_plane import MIGRATIONS, ControlPlane
from airsequel.http.app import create_app
from tests.helpers import acme_team, bearer, data_files, sign_up_and_login

SECRET = "hunter2-the-secret-row"
SCHEMA = (
    "CREATE TABLE secrets(id INTEGER PRIMARY KEY, s TEXT, f BLOB);"
    f" INSERT INTO secrets(s, f) VALUES ('{SECRET}', x'89504e47'), ('second', NULL), ('third', NULL)"
)


@dataclass
class World:
    client: TestClient
    settings: Settings
    db: str  # private database of team acme
    public_db: str  # public database of team acme
    auth: dict[str, dict[str, str]] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)

    def get(self, who: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.get(path, headers=self.auth[who], **kwargs)

    def stored_readonly_id(self, db: str) -> str:
        """The id in the registry, link on or off (what a leak would show)."""
        return self.client.app.state.services.hosting.get(db).readonly_id  # type: ignore[attr-defined]

    def rows(self, db: str) -> list[str]:
        response = self.client.post(
            f"/dbs/{db}/sql", headers=self.auth["admin"], json={"query": "SELECT s FROM secrets ORDER BY id"}
        )
        assert response.status_code == 200, response.text
        return [row["s"] for row in response.json()["rows"]]

    def database_ids(self) -> set[str]:
        return {d["id"] for d in self.get("admin", "/api/dbs").json()["databases"]} | {
            d["id"] for d in self.get("outsider", "/api/dbs").json()["databases"]
        }


@pytest.fixture
def world(tmp_path: Path) -> World:
    settings = Settings.from_env(data_dir=tmp_path / "data", sql_time_limit_seconds=2.0, secret_key="k")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        sign_up_and_login(client, "root")  # the first user (server admin) stays out of the way
        sessions = acme_team(client)

        def new_db(name: str) -> str:
            response = client.post(
                "/api/dbs", headers=sessions["adam"], json={"name": name, "team": "acme", "query": SCHEMA}
            )
            assert response.status_code == 201, response.text
            return response.json()["id"]

        db, public_db = new_db("private one"), new_db("public one")
        response = client.patch(
            f"/api/dbs/{public_db}/settings", headers=sessions["adam"], json={"visibility": "public"}
        )
        assert response.status_code == 200, response.text
        world = World(client, settings, db, public_db)
        world.auth = {
            "anonymous": {},
            "admin": sessions["adam"],
            "editor": sessions["eddie"],
            "viewer": sessions["vera"],
            "outsider": sessions["otto"],
        }
        for permission in ("read", "write", "insert"):
            response = client.post(
                "/api/tokens",
                headers=sessions["adam"],
                json={
                    "name": permission,
                    "team_name": "acme",
                    "permissions": [{"db_id": d, "name": permission} for d in (db, public_db)],
                },
            )
            assert response.status_code == 201, response.text
            world.auth[f"{permission}_token"] = bearer(response.json()["body"])
            world.token_ids[permission] = client.get("/api/teams/acme/tokens", headers=sessions["adam"]).json()[
                "tokens"
            ][-1]["id"]
        yield world


def turn_on(world: World, db: str) -> str:
    response = world.client.post(f"/api/dbs/{db}/readonly-id", headers=world.auth["admin"])
    assert response.status_code == 200, response.text
    return response.json()["readonlyId"]


def readonly_answers(world: World, readonly_id: str) -> list[int]:
    """The status of every route behind /readonly/:readonlyId, anonymously and as an outsider."""
    statuses = []
    for headers in ({}, world.auth["outsider"]):
        statuses += [
            world.client.post(
                f"/readonly/{readonly_id}/graphql", headers=headers, json={"query": "{ secrets { s } }"}
            ).status_code,
            world.client.get(f"/readonly/{readonly_id}/graphql", headers=headers).status_code,
            world.client.get(
                f"/readonly/{readonly_id}/tables/secrets/columns/f/files/id/1", headers=headers
            ).status_code,
        ]
    statuses.append(world.client.post(f"/readonly/{readonly_id}/duplicate", headers=world.auth["outsider"]).status_code)
    return statuses


# --- point 3: insert-only ----------------------------------------------------------------------------

# What an insert-only token may get a 2xx or 3xx from (everything else refuses it): descriptions of
# the API, the server's status, the list of its databases (without contents), the GraphQL insert API
# and its playground page, and pages and routes that answer without touching a database.
INSERT_ONLY_MAY = {
    ("GET", "/api/dbs"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/api/status"),
    ("GET", "/api/exports"),
    ("POST", "/dbs/{db_id}/graphql"),
    ("GET", "/dbs/{db_id}/graphql"),
    ("GET", "/dbs/{db_id}/graphiql"),  # the same playground at the URL of Airsequel's docs
    ("GET", "/dbs/{db_id}/playground/default-query"),  # a query of the schema, no data
    ("POST", "/api/logout"),
    ("GET", "/"),  # the home page is for users: a token is sent on to the login page
}
PATH_VALUES = {
    "table": "secrets",
    "column": "f",
    "key_column": "id",
    "key_value": "1",
    "term": SECRET[:6],
    "team_name": "acme",
    "username": "adam",
    "name": "SOME_VAR",
    "item_id": "01j0000000000000000000000",
    "asset_id": "01j0000000000000000000000",
    "export_id": "01j0000000000000000000000",
    "job_id": "01j0000000000000000000000",
    "organization_id": "acme",
    "func_id": "f",
    "app_id": "a",
    "kind": "k",
    "version_id": "v",
    "key": "k",
}
BODIES = {
    "/dbs/{db_id}/sql": {"query": "SELECT s FROM secrets"},
    "/dbs/{db_id}/graphql": {"query": "{ __typename }"},
    "/api/exports": {"name": "leak", "databases": ["{db_id}"]},
    "/api/dbs/{db_id}/restore": {},
    "/api/dbs/{db_id}/tables/{table}": {"columns": [{"name": "x", "sqliteDataType": "TEXT"}]},
}


def test_an_insert_only_token_learns_nothing_about_existing_rows_on_any_route(world):
    """Every route of /api/openapi.json (and the web pages), tried with an insert-only token on a
    database whose read-only link is on: no answer holds a row, the size, or the read-only id, and
    only the routes above answer 2xx. Nothing changes meanwhile."""
    readonly_id = turn_on(world, world.db)
    rows_before, dbs_before = world.rows(world.db), world.database_ids()
    files_before = data_files(world.settings)
    headers = world.auth["insert_token"]
    spec = world.client.get("/api/openapi.json").json()
    routes = [(method.upper(), path) for path, methods in spec["paths"].items() for method in methods]
    routes += [("GET", "/"), ("GET", "/teams/{team_name}")]
    assert len(routes) > 80
    answered = {}
    values = {
        **PATH_VALUES,
        "db_id": world.db,
        "database_id": world.db,
        "org": world.db,
        "readonly_id": "x" * 16,
        "token_id": str(world.token_ids["insert"]),
        "node_id": "a",
    }
    for method, path in sorted(routes, key=lambda r: r[1] == "/api/logout"):  # logout last
        url = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)
        body = BODIES.get(path, {})
        body = {k: ([world.db] if v == ["{db_id}"] else v) for k, v in body.items()}
        kwargs = {"json": body} if method in ("POST", "PUT", "PATCH") else {}
        response = world.client.request(method, url, headers=headers, **kwargs)
        answered[(method, path)] = response.status_code
        text = response.text
        assert SECRET not in text and "second" not in text, (method, path, text[:300])
        assert readonly_id not in text, (method, path)
        assert response.status_code != 500, (method, path, text[:300])
        if response.status_code < 400:
            assert (method, path) in INSERT_ONLY_MAY, (method, path, response.status_code, text[:300])
    assert answered[("GET", "/api/dbs")] == 200
    assert answered[("GET", "/api/dbs/{db_id}")] == 403
    assert answered[("POST", "/dbs/{db_id}/sql")] == 403
    assert answered[("GET", "/api/dbs/{db_id}/tables/{table}/records")] == 403
    assert answered[("POST", "/api/dbs/{db_id}/restore")] == 403
    assert world.rows(world.db) == rows_before
    assert world.database_ids() == dbs_before
    assert data_files(world.settings) == files_before


def test_the_database_list_shows_an_insert_only_token_no_contents_and_no_readonly_id(world):
    """The attack of point 3: GET /api/dbs with an insert token listed `readonlyId`, and
    POST /readonly/<it>/graphql then returned every row."""
    readonly_id = turn_on(world, world.db)
    listed = world.get("insert_token", "/api/dbs").json()["databases"]
    mine = next(d for d in listed if d["id"] == world.db)
    assert mine["readonlyId"] is None
    assert mine["size"] is None and mine["lastModifiedUtc"] is None
    assert mine["name"] == "private one" and [t["name"] for t in mine["tables"]] == ["secrets"]
    # A reader token sees the size, but not the read-only id either: only managers do.
    listed = world.get("read_token", "/api/dbs").json()["databases"]
    assert next(d for d in listed if d["id"] == world.db)["readonlyId"] is None
    assert next(d for d in listed if d["id"] == world.db)["size"] > 0
    # What the id would have given: only the manager holds it.
    assert (
        next(d for d in world.get("admin", "/api/dbs").json()["databases"] if d["id"] == world.db)["readonlyId"]
        == readonly_id
    )


# --- point 5: restoring a past state -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "db", "status", "message"),
    [
        ("anonymous", "public_db", 401, "Log in or send an API token to do this"),
        ("outsider", "public_db", 403, "Your access to this database does not allow manage"),
        ("viewer", "db", 403, "Your access to this database does not allow manage"),
        ("editor", "db", 403, "Your access to this database does not allow manage"),
        ("read_token", "db", 403, "Your access to this database does not allow manage"),
        ("write_token", "db", 403, "Your access to this database does not allow manage"),
        ("insert_token", "db", 403, "Your access to this database does not allow manage"),
        ("outsider", "db", 404, None),
    ],
)
def test_only_managers_may_restore_or_see_the_backups_window(world, who, db, status, message):
    """Refused before anything else is looked at (here the server has no replica, and a manager would
    hear that backups are off; the refused caller hears only that it may not)."""
    db_id = getattr(world, db)
    dbs_before, files_before = world.database_ids(), data_files(world.settings)
    headers = world.auth[who]
    for body in ({"timestamp": "2020-01-01T00:00:00Z"}, {}, {"as_new": False}, {"team": "otto"}):
        response = world.client.post(f"/api/dbs/{db_id}/restore", headers=headers, json=body)
        assert response.status_code == status, response.text
        expected = message or f"Database {db_id!r} does not exist"
        assert response.json() == {"errors": [expected]}
    response = world.client.get(f"/api/dbs/{db_id}/backups", headers=headers)
    assert response.status_code == status
    assert world.database_ids() == dbs_before and data_files(world.settings) == files_before
    # The manager gets past the right, to the server's answer about backups.
    response = world.client.post(f"/api/dbs/{db_id}/restore", headers=world.auth["admin"], json={})
    assert response.status_code == 404 and "Backups are off" in response.text


@pytest.mark.slow
@pytest.mark.e2e
def test_a_reader_of_a_public_database_cannot_restore_a_deleted_row(tmp_path):
    """Point 5 exactly, with a real file:// replica: the owner deletes a row; a user who may only read
    the public database asks for a copy as of before the delete and gets 403, and no copy; the
    owner (a manager) gets the row back."""
    import time
    from datetime import UTC, datetime, timedelta

    from tests.test_backups import wait_until

    settings = Settings.from_env(
        data_dir=tmp_path / "data", secret_key="k", replica_url=(tmp_path / "replica").as_uri()
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        owner = bearer(sign_up_and_login(client, "owner"))
        mallory = bearer(sign_up_and_login(client, "mallory"))
        db = client.post("/api/dbs", headers=owner, json={"name": "p", "query": SCHEMA}).json()["id"]
        client.patch(f"/api/dbs/{db}/settings", headers=owner, json={"visibility": "public"})
        assert wait_until(lambda: client.get(f"/api/dbs/{db}/backups", headers=owner).status_code == 200)
        time.sleep(2.5)  # as test_backups.py: a restore point a second old, with shipped frames on both sides
        before_delete = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        time.sleep(1.5)
        assert (
            client.post(f"/dbs/{db}/sql", headers=owner, json={"query": "DELETE FROM secrets WHERE id = 1"}).status_code
            == 200
        )
        assert wait_until(lambda: client.get(f"/api/dbs/{db}/backups", headers=owner).json()["latest"] > before_delete)
        read = client.post(f"/dbs/{db}/sql", headers=mallory, json={"query": "SELECT s FROM secrets"})
        assert read.status_code == 200 and SECRET not in read.text  # mallory may read the public database
        dbs_before = client.get("/api/dbs", headers=mallory).json()["numberOfDatabases"]
        files_before = data_files(settings)
        for body in ({"timestamp": before_delete}, {"timestamp": before_delete, "team": "mallory"}):
            response = client.post(f"/api/dbs/{db}/restore", headers=mallory, json=body)
            assert response.status_code == 403, response.text
            assert response.json() == {"errors": ["Your access to this database does not allow manage"]}
        assert client.get(f"/api/dbs/{db}/backups", headers=mallory).status_code == 403
        assert client.get("/api/dbs", headers=mallory).json()["numberOfDatabases"] == dbs_before
        assert data_files(settings) == files_before
        restored = client.post(f"/api/dbs/{db}/restore", headers=owner, json={"timestamp": before_delete})
        assert restored.status_code == 201, restored.text
        copy = client.post(f"/dbs/{restored.json()['id']}/sql", headers=owner, json={"query": "SELECT s FROM secrets"})
        assert SECRET in copy.text


# --- point 6: the read-only link -----------------------------------------------------------------------


def test_a_new_database_has_its_read_only_link_off(world):
    stored = world.stored_readonly_id(world.public_db)
    for who in ("admin", "editor", "viewer", "read_token", "write_token", "insert_token", "outsider"):
        listed = world.get(who, "/api/dbs").json()["databases"]
        assert all(d["readonlyId"] is None for d in listed), who
    assert world.get("admin", f"/api/dbs/{world.public_db}").json()["readonlyId"] is None
    assert readonly_answers(world, stored) == [404] * 7
    response = world.client.post(f"/readonly/{stored}/graphql", json={"query": "{ secrets { s } }"})
    assert response.json()["errors"][0]["message"] == f"Read-only id {stored!r} does not exist"


def test_only_managers_see_the_read_only_id_once_it_is_on(world):
    readonly_id = turn_on(world, world.public_db)
    assert world.get("admin", f"/api/dbs/{world.public_db}").json()["readonlyId"] == readonly_id
    for who in ("editor", "viewer", "read_token", "write_token", "outsider", "anonymous"):
        answer = world.get(who, f"/api/dbs/{world.public_db}")
        assert answer.status_code == 200, (who, answer.text)
        assert answer.json()["readonlyId"] is None and readonly_id not in answer.text, who
        page = world.get(who, f"/dbs/{world.public_db}")
        assert readonly_id not in page.text, who
    assert readonly_id in world.get("admin", f"/dbs/{world.public_db}").text  # the manager's web page
    statuses = readonly_answers(world, readonly_id)
    assert statuses == [200, 200, 200, 200, 200, 200, 200], statuses
    rows = world.client.post(f"/readonly/{readonly_id}/graphql", json={"query": "{ secrets { s } }"}).json()
    assert rows["data"]["secrets"][0]["s"] == SECRET


@pytest.mark.parametrize("who", ["editor", "viewer", "read_token", "write_token", "insert_token", "outsider"])
def test_only_managers_turn_the_link_on_or_off(world, who):
    readonly_id = turn_on(world, world.db)
    expected = 404 if who == "outsider" else 403
    for method, path in (
        ("POST", f"/api/dbs/{world.db}/readonly-id"),
        ("DELETE", f"/api/dbs/{world.db}/readonly-id"),
        ("POST", f"/dbs/{world.db}/regenerate-readonly-id"),
    ):
        response = world.client.request(method, path, headers=world.auth[who])
        assert response.status_code == expected, (method, path, response.text)
        assert readonly_id not in response.text
    assert world.stored_readonly_id(world.db) == readonly_id
    assert readonly_answers(world, readonly_id)[0] == 200


def test_regenerating_the_link_ends_the_old_id_and_turning_it_off_ends_it(world):
    first = turn_on(world, world.db)
    response = world.client.post(
        f"/dbs/{world.db}/regenerate-readonly-id", headers={**world.auth["admin"], "Accept": "application/json"}
    )
    second = response.json()["readonlyId"]
    assert second != first
    assert readonly_answers(world, first) == [404] * 7
    assert readonly_answers(world, second) == [200] * 7
    response = world.client.delete(f"/api/dbs/{world.db}/readonly-id", headers=world.auth["admin"])
    assert response.status_code == 200 and response.json() == {"readonlyId": None}
    assert readonly_answers(world, second) == [404] * 7
    assert world.get("admin", f"/api/dbs/{world.db}").json()["readonlyId"] is None
    third = turn_on(world, world.db)  # on again: a fresh id, never the old one
    assert third not in (first, second)
    assert readonly_answers(world, second) == [404] * 7


def test_making_a_public_database_private_ends_anonymous_access_through_its_link(world):
    """Point 6: after a public database is made private again, the id kept working."""
    readonly_id = turn_on(world, world.public_db)
    assert readonly_answers(world, readonly_id)[0] == 200
    settings = f"/api/dbs/{world.public_db}/settings"
    assert world.client.patch(settings, headers=world.auth["admin"], json={"visibility": "private"}).status_code == 200
    assert readonly_answers(world, readonly_id) == [404] * 7
    assert world.client.post(f"/dbs/{world.public_db}/sql", json={"query": "SELECT s FROM secrets"}).status_code == 404
    assert world.get("admin", f"/api/dbs/{world.public_db}").json()["readonlyId"] is None
    # The owner may share the private database by link again, explicitly; saving settings that keep
    # it private (the web form sends the visibility every time) leaves that link alone.
    again = turn_on(world, world.public_db)
    assert world.client.patch(settings, headers=world.auth["admin"], json={"visibility": "private"}).status_code == 200
    assert world.client.patch(settings, headers=world.auth["admin"], json={"schemaLocked": False}).status_code == 200
    assert readonly_answers(world, again) == [200] * 7


def test_a_removed_member_or_deleted_token_keeps_nothing_through_the_read_only_id(world):
    """What a former reader could have seen: the id was never shown to them, so it cannot outlive
    their access. A former manager saw it: the remaining managers regenerate or turn it off."""
    readonly_id = turn_on(world, world.db)
    seen_by_viewer = world.get("viewer", f"/api/dbs/{world.db}").text + world.get("viewer", f"/dbs/{world.db}").text
    seen_by_token = world.get("read_token", "/api/dbs").text + world.get("read_token", f"/api/dbs/{world.db}").text
    assert readonly_id not in seen_by_viewer and readonly_id not in seen_by_token
    assert world.client.delete("/api/teams/acme/members/vera", headers=world.auth["admin"]).status_code == 200
    assert world.get("viewer", f"/api/dbs/{world.db}").status_code == 404
    assert world.client.delete(f"/api/tokens/{world.token_ids['read']}", headers=world.auth["admin"]).status_code == 200
    assert world.get("read_token", f"/api/dbs/{world.db}").status_code == 401


@pytest.mark.sqlite_control_plane
def test_on_upgrade_existing_databases_have_their_link_off(tmp_path):
    """A control plane of before the change (schema 7) with a database whose id was handed out: the
    migration turns the link off; a manager turns it on again with a fresh id."""
    path = tmp_path / "control.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:7], start=1):
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version={number}")
    conn.execute(
        "INSERT INTO databases(file_key, id, readonly_id, name, created_utc, ownership_utc, last_modified_utc)"
        " VALUES ('k1', 'db1', 'oldreadonlyid000', 'old', 'x', 'x', 'x')"
    )
    conn.close()
    control = ControlPlane(path)
    try:
        record = control.database_by("readonly_id", "oldreadonlyid000")
        assert record is not None and record.readonly_enabled is False
        assert control.query("PRAGMA user_version")[0][0] == len(MIGRATIONS)
    finally:
        control.close()


def test_a_stored_id_whose_link_is_off_is_not_found(services):
    from airsequel.core.storage.new_databases import new_record

    record = new_record("x", owner=None, created_by=None)
    services.control.insert_database(record)
    with pytest.raises(NotFound, match="does not exist"):
        services.hosting.get_by_readonly_id(record.readonly_id)
    new_id = services.hosting.regenerate_readonly_id(record)
    assert services.hosting.get_by_readonly_id(new_id).file_key == record.file_key
    with pytest.raises(NotFound):
        services.hosting.get_by_readonly_id(record.readonly_id)
    services.hosting.turn_off_readonly_id(record)
    with pytest.raises(NotFound):
        services.hosting.get_by_readonly_id(new_id)
