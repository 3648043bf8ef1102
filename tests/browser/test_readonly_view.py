"""The read-only view in a real browser (issue 21): the owner opens the link from the sharing card; a
visitor who is not logged in browses the tables, filters rows, runs a query that reads (a write is
refused with the reason) and opens GraphiQL, all under /readonly/<id>, and no page names the real id.
A link turned off shows an HTML 404 page."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

SCHEMA = (
    "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT);"
    "INSERT INTO people(name) VALUES ('Ada Lovelace'), ('Grace Hopper'), ('Alan Turing');"
    'CREATE TABLE "a/b"(x TEXT); INSERT INTO "a/b" VALUES (\'inside a slash\');'
)


def set_query(page, text: str) -> None:
    """Replace the SQL page's query with keys: in its code editor when it has one, else in the textarea."""
    page.click(".cm-content" if page.query_selector(".cm-content") else "#sql-query")
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type(text)
    page.keyboard.press("Escape")  # closes an autocompletion the editor may have opened


@pytest.mark.slow
def test_a_visitor_browses_filters_and_queries_through_the_link(browser, tmp_path):
    with running_server(tmp_path / "data") as base:
        owner_context = browser.new_context(viewport={"width": 1280, "height": 900})
        owner = owner_context.new_page()
        owner.set_default_timeout(20_000)
        sign_up_in_page(owner, base, "olga")
        db_id = create_database_in_page(owner, "Library", SCHEMA)
        made = owner.evaluate(f"async () => (await fetch('/api/dbs/{db_id}/readonly-id', {{method: 'POST'}})).json()")
        rid = made["readonlyId"]
        owner.goto(f"{base}/dbs/{db_id}")
        assert owner.input_value("#readonly-link") == f"{base}/readonly/{rid}"
        owner.click("text=open it")
        owner.wait_for_url(f"{base}/readonly/{rid}")
        owner_context.close()

        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        violations = watch_csp(page)
        seen: list[str] = []
        page.on("request", lambda request: seen.append(request.url))

        # The overview: tables with their counts, links under the link's address.
        page.goto(f"{base}/readonly/{rid}")
        main = page.inner_text("main")
        assert "Library" in main and "read-only" in main and "3 rows" in main and "1 row" in main
        assert page.query_selector("text=Copy to my databases") is None  # not logged in
        screenshot(page, "readonly-overview")

        # A table: its rows, read through POST /readonly/<id>/sql, and a filter typed in.
        page.click("#readonly-tables >> text=people")
        page.wait_for_url(f"{base}/readonly/{rid}/tables/people")
        page.wait_for_selector("#sheet >> text=Grace Hopper")
        assert page.query_selector("#add-row") is None and page.query_selector("#add-column") is None
        assert page.query_selector("#sheet [contenteditable=true]") is None
        page.select_option("#filter-column", "name")
        page.click("#filter-text")
        page.keyboard.type("Grace")
        page.wait_for_function("() => !document.querySelector('#sheet').innerText.includes('Ada Lovelace')")
        assert "Grace Hopper" in page.inner_text("#sheet")
        screenshot(page, "readonly-table")

        # Back, and the table whose name holds a "/".
        page.click(f"a[href='/readonly/{rid}']")
        page.wait_for_url(f"{base}/readonly/{rid}")
        page.click("#readonly-tables >> text=a/b")
        page.wait_for_url(re.compile(rf"{re.escape(base)}/readonly/{rid}/tables/a(/|%2F)b$"))
        page.wait_for_selector("#sheet >> text=inside a slash")

        # The SQL page: a query that reads runs (Ctrl+Enter); a write is refused and says why.
        page.goto(f"{base}/readonly/{rid}")
        page.click("text=SQL editor")
        page.wait_for_url(f"{base}/readonly/{rid}/sql")
        set_query(page, "SELECT name FROM people WHERE name LIKE 'A%' ORDER BY name")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#sql-result >> text=Alan Turing")
        assert "Grace Hopper" not in page.inner_text("#sql-result")
        set_query(page, "DELETE FROM people")
        page.click("#sql-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('#sql-error').innerText.includes('read-only')")
        assert "the query would write to the database" in page.inner_text("#sql-error")
        screenshot(page, "readonly-sql-refused")

        # GraphiQL through the link, with its way back to the read-only view.
        page.goto(f"{base}/readonly/{rid}")
        page.click("text=GraphiQL")
        page.wait_for_selector(".graphiql-execute-button", timeout=30_000)
        page.click(".graphiql-execute-button")
        page.wait_for_function("() => document.querySelector('.graphiql-response').innerText.includes('Ada')")
        page.click("#back-to-database")
        page.wait_for_url(f"{base}/readonly/{rid}")

        # Nothing the visitor loaded or was shown names the real id; every SQL went through the link.
        assert not [url for url in seen if db_id in url], seen
        assert not [url for url in seen if "/dbs/" in url], seen
        assert any(url == f"{base}/readonly/{rid}/sql" for url in seen)
        assert violations == []
        context.close()

        # The owner's rows are all there; the link turned off: an HTML page that says so, with a way home.
        off = browser.new_context()
        owner_again = off.new_page()
        owner_again.goto(f"{base}/login")
        owner_again.fill("input[name=username]", "olga")
        owner_again.fill("input[name=password]", "a good long password")
        owner_again.click("button[type=submit]")
        owner_again.wait_for_url(f"{base}/")
        count = owner_again.evaluate(
            f"""async () => (await (await fetch('/dbs/{db_id}/sql', {{method: 'POST', headers: {{'Content-Type': 'application/json'}},
                body: JSON.stringify({{query: 'SELECT count(*) AS n FROM people'}})}})).json()).rows[0].n"""
        )
        assert count == 3  # the refused DELETE changed nothing
        status = owner_again.evaluate(
            f"async () => (await fetch('/api/dbs/{db_id}/readonly-id', {{method: 'DELETE'}})).status"
        )
        assert status == 200
        response = owner_again.goto(f"{base}/readonly/{rid}")
        assert response is not None and response.status == 404
        assert "Not found" in owner_again.inner_text("main") and "does not exist" in owner_again.inner_text("main")
        screenshot(owner_again, "readonly-link-off")
        off.close()
