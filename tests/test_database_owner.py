"""PATCH /api/dbs/:dbId {"owner": team} moves a database to another team; POST /api/dbs records
`fileFormat` ('sqlite' or 'csv') and refuses any other value."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import acme_team, bearer, sql


def _create(client: TestClient, headers: dict[str, str], name: str, team: str | None = None) -> str:
    body: dict[str, Any] = {"name": name, "query": "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (42);"}
    if team:
        body["team"] = team
    response = client.post("/api/dbs", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _shown(client: TestClient, db_id: str) -> dict[str, Any]:
    response = client.get(f"/api/dbs/{db_id}")  # alice: server admin
    assert response.status_code == 200, response.text
    return response.json()


def _listed(client: TestClient, headers: dict[str, str]) -> set[str]:
    return {database["id"] for database in client.get("/api/dbs", headers=headers).json()["databases"]}


@pytest.mark.parametrize("owner", ["acme", "ACME", {"tag": "TextValue", "contents": "acme"}])
def test_a_manager_moves_a_database_into_a_team_they_may_create_in(client: TestClient, owner: object) -> None:
    sessions = acme_team(client)
    db_id = _create(client, sessions["adam"], "mine")
    assert (
        client.patch(f"/api/dbs/{db_id}/settings", headers=sessions["adam"], json={"auditing": True}).status_code == 200
    )
    before = _shown(client, db_id)
    assert before["owner"] == "adam" and db_id not in _listed(client, sessions["eddie"])

    response = client.patch(f"/api/dbs/{db_id}", headers=sessions["adam"], json={"owner": owner, "name": "ours"})
    assert response.status_code == 200, response.text
    after = _shown(client, db_id)
    assert (after["owner"], after["name"]) == ("acme", "ours")
    assert db_id in _listed(client, sessions["eddie"])  # the team's members see it now
    assert sql(client, db_id, "SELECT x FROM t").json()["rows"] == [{"x": 42}]
    ownership = client.get("/api/dbs", headers=sessions["adam"]).json()["databases"]
    assert [d for d in ownership if d["id"] == db_id][0]["owner"] == "acme"
    entries = client.get(f"/api/dbs/{db_id}/audit", headers=sessions["adam"]).json()["entries"]
    assert [e["statement"] for e in entries if e["kind"] == "move"] == ["moved from team 'adam' to team 'acme'"]


def test_moving_needs_the_right_to_manage_the_database(client: TestClient) -> None:
    sessions = acme_team(client)
    db_id = _create(client, sessions["eddie"], "team db", team="acme")  # eddie is an Editor: no manage
    response = client.patch(f"/api/dbs/{db_id}", headers=sessions["eddie"], json={"owner": "eddie"})
    assert response.status_code == 403
    assert _shown(client, db_id)["owner"] == "acme"


@pytest.mark.parametrize(
    ("owner", "status", "words"),
    [
        ("otto", 404, "otto"),  # a team adam is no member of: not shown to exist
        ("no-such-team", 404, "no-such-team"),
        ("  ", 400, "owner must name a team"),
        (None, 400, "owner cannot be null"),
        ({"tag": "TextNull"}, 400, "owner cannot be null"),
        (7, 400, "owner"),
    ],
)
def test_a_move_that_is_refused_changes_nothing(client: TestClient, owner: object, status: int, words: str) -> None:
    sessions = acme_team(client)
    db_id = _create(client, sessions["adam"], "mine")
    before = _shown(client, db_id)
    response = client.patch(f"/api/dbs/{db_id}", headers=sessions["adam"], json={"owner": owner, "name": "renamed"})
    assert response.status_code == status, response.text
    assert words in response.json()["errors"][0]
    after = _shown(client, db_id)
    assert (after["owner"], after["name"], after["description"]) == (before["owner"], "mine", before["description"])


def test_the_target_teams_quota_applies(client: TestClient) -> None:
    sessions = acme_team(client)
    _create(client, sessions["adam"], "already in acme", team="acme")
    db_id = _create(client, sessions["adam"], "mine")
    assert client.patch("/api/settings", json={"teamMaxDatabases": 1}).status_code == 200
    response = client.patch(f"/api/dbs/{db_id}", headers=sessions["adam"], json={"owner": "acme"})
    assert response.status_code == 429
    assert "team_max_databases" in response.json()["errors"][0]
    assert _shown(client, db_id)["owner"] == "adam"


def test_the_old_teams_tokens_lose_the_moved_database(client: TestClient) -> None:
    sessions = acme_team(client)
    db_id = _create(client, sessions["adam"], "team db", team="acme")
    token = client.post(
        "/api/tokens",
        headers=sessions["adam"],
        json={
            "name": "t",
            "team_name": "acme",
            "expiration_utc": None,
            "permissions": [{"db_id": db_id, "name": "read"}],
        },
    )
    assert token.status_code in (200, 201), token.text
    as_token = bearer(token.json()["body"])
    assert sql_as(client, db_id, as_token).status_code == 200
    assert client.patch(f"/api/dbs/{db_id}", headers=sessions["adam"], json={"owner": "adam"}).status_code == 200
    assert sql_as(client, db_id, as_token).status_code == 404  # its grant went with the old team
    assert _shown(client, db_id)["owner"] == "adam"


def sql_as(client: TestClient, db_id: str, headers: dict[str, str]):
    return client.post(f"/dbs/{db_id}/sql", headers=headers, json={"query": "SELECT x FROM t"})


@pytest.mark.parametrize(
    ("given", "recorded"), [(None, "sqlite"), ("sqlite", "sqlite"), ("csv", "csv"), ("CSV", "csv")]
)
def test_file_format_is_recorded(client: TestClient, given: str | None, recorded: str) -> None:
    body: dict[str, Any] = {"name": "formats", "query": "CREATE TABLE users (name TEXT, email TEXT)"}
    if given is not None:
        body["fileFormat"] = given
    response = client.post("/api/dbs", json=body)
    assert response.status_code == 201, response.text
    assert _shown(client, response.json()["id"])["fileFormat"] == recorded


@pytest.mark.parametrize("given", ["xlsx", "", 5, ["csv"]])
def test_an_unknown_file_format_is_refused(client: TestClient, given: object) -> None:
    before = client.get("/api/dbs").json()["numberOfDatabases"]
    response = client.post("/api/dbs", json={"name": "formats", "fileFormat": given})
    assert response.status_code == 400
    assert response.json()["errors"] == [f"fileFormat must be 'sqlite' or 'csv', got {given!r}"]
    assert client.get("/api/dbs").json()["numberOfDatabases"] == before


def test_moving_needs_the_right_to_create_databases_in_the_target_team(client: TestClient) -> None:
    sessions = acme_team(client)
    db_id = _create(client, sessions["vera"], "vera's own")  # vera manages it; she is a Viewer of acme
    response = client.patch(f"/api/dbs/{db_id}", headers=sessions["vera"], json={"owner": "acme"})
    assert response.status_code == 403, response.text
    assert _shown(client, db_id)["owner"] == "vera"
