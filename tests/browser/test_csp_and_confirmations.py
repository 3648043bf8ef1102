"""Issue 16, points 7, 9 and 17 in a real browser: the setup link makes the server admin, a
confirmation page's form duplicates a database, a form on another site cannot, and the pages run
under their Content-Security-Policy without a violation."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot, watch_csp
from tests.helpers import setup_key_from_log
from tests.server_process import free_port, running_server


@pytest.mark.slow
def test_setup_link_confirmation_pages_and_csp(browser, tmp_path):
    data_dir = tmp_path / "data"
    with running_server(data_dir) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        violations = watch_csp(page)

        # The one-time link from the server's log: the account made through it is the server admin.
        page.goto(f"{base}/setup/{setup_key_from_log(data_dir)}")
        assert "Create the server admin account" in page.inner_text("main")
        page.fill("input[name=username]", "root")
        page.fill("input[name=email_address]", "root@example.org")
        page.fill("input[name=password]", "a good long password")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        assert page.request.get(f"{base}/api/users/root").json()["serverRoles"] == ["admin"]
        db_id = page.request.post(f"{base}/api/dbs", data={"name": "orig"}, headers={"Origin": base}).json()["id"]
        response = page.goto(f"{base}/dbs/{db_id}")
        assert response is not None
        headers = response.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"

        # A link to the duplicate route only asks; the confirmation's form does it.
        page.goto(f"{base}/dbs/{db_id}/duplicate")
        assert page.request.get(f"{base}/api/dbs").json()["numberOfDatabases"] == 1
        screenshot(page, "10-confirm-duplicate")
        page.click("#confirm-form button[type=submit]")
        page.wait_for_url(re.compile(rf"{re.escape(base)}/dbs/(?!{db_id})[0-9a-z]+$"))
        assert page.request.get(f"{base}/api/dbs").json()["numberOfDatabases"] == 2

        # The API docs and GraphiQL pages, under the same policy.
        page.goto(f"{base}/api/docs")
        page.wait_for_selector("h2")
        page.goto(f"{base}/dbs/{db_id}/graphql")
        page.wait_for_selector(".graphiql-execute-button")

        # A form on another site (another origin: another port) posting to the route is refused.
        evil_port = free_port()
        evil = f"http://127.0.0.1:{evil_port}"
        page.route(
            f"{evil}/",
            lambda route: route.fulfill(
                content_type="text/html",
                body=f'<form method="post" action="{base}/dbs/{db_id}/regenerate-db-id" id="f">'
                '<button id="go">go</button></form>',
            ),
        )
        page.goto(f"{evil}/")
        page.click("#go")
        page.wait_for_load_state()
        assert "Cross-site request refused" in page.content()
        assert page.request.get(f"{base}/api/dbs/{db_id}").status == 200  # the id did not change

        assert violations == []
        context.close()
