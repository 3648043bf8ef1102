"""What the web UI's management forms rely on the server to refuse (issue 21, "Managing things"): a token
with no permission, and a team left without an Admin. Each refusal is a 400 or 409 with a message, and
nothing changes."""

from __future__ import annotations

from tests.helpers import acme_team, create_db


def test_a_token_with_no_permission_is_refused_and_not_stored(client):
    create_db(client)
    before = client.get("/api/teams/alice/tokens").json()
    message = "A token needs at least one permission: 'read', 'write' or 'insert' on a database of the team"
    for body in (
        {"name": "empty", "team_name": "alice", "permissions": []},
        {"name": "none given", "team_name": "alice"},
    ):
        answer = client.post("/api/tokens", json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json() == {"errors": [message]}
    assert client.get("/api/teams/alice/tokens").json() == before


def test_a_token_cannot_lose_its_last_permission(client):
    db_id = create_db(client)
    made = client.post(
        "/api/tokens", json={"name": "t", "team_name": "alice", "permissions": [{"db_id": db_id, "name": "insert"}]}
    )
    assert made.status_code == 201, made.text
    token_id = made.json()["id"]
    answer = client.patch(f"/api/tokens/{token_id}", json={"name": "renamed", "permissions": []})
    assert answer.status_code == 400
    assert answer.json() == {
        "errors": ["A token needs at least one permission: 'read', 'write' or 'insert' on a database of the team"]
    }
    kept = client.get(f"/api/tokens/{token_id}").json()
    assert kept["name"] == "t"  # all or nothing: the name did not change either
    assert [(p["db_id"], p["name"]) for p in kept["permissions"]] == [(db_id, "insert")]


def test_the_last_admin_can_be_neither_removed_nor_demoted(client):
    sessions = acme_team(client)
    before = client.get("/api/teams/acme/members").json()
    removed = client.delete("/api/teams/acme/members/adam", headers=sessions["adam"])
    assert removed.status_code == 409
    assert removed.json() == {"errors": ["A team needs at least one Admin"]}
    demoted = client.patch("/api/teams/acme/members/adam", headers=sessions["adam"], json={"roles": ["Editor"]})
    assert demoted.status_code == 409
    assert demoted.json() == {"errors": ["A team needs at least one Admin"]}
    assert client.get("/api/teams/acme/members").json() == before
    # With a second Admin, the first may go.
    promoted = client.patch("/api/teams/acme/members/eddie", headers=sessions["adam"], json={"roles": ["Admin"]})
    assert promoted.status_code == 200
    assert client.delete("/api/teams/acme/members/adam", headers=sessions["eddie"]).status_code == 200
    assert "adam" not in [m["username"] for m in client.get("/api/teams/acme/members").json()["members"]]
