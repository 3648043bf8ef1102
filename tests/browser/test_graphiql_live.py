"""The playground runs a subscription (a live query) over its WebSocket, with the session cookie."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx2
import pytest

from tests.browser.conftest import screenshot, watch_csp
from tests.helpers import PASSWORD, sign_up_and_login
from tests.server_process import running_server

SUBSCRIPTION = "subscription { bands(order_by: [{formed: DESC}], limit: 1) { name formed } }"


@pytest.mark.slow
def test_playground_runs_a_live_query_that_follows_a_write(browser, tmp_path):
    with running_server(tmp_path / "data") as base:
        with httpx2.Client(base_url=base, timeout=30) as http:
            token = sign_up_and_login(http, "gina")
            auth = {"Authorization": f"Bearer {token}"}
            db_id = http.post(
                "/api/dbs",
                headers=auth,
                json={
                    "name": "bands",
                    "query": "CREATE TABLE bands(name TEXT, formed INTEGER); INSERT INTO bands VALUES ('Can', 1968)",
                },
            ).json()["id"]
            cookie = http.post("/api/login", json={"username": "gina", "password": PASSWORD}).cookies[
                "airsequel_session"
            ]

            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_cookies(
                [{"name": "airsequel_session", "value": cookie, "domain": urlsplit(base).hostname, "path": "/"}]
            )
            page = context.new_page()
            csp_violations = watch_csp(page)
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page.goto(f"{base}/dbs/{db_id}/graphql")
            page.wait_for_selector(".graphiql-execute-button", timeout=30_000)
            page.wait_for_function("() => document.querySelector('.graphiql-query-editor').innerText.includes('bands')")
            page.evaluate(
                "(text) => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(text)",
                SUBSCRIPTION,
            )
            page.wait_for_timeout(500)  # GraphiQL parses the edited document after a 100 ms debounce
            page.click(".graphiql-execute-button")
            page.wait_for_function(
                "() => document.querySelector('.graphiql-response').innerText.includes('Can')", timeout=30_000
            )
            written = http.post(
                f"/dbs/{db_id}/sql", headers=auth, json={"query": "INSERT INTO bands VALUES ('Neu!', 1971)"}
            )
            assert written.status_code == 200, written.text
            # The response pane follows the commit without another click.
            page.wait_for_function(
                "() => document.querySelector('.graphiql-response').innerText.includes('Neu!')", timeout=30_000
            )
            screenshot(page, "graphiql-live")
            assert sockets == [f"{base.replace('http://', 'ws://')}/dbs/{db_id}/graphql"]
            assert csp_violations == []
            context.close()
