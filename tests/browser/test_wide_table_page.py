"""The table page of a 2,000-column table (SQLite's most) shows its rows, read-only: there is no room for
the rowid beside `*` in a result of that width."""

from __future__ import annotations

import pytest

from tests.server_process import running_server

WIDE = 2000


@pytest.mark.slow
def test_a_2000_column_table_page_shows_its_rows(browser, tmp_path):
    columns = ", ".join(f"c{i} TEXT" for i in range(WIDE))
    query = f"CREATE TABLE wide({columns}); INSERT INTO wide(c0, c1999) VALUES ('first', 'last')"
    with running_server(tmp_path / "data") as base:
        page = browser.new_context().new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{base}/signup")
        page.fill("input[name=username]", "wanda")
        page.fill("input[name=email_address]", "wanda@example.org")
        page.fill("input[name=password]", "a good long password")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        created = page.evaluate(
            """async (query) => {
                const r = await fetch("/api/dbs", {method: "POST", headers: {"Content-Type": "application/json"},
                                                   body: JSON.stringify({name: "wide", query})});
                return [r.status, await r.json()];
            }""",
            query,
        )
        assert created[0] == 201, created
        page.goto(f"{base}/dbs/{created[1]['id']}/tables/wide")
        page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 1")
        cells = page.eval_on_selector("#sheet tbody tr", "r => Array.from(r.cells).map(c => c.textContent)")
        assert cells[0] == "first" and cells[WIDE - 1] == "last"
        assert page.text_content("#sheet-error") == ""
        assert page.eval_on_selector("#sheet tbody td", "td => td.contentEditable") != "true"
