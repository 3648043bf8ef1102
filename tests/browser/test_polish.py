"""Issue 21, "Polish", in a real browser: `?next=` after login (a path of ours only), /login when
logged in, HTML error pages with a way home (an unknown address, an old read-only link), the
favicon, "Forgot password?" through to a new password, and a table whose name holds a "/"."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

PASSWORD = "a good long password"


def log_in_with_keys(page, username: str, password: str) -> None:
    page.click("input[name=username]")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")


def log_out(page, base: str) -> None:
    page.click("#logout")
    page.wait_for_url(f"{base}/login")


@pytest.mark.slow
def test_next_after_login_error_pages_favicon_forgot_password_and_slash_tables(browser, tmp_path):
    data_dir = tmp_path / "data"
    with running_server(data_dir) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        violations = watch_csp(page)
        sign_up_in_page(page, base, "polly")
        db_id = create_database_in_page(
            page,
            "shop",
            'CREATE TABLE "a/b" (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO "a/b"(name) VALUES (\'hello\')',
        )

        # The favicon: named by every page, served as SVG from this server.
        icon = page.get_attribute("link[rel=icon]", "href")
        assert icon == "/static/favicon.svg"
        served = page.request.get(f"{base}{icon}")
        assert served.status == 200 and served.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in served.body()
        assert page.request.get(f"{base}/favicon.ico").url == f"{base}/static/favicon.svg"

        # A table named "a/b" opens from the database page's link.
        page.goto(f"{base}/dbs/{db_id}")
        page.click("text=a/b")
        page.wait_for_url(re.compile(rf"{re.escape(base)}/dbs/{db_id}/tables/a(/|%2F)b$"))
        assert "a/b" in page.inner_text("h1")
        page.wait_for_selector("text=hello")  # its rows load too

        # Logged in, /login sends home.
        page.goto(f"{base}/login")
        assert page.url == f"{base}/"

        # Logged out, a database page sends to the login page, which comes back to it.
        log_out(page, base)
        response = page.goto(f"{base}/dbs/{db_id}")  # private: "not found" to a visitor
        assert response is not None and response.status == 404
        page.click("#log-in-instead")
        page.wait_for_url(f"{base}/login?next=/dbs/{db_id}")
        log_in_with_keys(page, "polly", PASSWORD)
        page.wait_for_url(f"{base}/dbs/{db_id}")
        assert "shop" in page.inner_text("main")

        # A `next` that leaves the site is not followed: home.
        log_out(page, base)
        for bad in ("//evil.example/x", "https://evil.example/x"):
            page.goto(f"{base}/login?next={bad}")
            log_in_with_keys(page, "polly", PASSWORD)
            page.wait_for_url(f"{base}/")
            assert "evil" not in page.url
            page.goto(f"{base}/login?next={bad}")  # logged in: home too, not there
            assert page.url == f"{base}/"
            log_out(page, base)
        log_in_with_keys(page, "polly", PASSWORD)
        page.wait_for_url(f"{base}/")

        # An unknown address: an HTML page with the status, the message and a link home.
        response = page.goto(f"{base}/no/such/page")
        assert response is not None and response.status == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Not found" in page.inner_text("h1")
        assert "There is no page at this address" in page.inner_text("#error-message")
        screenshot(page, "21-not-found")
        page.click("#back-home")
        page.wait_for_url(f"{base}/")

        # An old read-only link, after a new one was made: the HTML page, 404.
        old = page.request.post(f"{base}/api/dbs/{db_id}/readonly-id", headers={"Origin": base}).json()["readonlyId"]
        assert page.goto(f"{base}/readonly/{old}/graphql").status == 200  # the link works while it is on
        page.request.post(f"{base}/dbs/{db_id}/regenerate-readonly-id", headers={"Origin": base})
        response = page.goto(f"{base}/readonly/{old}/graphql")
        assert response is not None and response.status == 404
        assert "Not found" in page.inner_text("h1")
        page.click("#back-home")
        page.wait_for_url(f"{base}/")

        # Forgot password: from the login page to a new password.
        log_out(page, base)
        page.click("#forgot-password")
        page.wait_for_url(f"{base}/password-reset")
        page.click("input[name=email]")
        page.keyboard.type("polly@example.org")
        page.keyboard.press("Enter")
        page.wait_for_selector("#reset-sent")
        assert "polly@example.org" in page.inner_text("#reset-sent")
        messages = list((data_dir / "outbox").glob("*-password-reset-polly.txt"))
        assert len(messages) == 1
        key = messages[0].read_text().splitlines()[4]
        page.goto(f"{base}/password-reset/{key}")
        page.fill("input[name=password]", "another long password")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/login")
        log_in_with_keys(page, "polly", "another long password")
        page.wait_for_url(f"{base}/")

        assert violations == []
        context.close()
