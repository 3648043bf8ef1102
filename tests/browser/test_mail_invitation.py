"""Mail in a real browser: the invitation's link opens the sign-up page, which the invitee fills with keys while
sign-up is closed, and lands home as a member of the team; a verification mail's link shows the verified page."""

from __future__ import annotations

import httpx2
import pytest

from tests.browser.conftest import screenshot, watch_csp
from tests.helpers import PASSWORD, setup_key_from_log
from tests.mail_fixtures import SmtpServer, link_in
from tests.server_process import running_server


@pytest.mark.slow
def test_an_invitation_link_signs_up_in_the_browser_and_a_verification_link_verifies(browser, tmp_path):
    data_dir = tmp_path / "data"
    with SmtpServer() as smtp:
        env = {"AIRSEQUEL_SMTP_HOST": "127.0.0.1", "AIRSEQUEL_SMTP_PORT": str(smtp.port), "AIRSEQUEL_SMTP_TLS": "none"}
        with running_server(data_dir, env) as base:
            api = httpx2.Client(base_url=base, timeout=30)
            body = {"username": "root", "email_address": "root@example.org", "password": PASSWORD}
            assert api.post("/api/users", json={**body, "setupKey": setup_key_from_log(data_dir)}).status_code == 201
            token = api.post("/api/login", json={"username": "root", "password": PASSWORD}).json()["sessionToken"]
            root = {"Authorization": f"Bearer {token}"}
            api.cookies.clear()
            assert api.post("/api/teams", headers=root, json={"name": "acme"}).status_code in (200, 201)
            assert api.patch("/api/settings", headers=root, json={"signup": "closed"}).status_code == 200
            invite = {"email": "joe@example.com", "team": "acme", "role": "Editor"}
            assert api.post("/api/users/invite", headers=root, json=invite).status_code == 200
            invitation = link_in(smtp.wait_for("joe@example.com", "invites you"), "/signup?invitation=")

            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(20_000)
            violations = watch_csp(page)
            page.goto(invitation)
            assert "Create your account" in page.inner_text("h1")
            page.click("input[name=username]")
            page.keyboard.type("joe")
            page.keyboard.press("Tab")
            page.keyboard.type("joe@example.com")
            page.keyboard.press("Tab")
            page.keyboard.type("a good long password")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/")
            page.wait_for_selector("nav >> text=acme")  # a member of the team the invitation named
            screenshot(page, "mail-invitation-signed-up")
            members = api.get("/api/teams/acme/members", headers=root).json()["members"]
            assert {"username": "joe", "roles": ["Editor"]} in members

            verification = link_in(smtp.wait_for("root@example.org", "Confirm your"), "/verify-email/")
            page.goto(verification)
            assert page.inner_text("h1") == "Address verified"
            assert "root@example.org" in page.inner_text("#verified-message")
            page.goto(verification)  # a second time: the key is used
            assert "unknown, used or expired" in page.inner_text("#error-message")
            assert violations == []
            context.close()
