"""GraphiQL in a real browser: it loads the schema by introspection and runs a query."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx2
import pytest

from tests.browser.conftest import screenshot, watch_csp
from tests.helpers import PASSWORD, sign_up_and_login
from tests.server_process import running_server


@pytest.mark.slow
def test_playground_runs_a_query_with_the_session_cookie(browser, tmp_path):
    with running_server(tmp_path / "data") as base:
        with httpx2.Client(base_url=base, timeout=30) as http:
            token = sign_up_and_login(http, "gina")
            db_id = http.post(
                "/api/dbs",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "name": "bands",
                    "query": "CREATE TABLE bands(name TEXT, formed INTEGER); INSERT INTO bands VALUES ('Can', 1968), ('Neu!', 1971)",
                },
            ).json()["id"]
            login = http.post("/api/login", json={"username": "gina", "password": PASSWORD})
            cookie = login.cookies["airsequel_session"]

        context = browser.new_context(viewport={"width": 1280, "height": 800})
        host = urlsplit(base).hostname
        context.add_cookies([{"name": "airsequel_session", "value": cookie, "domain": host, "path": "/"}])
        page = context.new_page()
        csp_violations = watch_csp(page)
        failed_requests: list[str] = []
        page.on("requestfailed", lambda request: failed_requests.append(request.url))
        page.goto(f"{base}/dbs/{db_id}/graphql")
        page.wait_for_selector(".graphiql-execute-button", timeout=30_000)
        # The default query names the table: the schema was loaded by introspection.
        page.wait_for_function("() => document.querySelector('.graphiql-query-editor').innerText.includes('bands')")
        page.click(".graphiql-execute-button")
        page.wait_for_function(
            "() => document.querySelector('.graphiql-response').innerText.includes('Neu!')", timeout=30_000
        )
        result = page.inner_text(".graphiql-response")
        assert '"name": "Can"' in result and '"formed": 1971' in result
        screenshot(page, "graphiql")
        assert not [url for url in failed_requests if url.startswith(base)], failed_requests
        assert csp_violations == []  # GraphiQL (vendored) runs under script-src 'self' and style-src 'self'
        context.close()
