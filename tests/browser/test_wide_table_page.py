"""The table page of a 2,000-column table (SQLite's most) shows its rows, read-only: there is no room for
the rowid beside `*` in a result of that width."""

from __future__ import annotations

import pytest

from tests.browser.conftest import create_database_in_page, sign_up_in_page
from tests.server_process import running_server

WIDE = 2000


@pytest.mark.slow
def test_a_2000_column_table_page_shows_its_rows(browser, tmp_path):
    columns = ", ".join(f"c{i} TEXT" for i in range(WIDE))
    query = f"CREATE TABLE wide({columns}); INSERT INTO wide(c0, c1999) VALUES ('first', 'last')"
    with running_server(tmp_path / "data") as base:
        page = browser.new_context().new_page()
        page.set_default_timeout(20_000)
        sign_up_in_page(page, base, "wanda")
        db = create_database_in_page(page, "wide", query)
        page.goto(f"{base}/dbs/{db}/tables/wide")
        page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 1")
        cells = page.eval_on_selector("#sheet tbody tr", "r => Array.from(r.cells).map(c => c.textContent)")
        assert cells[0] == "first" and cells[WIDE - 1] == "last"
        assert page.text_content("#sheet-error") == ""
        assert page.eval_on_selector("#sheet tbody td", "td => td.contentEditable") != "true"
