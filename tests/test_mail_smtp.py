"""Mail over a real SMTP server (aiosmtpd on loopback, STARTTLS with a self-signed certificate and AUTH),
sent by a real `airsequel serve`: the verification, invitation and reset mails arrive with working links,
and each flow is finished by following them. No outbox file is written while SMTP is on."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.helpers import PASSWORD, setup_key_from_log
from tests.mail_fixtures import PASSWORD as SMTP_PASSWORD
from tests.mail_fixtures import USER as SMTP_USER
from tests.mail_fixtures import SmtpServer, body_of, link_in
from tests.server_process import running_server

pytestmark = pytest.mark.slow


def _smtp_env(smtp: SmtpServer) -> dict[str, str]:
    assert smtp.certificate is not None
    return {
        "AIRSEQUEL_SMTP_HOST": "127.0.0.1",
        "AIRSEQUEL_SMTP_PORT": str(smtp.port),
        "AIRSEQUEL_SMTP_TLS": "starttls",
        "AIRSEQUEL_SMTP_USER": SMTP_USER,
        "AIRSEQUEL_SMTP_PASSWORD": SMTP_PASSWORD,
        "AIRSEQUEL_SMTP_FROM": "noreply@example.org",
        "SSL_CERT_FILE": str(smtp.certificate),  # the server trusts the test's self-signed certificate
    }


def _login(http: httpx2.Client, username: str, password: str = PASSWORD) -> dict[str, str]:
    answer = http.post("/api/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['sessionToken']}"}


def test_verification_invitation_and_reset_mails_arrive_and_their_links_work(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with SmtpServer(tls_dir=tmp_path) as smtp, running_server(data_dir, _smtp_env(smtp)) as base:
        http = httpx2.Client(base_url=base, timeout=30)
        key = setup_key_from_log(data_dir)
        body = {"username": "root", "email_address": "root@example.org", "password": PASSWORD, "setupKey": key}
        assert http.post("/api/users", json=body).status_code == 201
        root = _login(http, "root")
        assert http.get("/api/users/root", headers=root).json()["emailVerified"] is False

        # sign-up: a verification link to /verify-email/<key> on this server's address
        verification = smtp.wait_for("root@example.org", "Confirm your airsequel email address")
        assert verification["From"] == "noreply@example.org"
        link = link_in(verification, "/verify-email/")
        assert link.startswith(f"{base}/verify-email/")
        page = http.get(link)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "root@example.org" in page.text and "verified" in page.text
        assert http.get("/api/users/root", headers=root).json()["emailVerified"] is True
        again = http.get(link)  # single use
        assert again.status_code == 400 and "unknown, used or expired" in again.text

        # an invitation into a team, followed while sign-up is closed
        assert http.post("/api/teams", headers=root, json={"name": "acme"}).status_code in (200, 201)
        assert http.patch("/api/settings", headers=root, json={"signup": "closed"}).status_code == 200
        answer = http.post(
            "/api/users/invite", headers=root, json={"email": "joe@example.com", "team": "acme", "role": "Editor"}
        )
        assert answer.status_code == 200 and answer.json() == {}
        invitation = smtp.wait_for("joe@example.com", "invites you")
        assert "acme" in body_of(invitation) and "Editor" in body_of(invitation)
        link = link_in(invitation, "/signup?invitation=")
        assert link.startswith(f"{base}/signup?invitation=")
        invitation_key = link.split("invitation=", 1)[1]
        stranger = httpx2.Client(base_url=base, timeout=30)  # no session cookie: the invitee's browser
        form = stranger.get(link)
        assert form.status_code == 200 and f'name="invitationKey" value="{invitation_key}"' in form.text
        joe = {"username": "joe", "email_address": "joe@example.com", "password": PASSWORD}
        closed = stranger.post("/api/users", json=joe)
        assert closed.status_code == 403  # without the key, sign-up stays closed
        assert stranger.post("/api/users", json={**joe, "invitationKey": invitation_key}).status_code == 201
        joe_auth = _login(stranger, "joe")
        assert http.get("/api/users/joe", headers=joe_auth).json()["emailVerified"] is True
        members = http.get("/api/teams/acme/members", headers=root).json()["members"]
        assert {"username": "joe", "roles": ["Editor"]} in members
        fresh = httpx2.Client(base_url=base, timeout=30)
        second = {**joe, "username": "joe2", "email_address": "joe2@example.com", "invitationKey": invitation_key}
        used = fresh.post("/api/users", json=second)
        assert used.status_code == 400 and "unknown, used or expired" in used.json()["errors"][0]

        # a password reset: the key and the reset page's link
        assert http.post("/api/users/reset-password", json={"email": "joe@example.com"}).json() == {}
        reset = smtp.wait_for("joe@example.com", "Reset your airsequel password")
        link = link_in(reset, "/password-reset/")
        reset_key = link.rsplit("/", 1)[1]
        assert reset_key in body_of(reset).splitlines()[1]
        assert http.get(link).status_code == 200
        new_password = "a fresh long password"
        submit = http.post("/api/users/reset-password/submit", json={"resetKey": reset_key, "password": new_password})
        assert submit.status_code == 200
        _login(http, "joe", new_password)

        # SMTP on: nothing went to the outbox, and nothing waits in the queue
        assert not (data_dir / "outbox").exists()
        assert len(smtp.messages) == 3


def test_an_unreachable_smtp_server_holds_up_no_request_and_is_logged(tmp_path: Path) -> None:
    """Connection refused on every attempt: the reset answers at once and the log names the failure."""
    from tests.mail_fixtures import free_port
    from tests.server_process import server_log

    data_dir = tmp_path / "data"
    env = {"AIRSEQUEL_SMTP_HOST": "127.0.0.1", "AIRSEQUEL_SMTP_PORT": str(free_port()), "AIRSEQUEL_SMTP_TLS": "none"}
    with running_server(data_dir, env) as base:
        http = httpx2.Client(base_url=base, timeout=30)
        key = setup_key_from_log(data_dir)
        body = {"username": "root", "email_address": "root@example.org", "password": PASSWORD, "setupKey": key}
        answer = http.post("/api/users", json=body)
        assert answer.status_code == 201 and answer.elapsed.total_seconds() < 2
        answer = http.post("/api/users/reset-password", json={"email": "root@example.org"})
        assert answer.status_code == 200 and answer.elapsed.total_seconds() < 2
        import time

        deadline = time.monotonic() + 10
        while "not delivered to root@example.org (attempt 1 of 5" not in server_log(data_dir).read_text():
            assert time.monotonic() < deadline, server_log(data_dir).read_text()[-2000:]
            time.sleep(0.1)
        assert "next attempt in 10 s" in server_log(data_dir).read_text()


def test_worker_processes_send_each_mail_once(tmp_path: Path) -> None:
    """`serve --workers 2`: resets answered by either worker; each mail arrives once."""
    data_dir = tmp_path / "data"
    with SmtpServer() as smtp:
        env = {"AIRSEQUEL_SMTP_HOST": "127.0.0.1", "AIRSEQUEL_SMTP_PORT": str(smtp.port), "AIRSEQUEL_SMTP_TLS": "none"}
        with running_server(data_dir, env, workers=2) as base:
            http = httpx2.Client(base_url=base, timeout=30)
            for name in ("ann", "ben", "cat"):
                assert (
                    http.post(
                        "/api/users",
                        json={"username": name, "email_address": f"{name}@example.org", "password": PASSWORD},
                    ).status_code
                    == 201
                )
            for name in ("ann", "ben", "cat", "ann", "ben"):  # five: the throttle allows five per client address
                fresh = httpx2.Client(base_url=base, timeout=30)  # a new connection: either worker answers
                answer = fresh.post("/api/users/reset-password", json={"email": f"{name}@example.org"})
                assert answer.status_code == 200
            for name in ("ann", "ben", "cat"):
                smtp.wait_for(f"{name}@example.org", "Confirm your")
            import time

            deadline = time.monotonic() + 15
            while len(smtp.messages) < 8 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)  # time for a duplicate to arrive, were there one
            subjects = sorted((m["To"], m["Subject"]) for m in smtp.messages)
            assert len(subjects) == 8, subjects
            keys = {body_of(m).splitlines()[1] for m in smtp.messages if "Reset" in m["Subject"]}
            assert len(keys) == 5  # five different reset keys: no mail sent twice


def test_a_mail_queued_before_a_stop_is_sent_after_the_restart(tmp_path: Path) -> None:
    """The SMTP server is down: the reset's mail fails its first attempt and waits; the server stops; once
    both are back, the restarted server sends it."""
    from tests.mail_fixtures import free_port
    from tests.server_process import server_log

    data_dir = tmp_path / "data"
    port = free_port()
    env = {"AIRSEQUEL_SMTP_HOST": "127.0.0.1", "AIRSEQUEL_SMTP_PORT": str(port), "AIRSEQUEL_SMTP_TLS": "none"}
    with running_server(data_dir, env) as base:
        http = httpx2.Client(base_url=base, timeout=30)
        body = {"username": "ann", "email_address": "ann@example.org", "password": PASSWORD}
        assert http.post("/api/users", json=body).status_code == 201
        import time

        deadline = time.monotonic() + 10
        while "not delivered to ann@example.org (attempt 1 of 5" not in server_log(data_dir).read_text():
            assert time.monotonic() < deadline, server_log(data_dir).read_text()[-2000:]
            time.sleep(0.1)
    with SmtpServer(port=port) as smtp, running_server(data_dir, env):
        message = smtp.wait_for("ann@example.org", "Confirm your", timeout=30)  # its next attempt: 10 s after the first
        assert "/verify-email/" in body_of(message)
