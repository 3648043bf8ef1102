"""The web SQL editor in a real browser: every column of a result in order, also repeated names; every
statement of a script; an error of the SQL (a 200 with `errors`) shown as an error."""

from __future__ import annotations

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page
from tests.server_process import running_server

MUSIC = (
    "CREATE TABLE artists(id INTEGER PRIMARY KEY, name TEXT);"
    " CREATE TABLE albums(id INTEGER PRIMARY KEY, title TEXT, artist_id INTEGER);"
    " INSERT INTO artists VALUES (7, 'Nina Simone'), (9, 'Miles Davis');"
    " INSERT INTO albums VALUES (1, 'Pastel Blues', 7), (2, 'Kind of Blue', 9)"
)
JOIN = "SELECT a.id, ar.id, a.title, ar.name FROM albums a JOIN artists ar ON ar.id = a.artist_id ORDER BY a.id"


def run(page, query: str) -> None:
    page.fill("#sql-query", query)
    page.evaluate("() => { document.querySelector('#sql-status').textContent = ''; }")
    page.click("#sql-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#sql-status').textContent.includes('row(s)')"
        " || document.querySelector('#sql-error').textContent"
    )


def table_text(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector(
        selector, "t => Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.textContent))"
    )


@pytest.mark.slow
def test_the_sql_editor_shows_every_column_and_statement(browser, tmp_path):
    with running_server(tmp_path / "data") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_up_in_page(page, base, "mira")
        db = create_database_in_page(page, "music", MUSIC)
        page.goto(f"{base}/dbs/{db}/sql")

        # Two columns named id: both shown, in order, each with its own value.
        run(page, JOIN)
        assert table_text(page, "#sql-result") == [
            ["id", "id:1", "title", "name"],
            ["1", "7", "Pastel Blues", "Nina Simone"],
            ["2", "9", "Kind of Blue", "Miles Davis"],
        ]
        assert page.inner_text("#sql-error") == ""
        screenshot(page, "sql-editor-repeated-columns")

        # A script: the last result at the top, the earlier one below, named by its place.
        run(
            page,
            "SELECT title FROM albums ORDER BY id; INSERT INTO albums(title) VALUES ('x'); SELECT count(*) AS n FROM albums",
        )
        assert table_text(page, "#sql-result") == [["n"], ["3"]]
        assert "3 statements" in page.inner_text("#sql-status")
        assert "Statement 1 of 3: 2 row(s)" in page.inner_text("#sql-earlier")
        assert table_text(page, "#sql-earlier table") == [["title"], ["Pastel Blues"], ["Kind of Blue"]]
        screenshot(page, "sql-editor-script")

        # An error of the SQL comes as 200 with `errors`: shown as an error, the old result cleared.
        run(page, "SELECT * FROM nowhere")
        assert "no such table: nowhere" in page.inner_text("#sql-error")
        assert page.inner_text("#sql-status") == ""
        assert table_text(page, "#sql-result") == [[]]
        assert page.is_hidden("#sql-earlier")
        context.close()
