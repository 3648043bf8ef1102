"""Users, sessions, teams and tokens over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.core.clock import ManualClock
from airsequel.http.app import create_app
from tests.helpers import PASSWORD, bearer, create_db, sign_up_and_login


def sign_up(client, username, email=None, password=PASSWORD, headers=None):
    return client.post(
        "/api/users",
        headers=headers or {},
        json={
            "username": username,
            "email_address": email or f"{username}@example.org",
            "password": password,
        },
    )


@pytest.mark.parametrize(
    "username, email, password",
    [
        ("x", "x@example.org", PASSWORD),  # too short
        ("has space", "s@example.org", PASSWORD),
        ("../etc", "e@example.org", PASSWORD),
        ("okname", "not-an-email", PASSWORD),
        ("okname", "ok@example.org", "short"),
    ],
)
def test_sign_up_validates(anonymous, username, email, password):
    response = sign_up(anonymous, username, email, password)
    assert response.status_code == 400 and response.json()["errors"]


def test_first_user_is_server_admin_and_duplicates_conflict(anonymous):
    alice = bearer(sign_up_and_login(anonymous, "alice"))
    bob = bearer(sign_up_and_login(anonymous, "bob"))
    assert anonymous.get("/api/users/alice", headers=alice).json() == {
        "emailVerified": False,  # no SMTP server here: no verification mail (docs/mail.md)
        "serverRoles": ["admin"],
        "teams": [{"billing": None, "name": "alice", "numberOfDatabases": 0}],
        "username": "alice",
    }
    assert anonymous.get("/api/users/bob", headers=bob).json()["serverRoles"] == []
    assert anonymous.get("/api/users/alice", headers=bob).status_code == 404
    assert anonymous.get("/api/users/bob", headers=alice).status_code == 200
    assert anonymous.get("/api/users/bob").status_code == 401
    assert sign_up(anonymous, "ALICE").status_code == 409
    assert sign_up(anonymous, "carol", email="alice@example.org").status_code == 409


@pytest.mark.sqlite_control_plane
def test_password_is_never_returned_or_stored_plain(anonymous, settings):
    sign_up_and_login(anonymous, "alice")
    raw = b"".join(path.read_bytes() for path in settings.data_dir.glob("control.sqlite*"))
    assert PASSWORD.encode() not in raw
    assert b"$argon2" in raw


def test_closed_sign_up_still_lets_a_server_admin_create_users(tmp_path):
    settings = Settings.from_env(data_dir=tmp_path / "d", signup="closed", secret_key="k")
    with TestClient(create_app(settings)) as client:
        assert sign_up(client, "alice").status_code == 403
    # The operator creates the first admin with the CLI, then that admin creates users.
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "airsequel",
            "create-user",
            "root",
            "--email",
            "root@example.org",
            "--password-stdin",
            "--server-admin",
            "--data-dir",
            str(settings.data_dir),
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    with TestClient(create_app(settings)) as client:
        token = client.post("/api/login", json={"username": "root", "password": PASSWORD}).json()["sessionToken"]
        assert sign_up(client, "newbie", headers=bearer(token)).status_code == 201
        assert sign_up(client, "intruder").status_code == 403


def test_wrong_credentials_same_message_and_rate_limited(anonymous):
    sign_up(anonymous, "alice")
    unknown = anonymous.post("/api/login", json={"username": "nobody", "password": "whatever1"})
    wrong = anonymous.post("/api/login", json={"username": "alice", "password": "whatever1"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    for _ in range(4):
        assert anonymous.post("/api/login", json={"username": "alice", "password": "nope-nope"}).status_code == 401
    # Five failures for alice from this address: this address waits, even with the right password ...
    limited = anonymous.post("/api/login", json={"username": "alice", "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert limited.json() == {"errors": [f"Too many failed logins: try again in {limited.headers['retry-after']} s"]}
    # ... but alice, from her own address, logs in: nobody can lock her out.
    with TestClient(anonymous.app, client=("192.0.2.80", 50000)) as elsewhere:
        assert elsewhere.post("/api/login", json={"username": "alice", "password": PASSWORD}).status_code == 200


def test_logout_ends_the_session_server_side(anonymous):
    token = sign_up_and_login(anonymous, "alice")
    assert anonymous.get("/api/dbs", headers=bearer(token)).status_code == 200
    assert anonymous.post("/api/logout", headers=bearer(token)).status_code == 200
    assert anonymous.get("/api/dbs", headers=bearer(token)).status_code == 401


def test_session_cookie_works_and_cross_site_changes_are_refused(anonymous):
    sign_up(anonymous, "alice")
    response = anonymous.post("/api/login", json={"username": "alice", "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert response.json()["sessionToken"] not in cookie  # signed, not the raw token
    assert anonymous.get("/api/dbs").status_code == 200
    refused = anonymous.post("/api/dbs", json={"name": "x"}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert anonymous.post("/api/dbs", json={"name": "x"}).status_code == 403  # no Origin, no Referer
    same_site = anonymous.post("/api/dbs", json={"name": "x"}, headers={"Origin": "http://testserver"})
    assert same_site.status_code == 201
    assert anonymous.get("/api/dbs").json()["numberOfDatabases"] == 1
    anonymous.cookies.clear()
    anonymous.cookies.set("airsequel_session", "forged-value")
    assert anonymous.get("/api/dbs").status_code == 401


def test_password_reset_via_outbox_is_single_use(anonymous, settings):
    old_session = sign_up_and_login(anonymous, "alice")
    assert anonymous.post("/api/users/reset-password", json={"email": "nobody@example.org"}).json() == {}
    assert not (settings.data_dir / "outbox").exists()
    assert anonymous.post("/api/users/reset-password", json={"email": "alice@example.org"}).json() == {}
    [message] = list((settings.data_dir / "outbox").iterdir())
    key = message.read_text().split("single use):\n")[1].split("\n")[0]
    new_password = "a brand new password"
    assert (
        anonymous.post("/api/users/reset-password/submit", json={"resetKey": key, "password": new_password}).status_code
        == 200
    )
    assert (
        anonymous.post(
            "/api/users/reset-password/submit", json={"resetKey": key, "password": "another one!"}
        ).status_code
        == 400
    )
    assert anonymous.get("/api/dbs", headers=bearer(old_session)).status_code == 401
    assert anonymous.post("/api/login", json={"username": "alice", "password": new_password}).status_code == 200


def test_teams_members_and_last_admin(client):
    bob = bearer(sign_up_and_login(client, "bob"))
    assert client.post("/api/teams", json={"name": "acme"}).status_code == 201
    assert client.post("/api/teams", json={"name": "acme"}).status_code == 409
    assert client.post("/api/teams", json={"name": "bob"}).status_code == 409  # a username
    db_id = client.post("/api/dbs", json={"name": "d", "team": "acme"}).json()["id"]
    assert client.get("/api/teams/acme", headers=bob).status_code == 404
    assert client.patch("/api/teams/acme/members/bob", json={"roles": ["Editor"]}).status_code == 200
    team = client.get("/api/teams/acme", headers=bob).json()
    assert team["name"] == "acme" and [db["id"] for db in team["databases"]] == [db_id]
    assert client.get("/api/teams/acme/members").json()["members"] == [
        {"username": "alice", "roles": ["Admin"]},
        {"username": "bob", "roles": ["Editor"]},
    ]
    assert client.patch("/api/teams/acme/members/bob", json={"roles": ["Boss"]}).status_code == 400
    assert client.patch("/api/teams/acme/members/alice", json={"roles": ["Viewer"]}).status_code == 409
    assert client.delete("/api/teams/acme/members/alice").status_code == 409
    assert client.get("/api/teams/acme/members").json()["members"][0] == {"username": "alice", "roles": ["Admin"]}
    # Renaming moves the databases along.
    assert (
        client.patch("/api/teams/acme", json={"name": "acme-corp", "billing_plan": "pro"}).json()["billing"]["plan"]
        == "pro"
    )
    assert client.get(f"/api/dbs/{db_id}").json()["owner"] == "acme-corp"
    assert client.delete("/api/teams/acme-corp").status_code == 409  # still owns a database
    assert client.delete("/api/teams/acme-corp/members/bob", headers=bob).status_code == 200  # leaving
    client.delete(f"/api/dbs/{db_id}")
    assert client.delete("/api/teams/acme-corp").status_code == 200


def test_tokens_shown_once_scoped_to_their_team(client):
    db_id = create_db(client, "CREATE TABLE t(a)")
    bob = bearer(sign_up_and_login(client, "bob"))
    bobs_db = client.post("/api/dbs", headers=bob, json={"name": "bobs"}).json()["id"]
    created = client.post(
        "/api/tokens",
        json={
            "name": "ci",
            "description": "for CI",
            "team_name": "alice",
            "permissions": [{"db_id": db_id, "name": "write"}],
        },
    )
    assert created.status_code == 201
    token = created.json()
    assert token["body"].startswith("ast_") and len(token["body"]) >= 36
    assert token["permissions"] == [{"db_id": db_id, "db_name": "test", "name": "write"}]
    shown = client.get(f"/api/tokens/{token['id']}").json()
    assert shown["body"].endswith("…") and token["body"] not in str(shown)
    # A token may only name databases of its team.
    refused = client.post(
        "/api/tokens", json={"name": "x", "team_name": "alice", "permissions": [{"db_id": bobs_db, "name": "read"}]}
    )
    assert refused.status_code == 400
    # Tokens cannot mint tokens, nor see databases they do not name.
    as_token = bearer(token["body"])
    assert (
        client.post(
            "/api/tokens", headers=as_token, json={"name": "y", "team_name": "alice", "permissions": []}
        ).status_code
        == 403
    )
    assert [db["id"] for db in client.get("/api/dbs", headers=as_token).json()["databases"]] == [db_id]
    assert client.get(f"/api/tokens/{token['id']}", headers=bob).status_code == 404
    assert client.get(f"/api/tokens/{token['id']}").json()["last_used_utc"] is not None
    # PATCH with the reference's tagged values.
    patched = client.patch(
        f"/api/tokens/{token['id']}",
        json={
            "name": "renamed",
            "description": {"tag": "TextValue", "contents": "new"},
            "expiration_utc": {"tag": "TextNull"},
        },
    ).json()
    assert (patched["name"], patched["description"], patched["expiration_utc"]) == ("renamed", "new", None)
    assert client.patch(f"/api/tokens/{token['id']}", json={"team_name": "bob"}).status_code == 400
    assert client.get("/api/teams/alice/tokens").json()["tokens"][0]["name"] == "renamed"
    # Expiry and revocation take effect at once.
    client.patch(f"/api/tokens/{token['id']}", json={"expiration_utc": "2000-01-01T00:00:00Z"})
    assert client.post(f"/dbs/{db_id}/sql", headers=as_token, json={"query": "SELECT 1"}).status_code == 401
    client.patch(f"/api/tokens/{token['id']}", json={"expiration_utc": None})
    assert client.post(f"/dbs/{db_id}/sql", headers=as_token, json={"query": "SELECT 1"}).status_code == 200
    assert client.delete(f"/api/tokens/{token['id']}").status_code == 200
    assert client.post(f"/dbs/{db_id}/sql", headers=as_token, json={"query": "SELECT 1"}).status_code == 401
    assert client.get(f"/api/tokens/{token['id']}").status_code == 404


def test_a_token_stops_working_when_it_expires_while_remembered(client):
    """The principal of a token is cached; its expiry is checked on every request all the same."""
    services = client.app.state.services
    clock = ManualClock()
    services.tokens.clock = services.principals.clock = clock
    db_id = create_db(client, "CREATE TABLE t(a)")
    expires = clock.now() + timedelta(hours=1)
    body = client.post(
        "/api/tokens",
        json={
            "name": "brief",
            "team_name": "alice",
            "expiration_utc": expires.isoformat().replace("+00:00", "Z"),
            "permissions": [{"db_id": db_id, "name": "read"}],
        },
    ).json()["body"]

    def answer() -> int:
        return client.post(f"/dbs/{db_id}/sql", headers=bearer(body), json={"query": "SELECT 1"}).status_code

    # The first use records last_used_utc (a control-plane write); the second is served from the cache.
    assert [answer(), answer()] == [200, 200]
    assert services.principals.cached(body) is not None
    clock.advance(3599)
    assert answer() == 200
    clock.advance(1)
    assert answer() == 401
    assert answer() == 401


def test_insert_token_cannot_read_through_sql(client):
    db_id = create_db(client, "CREATE TABLE t(a)")
    body = client.post(
        "/api/tokens", json={"name": "form", "team_name": "alice", "permissions": [{"db_id": db_id, "name": "insert"}]}
    ).json()["body"]
    assert client.post(f"/dbs/{db_id}/sql", headers=bearer(body), json={"query": "SELECT * FROM t"}).status_code == 403
    assert (
        client.post(f"/dbs/{db_id}/sql", headers=bearer(body), json={"query": "INSERT INTO t VALUES (1)"}).status_code
        == 403
    )


def test_a_password_reset_ends_every_other_outstanding_key(anonymous, settings):
    """Issue 16, point 20: a second reset key, requested earlier (a mail someone else may have read),
    stopped nothing when the first was used."""
    session = sign_up_and_login(anonymous, "alice")
    for _ in range(3):
        assert anonymous.post("/api/users/reset-password", json={"email": "alice@example.org"}).status_code == 200
    keys = [
        message.read_text().split("single use):\n")[1].split("\n")[0]
        for message in sorted((settings.data_dir / "outbox").iterdir())
    ]
    assert len(set(keys)) == 3
    submit = "/api/users/reset-password/submit"
    assert anonymous.post(submit, json={"resetKey": keys[1], "password": "the new password"}).status_code == 200
    for key in (keys[0], keys[2]):
        refused = anonymous.post(submit, json={"resetKey": key, "password": "an attacker's one"})
        assert refused.status_code == 400
        assert refused.json() == {"errors": ["The reset key is unknown, used or expired"]}
    assert anonymous.post("/api/login", json={"username": "alice", "password": "an attacker's one"}).status_code == 401
    assert anonymous.post("/api/login", json={"username": "alice", "password": "the new password"}).status_code == 200
    assert anonymous.get("/api/dbs", headers=bearer(session)).status_code == 401  # sessions ended too
    services = anonymous.app.state.services
    assert services.control.query("SELECT count(*) FROM password_resets")[0][0] == 0


def test_a_token_cannot_be_made_already_expired(client):
    before = client.get("/api/teams/alice/tokens")
    answer = client.post(
        "/api/tokens",
        json={"name": "late", "team_name": "alice", "expiration_utc": "2001-01-01T00:00:00Z", "permissions": []},
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "errors": ["expiration_utc 2001-01-01T00:00:00Z is already past: give a time in the future, or null for none"]
    }
    assert client.get("/api/teams/alice/tokens").json() == before.json()
