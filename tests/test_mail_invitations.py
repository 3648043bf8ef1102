"""POST /api/users/invite, sign-up with an invitation and GET /verify-email/:key, without SMTP (the outbox
directory): who may invite, each refusal with its status and message and nothing stored or written, single use,
the address bound to the key. The SMTP password is never shown back by the settings API."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from airsequel.config import Settings
from tests.helpers import PASSWORD, sign_up_and_login


def _outbox(settings: Settings) -> list[Path]:
    folder = settings.data_dir / "outbox"
    return sorted(folder.glob("*-invitation-*.txt")) if folder.exists() else []


def _invitations(client: TestClient) -> int:
    control = client.app.state.services.control  # type: ignore[attr-defined]
    return int(control.query("SELECT count(*) FROM invitations")[0][0])


def _key(message: Path) -> str:
    lines = message.read_text().splitlines()
    return lines[lines.index("Invitation key (to sign up through the API, as invitationKey):") + 1]


def test_who_may_invite_and_each_refusal(client: TestClient, settings: Settings):
    bob = {"Authorization": f"Bearer {sign_up_and_login(client, 'bob')}"}
    carol = {"Authorization": f"Bearer {sign_up_and_login(client, 'carol')}"}
    assert client.post("/api/teams", json={"name": "acme"}).status_code in (200, 201)
    assert client.patch("/api/teams/acme/members/carol", json={"roles": ["Editor"]}).status_code == 200
    refusals = [
        ({"Authorization": ""}, {"email": "x@example.com"}, 401, "Log in"),
        (bob, {"email": "x@example.com"}, 403, "Only server admins invite people to the server"),
        (bob, {"email": "x@example.com", "team": "acme"}, 404, "Team 'acme' does not exist"),
        (carol, {"email": "x@example.com", "team": "acme"}, 403, "do not allow this (administer)"),
        (None, {"email": "not an address"}, 400, "email"),
        (None, {"email": "x@example.com", "role": "Editor"}, 400, '"role" is the role in a team'),
        (None, {"email": "x@example.com", "team": "acme", "role": "Owner"}, 400, "role"),
        (None, {"email": "bob@example.org"}, 409, "An account with this email address exists already"),
        (None, {"email": "x@example.com", "tema": "acme"}, 400, "Unknown field 'tema'"),
    ]
    for headers, body, status, message in refusals:
        answer = client.post("/api/users/invite", json=body, headers=headers or {})
        assert answer.status_code == status, (body, answer.text)
        assert message in answer.json()["errors"][0], (body, answer.text)
    assert _invitations(client) == 0 and _outbox(settings) == []

    # bob, Admin of his personal team, invites there; alice (server admin) to the server
    assert client.post("/api/users/invite", json={"email": "dan@example.com", "team": "bob"}, headers=bob).json() == {}
    assert client.post("/api/users/invite", json={"email": "eve@example.com"}).json() == {}
    assert _invitations(client) == 2 and len(_outbox(settings)) == 2


def test_an_invitation_signs_up_once_with_its_address_while_signup_is_closed(client: TestClient, settings: Settings):
    assert client.patch("/api/settings", json={"signup": "closed"}, headers={"Host": "localhost"}).status_code == 200
    assert client.post("/api/users/invite", json={"email": "Dan@Example.com", "team": "alice"}).status_code == 200
    [message] = _outbox(settings)
    text = message.read_text()
    assert text.startswith("To: Dan@Example.com\nSubject: alice invites you to airsequel\n")
    assert "http://127.0.0.1:4185/signup?invitation=" in text  # the listen address: no public_url set
    key = _key(message)
    stranger = TestClient(client.app)
    dan = {"username": "dan", "email_address": "dan@example.com", "password": PASSWORD}
    assert stranger.post("/api/users", json=dan).status_code == 403  # sign-up is closed
    wrong = stranger.post("/api/users", json={**dan, "email_address": "other@example.com", "invitationKey": key})
    assert wrong.status_code == 400 and "This invitation is for Dan@Example.com" in wrong.json()["errors"][0]
    assert stranger.post("/api/login", json={"username": "dan", "password": PASSWORD}).status_code == 401  # no user
    assert _invitations(client) == 1  # the refused sign-up left the key as it was
    assert stranger.post("/api/users", json={**dan, "invitationKey": key}).status_code == 201
    login = stranger.post("/api/login", json={"username": "dan", "password": PASSWORD}).json()
    profile = stranger.get("/api/users/dan", headers={"Authorization": f"Bearer {login['sessionToken']}"}).json()
    assert profile["emailVerified"] is True
    stranger.cookies.clear()  # the login's session cookie (a cookie-authenticated POST needs an Origin)
    assert {"username": "dan", "roles": ["Viewer"]} in client.get("/api/teams/alice/members").json()["members"]
    again = {**dan, "username": "dan2", "email_address": "dan2@example.com", "invitationKey": key}
    used = stranger.post("/api/users", json=again)
    assert used.status_code == 400 and "unknown, used or expired" in used.json()["errors"][0]
    both = stranger.post("/api/users", json={**again, "setupKey": "x"})
    assert both.status_code == 400 and "not both" in both.json()["errors"][0]
    assert _invitations(client) == 0


def test_without_smtp_no_verification_mail_and_unknown_keys_are_a_400_page(client: TestClient, settings: Settings):
    sign_up_and_login(client, "bob")
    assert not (settings.data_dir / "outbox").exists()  # no SMTP: no verification mail made
    page = client.get("/verify-email/not-a-key", headers={"Accept": "text/html"})
    assert page.status_code == 400 and "text/html" in page.headers["content-type"]
    assert "This verification link is unknown, used or expired" in page.text


def test_the_smtp_password_is_never_shown_back(client: TestClient):
    local = {"Host": "localhost"}
    changed = client.patch(
        "/api/settings", json={"smtpHost": "mail.example.org", "smtpPassword": "hunter2 secret"}, headers=local
    )
    assert changed.status_code == 200 and "hunter2" not in changed.text
    shown = client.get("/api/settings")
    assert "hunter2" not in shown.text
    assert shown.json()["smtpPassword"] is True and shown.json()["smtpHost"] == "mail.example.org"
    [row] = [row for row in shown.json()["settings"] if row["name"] == "smtp_password"]
    assert row["value"] is None and row["environmentVariable"] == "AIRSEQUEL_SMTP_PASSWORD"
    echoed = client.patch("/api/settings", json={"smtpPassword": True}, headers=local)
    assert echoed.status_code == 400 and "smtpPassword must be" in echoed.json()["errors"][0]


def test_the_environment_variables_of_the_mail_settings():
    environ = {
        "AIRSEQUEL_SMTP_HOST": "smtp.example.org",
        "AIRSEQUEL_SMTP_PORT": "2525",
        "AIRSEQUEL_SMTP_USER": "u",
        "AIRSEQUEL_SMTP_PASSWORD": "p",
        "AIRSEQUEL_SMTP_FROM": "noreply@example.org",
        "AIRSEQUEL_SMTP_TLS": "tls",
    }
    settings = Settings.from_env(environ=environ)
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_user, settings.smtp_password) == (
        "smtp.example.org",
        2525,
        "u",
        "p",
    )
    assert (settings.smtp_from, settings.smtp_tls) == ("noreply@example.org", "tls")


def test_one_address_gets_at_most_three_invitations_an_hour(client: TestClient, settings: Settings):
    bob = {"Authorization": f"Bearer {sign_up_and_login(client, 'bob')}"}
    for headers in ({}, bob, {}):
        team = {"team": "bob"} if headers else {}
        assert (
            client.post("/api/users/invite", json={"email": "v@example.com", **team}, headers=headers).status_code
            == 200
        )
    refused = client.post("/api/users/invite", json={"email": "V@example.com", "team": "bob"}, headers=bob)
    assert refused.status_code == 429
    assert "Too many invitations were sent to this address" in refused.json()["errors"][0]
    assert _invitations(client) == 3 and len(_outbox(settings)) == 3  # nothing stored or sent for the fourth
    assert client.post("/api/users/invite", json={"email": "w@example.com"}).status_code == 200  # another address


def test_an_invitation_ends_when_its_inviter_is_no_longer_admin_of_the_team(client: TestClient, settings: Settings):
    bob = {"Authorization": f"Bearer {sign_up_and_login(client, 'bob')}"}
    assert client.post("/api/teams", json={"name": "acme"}).status_code in (200, 201)
    assert client.patch("/api/teams/acme/members/bob", json={"roles": ["Admin"]}).status_code == 200
    invite = {"email": "mal@example.com", "team": "acme", "role": "Admin"}
    assert client.post("/api/users/invite", json=invite, headers=bob).status_code == 200
    [message] = _outbox(settings)
    assert client.patch("/api/teams/acme/members/bob", json={"roles": ["Viewer"]}).status_code == 200  # demoted
    stranger = TestClient(client.app)
    mal = {"username": "mal", "email_address": "mal@example.com", "password": PASSWORD, "invitationKey": _key(message)}
    refused = stranger.post("/api/users", json=mal)
    assert refused.status_code == 400 and "unknown, used or expired" in refused.json()["errors"][0]
    assert stranger.post("/api/login", json={"username": "mal", "password": PASSWORD}).status_code == 401
    assert "mal" not in [m["username"] for m in client.get("/api/teams/acme/members").json()["members"]]


def test_with_the_smtp_password_from_the_environment_its_destination_is_fixed(tmp_path):
    from airsequel.http.app import create_app
    from tests.conftest import control_plane_flag

    data_dir = tmp_path / "data"
    settings = Settings.from_env(
        environ={"AIRSEQUEL_SMTP_PASSWORD": "operator-secret"},
        data_dir=data_dir,
        secret_key="k",
        control_plane=control_plane_flag(data_dir),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as anonymous:
        anonymous.headers["Authorization"] = f"Bearer {sign_up_and_login(anonymous, 'alice')}"
        before = anonymous.get("/api/settings", headers={"Host": "localhost"}).json()
        for change in ({"smtpHost": "attacker.example"}, {"smtpPort": 2525}, {"smtpTls": "none"}, {"smtpUser": "x"}):
            refused = anonymous.patch("/api/settings", json=change, headers={"Host": "localhost"})
            assert refused.status_code == 409, refused.text
            assert "while the SMTP password comes from AIRSEQUEL_SMTP_PASSWORD" in refused.json()["errors"][0]
        after = anonymous.get("/api/settings", headers={"Host": "localhost"}).json()
        assert {k: after[k] for k in ("smtpHost", "smtpPort", "smtpTls", "smtpUser")} == {
            k: before[k] for k in ("smtpHost", "smtpPort", "smtpTls", "smtpUser")
        }


def test_the_password_is_never_sent_without_tls_to_another_machine():
    import smtplib

    import pytest

    from airsequel.core.mail.messages import Mail
    from airsequel.core.mail.smtp import deliver

    settings = Settings.from_env(
        environ={}, smtp_host="mail.example.org", smtp_tls="none", smtp_user="u", smtp_password="p"
    )
    with pytest.raises(
        smtplib.SMTPException, match="Refusing to send the SMTP password to mail.example.org without TLS"
    ):
        deliver(settings, Mail("x@example.com", "s", "b", "test", "x"))
