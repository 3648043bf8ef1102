"""The web SQL editor in a real browser, driven by clicks and keys: CodeMirror with SQL highlighting and
autocomplete of the database's tables and columns, Ctrl+Enter runs, the query survives a reload, recent queries
can be run again; every column of a result in order (also repeated names), every statement of a script, an
error of the SQL (a 200 with `errors`) shown as an error, an empty result's columns, 10,000 rows shown a page at
a time, the row limit explained, the rows downloaded as CSV and JSON; all of it under the pages' CSP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

MUSIC = (
    "CREATE TABLE artists(id INTEGER PRIMARY KEY, name TEXT);"
    " CREATE TABLE albums(id INTEGER PRIMARY KEY, title TEXT, artist_id INTEGER);"
    " INSERT INTO artists VALUES (7, 'Nina Simone'), (9, 'Miles Davis');"
    " INSERT INTO albums VALUES (1, 'Pastel Blues', 7), (2, 'Kind of Blue', 9)"
)
JOIN = "SELECT a.id, ar.id, a.title, ar.name FROM albums a JOIN artists ar ON ar.id = a.artist_id ORDER BY a.id"
DONE = "() => document.querySelector('#sql-status').textContent.includes(' in ') || document.querySelector('#sql-error').textContent"


@pytest.fixture(scope="module")
def session(browser, tmp_path_factory) -> Iterator[tuple[object, list[str]]]:
    """One server and one logged-in page for the module; the CSP violations the page has reported."""
    with running_server(tmp_path_factory.mktemp("sql-editor") / "data") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        violations = watch_csp(page)
        sign_up_in_page(page, base, "mira")
        page.base = base  # type: ignore[attr-defined]
        yield page, violations
        context.close()


def open_sql_page(page, name: str) -> str:
    db = create_database_in_page(page, name, MUSIC)
    page.goto(f"{page.base}/dbs/{db}/sql")
    page.wait_for_selector(".cm-content")
    return db


def editor_text(page) -> str:
    return page.inner_text(".cm-content")


def replace_query(page, query: str) -> None:
    """Select everything in the editor, delete it and type `query` in (as one input, like a paste)."""
    page.click(".cm-content", position={"x": 4, "y": 4})  # the first line: a completion list opens below it
    page.keyboard.press("Control+a")
    page.keyboard.press("Backspace")
    page.keyboard.insert_text(query)
    page.wait_for_timeout(200)  # a completion the text opens comes after 100 ms: close it (it would cover Run)
    page.keyboard.press("Escape")
    page.wait_for_selector(".cm-tooltip-autocomplete", state="detached")


def run(page, query: str | None = None) -> None:
    if query is not None:
        replace_query(page, query)
    page.evaluate("() => { document.querySelector('#sql-status').textContent = ''; }")
    page.click("#sql-run")
    page.wait_for_function(DONE)


def table_text(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector(
        selector, "t => Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.textContent))"
    )


def completions(page) -> list[str]:
    page.wait_for_selector(".cm-tooltip-autocomplete li")
    page.wait_for_timeout(150)  # CodeMirror takes no Enter in the first 75 ms of a completion list
    return page.eval_on_selector_all(
        ".cm-tooltip-autocomplete li .cm-completionLabel", "els => els.map(e => e.textContent)"
    )


def download(page, button: str) -> str:
    with page.expect_download() as info:
        page.click(button)
    return open(info.value.path(), encoding="utf-8", newline="").read()


@pytest.mark.slow
def test_highlighting_autocomplete_keys_reload_and_recent_queries(session):
    page, violations = session
    open_sql_page(page, "journey")
    # The first table's first rows are the query offered, highlighted: SELECT is a keyword, "albums" a name.
    assert editor_text(page) == 'SELECT * FROM "artists" LIMIT 10;'
    colors = page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('.code-editor'))
             .flatMap(h => Array.from(h.shadowRoot.querySelectorAll('.cm-line span')))
             .map(s => [s.textContent, getComputedStyle(s).color]))"""
    )
    plain = page.evaluate(
        "() => getComputedStyle(document.querySelector('.code-editor').shadowRoot.querySelector('.cm-line')).color"
    )
    assert colors.get("SELECT") not in (None, plain), colors
    assert colors.get("10") not in (None, plain, colors["SELECT"]), colors

    # Autocomplete from the schema: a table after FROM, its columns after "albums.".
    page.click(".cm-content")
    page.keyboard.press("Control+a")
    page.keyboard.type("SELECT * FROM alb")
    assert completions(page) == ["albums"]
    page.keyboard.press("Enter")
    page.keyboard.type(" WHERE albums.t")
    assert "title" in completions(page)
    page.keyboard.press("Enter")
    page.keyboard.type(" LIKE '%Blue%' ORDER BY 1")
    assert editor_text(page) == "SELECT * FROM albums WHERE albums.title LIKE '%Blue%' ORDER BY 1"
    screenshot(page, "sql-editor-typed")

    # Ctrl+Enter runs it.
    page.evaluate("() => { document.querySelector('#sql-status').textContent = ''; }")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(DONE)
    assert table_text(page, "#sql-result") == [
        ["id", "title", "artist_id"],
        ["1", "Pastel Blues", "7"],
        ["2", "Kind of Blue", "9"],
    ]
    assert page.inner_text("#sql-status").startswith("2 rows in ")

    # The query survives a reload; a second one joins it in the recent queries, newest first.
    page.reload()
    page.wait_for_selector(".cm-content")
    assert editor_text(page) == "SELECT * FROM albums WHERE albums.title LIKE '%Blue%' ORDER BY 1"
    run(page, "SELECT count(*) AS n FROM artists")
    assert table_text(page, "#sql-result") == [["n"], ["2"]]
    assert page.is_hidden("#sql-history")
    page.click("#sql-history-toggle")
    assert page.get_attribute("#sql-history-toggle", "aria-expanded") == "true"
    assert page.eval_on_selector_all("#sql-history-list button", "bs => bs.map(b => b.textContent)") == [
        "SELECT count(*) AS n FROM artists",
        "SELECT * FROM albums WHERE albums.title LIKE '%Blue%' ORDER BY 1",
    ]
    screenshot(page, "sql-editor-history")
    # Clicking one puts it back in the editor, and Ctrl+Enter runs it again.
    page.click("#sql-history-list li:nth-child(2) button")
    assert editor_text(page) == "SELECT * FROM albums WHERE albums.title LIKE '%Blue%' ORDER BY 1"
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => document.querySelectorAll('#sql-result tbody tr').length === 2")
    assert page.eval_on_selector_all("#sql-history-list button", "bs => bs.map(b => b.textContent)")[0].startswith(
        "SELECT * FROM albums"
    )
    # The label names the editor, and the textarea behind it holds the same text (for the form).
    assert page.get_attribute(".cm-content", "aria-label").startswith("Query")
    assert page.input_value("#sql-query") == editor_text(page)
    assert page.is_hidden("#sql-query")
    assert violations == []


@pytest.mark.slow
def test_every_column_and_statement_errors_and_empty_results(session):
    page, violations = session
    open_sql_page(page, "music")

    # Two columns named id: both shown, in order, each with its own value.
    run(page, JOIN)
    assert table_text(page, "#sql-result") == [
        ["id", "id", "title", "name"],  # the names the query gave; the JSON rows key the second id:1
        ["1", "7", "Pastel Blues", "Nina Simone"],
        ["2", "9", "Kind of Blue", "Miles Davis"],
    ]
    assert page.get_attribute("#sql-result thead th:nth-child(2)", "title") == "id:1 in the JSON rows"
    assert page.inner_text("#sql-error") == ""
    assert (
        download(page, "#sql-download-csv")
        == "id,id:1,title,name\r\n1,7,Pastel Blues,Nina Simone\r\n2,9,Kind of Blue,Miles Davis\r\n"
    )
    screenshot(page, "sql-editor-repeated-columns")

    # A script: the last result at the top, the earlier one below, named by its place.
    run(
        page,
        "SELECT title FROM albums ORDER BY id; INSERT INTO albums(title) VALUES ('x'); SELECT count(*) AS n FROM albums",
    )
    assert table_text(page, "#sql-result") == [["n"], ["3"]]
    assert "3 statements" in page.inner_text("#sql-status")
    assert "Statement 1 of 3: 2 rows" in page.inner_text("#sql-earlier")
    assert table_text(page, "#sql-earlier table") == [["title"], ["Pastel Blues"], ["Kind of Blue"]]
    screenshot(page, "sql-editor-script")

    # An empty result still shows its columns, and downloads as its header alone.
    run(page, "SELECT id, title FROM albums WHERE id < 0")
    assert table_text(page, "#sql-result") == [["id", "title"]]
    assert page.inner_text("#sql-status").startswith("0 rows in ")
    assert download(page, "#sql-download-csv") == "id,title\r\n"
    assert json.loads(download(page, "#sql-download-json")) == []

    # Values CSV must quote, NULL and a BLOB: downloaded as CSV and JSON.
    run(page, """SELECT 'a,b' AS x, 'say "hi"' AS y, NULL AS z, x'00ff' AS b""")
    assert download(page, "#sql-download-csv") == 'x,y,z,b\r\n"a,b","say ""hi""",,AP8=\r\n'
    assert json.loads(download(page, "#sql-download-json")) == [
        {"x": "a,b", "y": 'say "hi"', "z": None, "b": {"$base64": "AP8="}}
    ]

    # An error of the SQL comes as 200 with `errors`: shown as an error, the old result cleared.
    run(page, "SELECT * FROM nowhere")
    assert "no such table: nowhere" in page.inner_text("#sql-error")
    assert page.inner_text("#sql-status") == ""
    assert table_text(page, "#sql-result") == [[]]
    assert page.is_hidden("#sql-earlier") and page.is_hidden("#sql-downloads")
    assert violations == []


@pytest.mark.slow
def test_ten_thousand_rows_a_page_at_a_time_with_the_row_limit_explained(session):
    page, violations = session
    open_sql_page(page, "big")
    query = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10001)"
        " SELECT i, 'row ' || i AS label FROM n"
    )
    replace_query(page, query)
    page.evaluate("() => { document.querySelector('#sql-status').textContent = ''; }")
    started = time.monotonic()
    page.click("#sql-run")
    page.wait_for_function(DONE)
    elapsed = time.monotonic() - started
    # The first 200 rows are in the page (all 10,000 took 5 s to lay out), the rest come as one scrolls.
    assert page.eval_on_selector_all("#sql-result tbody tr", "rows => rows.length") == 200
    assert elapsed < 4, elapsed  # laying out all 10,000 rows at once took 5.3 s here
    assert page.inner_text("#sql-more-status") == "Showing 200 of 10,000 rows."
    assert page.inner_text("#sql-status").startswith("10,000 rows in ")
    # The cut is explained: which limit, and what to do.
    note = page.inner_text("#sql-truncated")
    assert "cut at 10,000 rows" in note and "LIMIT" in note and "export" in note
    assert "the result was cut" in page.inner_text("#sql-download-note")
    screenshot(page, "sql-editor-ten-thousand-rows")

    # The button shows 500 more (and scrolling to it may show the next 500 by itself).
    page.click("#sql-more-button")
    shown = page.eval_on_selector_all("#sql-result tbody tr", "rows => rows.length")
    assert shown in (700, 1200), shown
    page.mouse.wheel(0, 200_000)
    page.wait_for_function(f"() => document.querySelectorAll('#sql-result tbody tr').length >= {shown + 500}")
    assert page.eval_on_selector_all("#sql-result tbody tr", "rows => rows.length") < 10_000
    assert table_text(page, "#sql-result")[700] == ["700", "row 700"]

    # The downloads hold every row the server returned, not only those laid out.
    csv_lines = download(page, "#sql-download-csv").split("\r\n")
    assert csv_lines[:2] == ["i,label", "1,row 1"] and csv_lines[-2:] == ["10000,row 10000", ""]
    rows = json.loads(download(page, "#sql-download-json"))
    assert len(rows) == 10_000 and rows[-1] == {"i": 10_000, "label": "row 10000"}

    # A result within the limit says nothing of it.
    run(page, "SELECT 1 AS one")
    assert page.is_hidden("#sql-truncated") and page.is_hidden("#sql-more")
    assert page.inner_text("#sql-download-note") == ""
    assert violations == []


@pytest.mark.slow
def test_the_sql_page_under_a_read_only_link(session, browser):
    page, violations = session
    db = open_sql_page(page, "shared")
    readonly_id = page.evaluate(
        "async (db) => (await (await fetch(`/api/dbs/${db}/readonly-id`, {method: 'POST'})).json()).readonlyId", db
    )
    # A visitor who is not logged in, holding the link: the same editor, asking /readonly/<id>/sql.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    visitor = context.new_page()
    visitor.set_default_timeout(20_000)
    visitor_violations = watch_csp(visitor)
    asked: list[str] = []
    visitor.on("request", lambda r: asked.append(r.url) if r.method == "POST" else None)
    visitor.goto(f"{page.base}/readonly/{readonly_id}/sql")
    visitor.wait_for_selector(".cm-content")
    visitor.click(".cm-content")
    visitor.keyboard.press("Control+a")
    visitor.keyboard.type("SELECT name FROM art")
    assert completions(visitor)[0] == "artists"
    visitor.keyboard.press("Enter")
    visitor.keyboard.type(" ORDER BY name")
    visitor.keyboard.press("Control+Enter")
    visitor.wait_for_function(DONE)
    assert visitor.query_selector(".cm-tooltip-autocomplete") is None  # running closes the completion list
    assert table_text(visitor, "#sql-result") == [["name"], ["Miles Davis"], ["Nina Simone"]]
    assert asked and all(url.endswith(f"/readonly/{readonly_id}/sql") for url in asked), asked
    # A write is refused, and shown as an error.
    run(visitor, "DELETE FROM artists")
    assert "read-only" in visitor.inner_text("#sql-error")
    assert (
        page.evaluate(
            "async (db) => (await (await fetch(`/dbs/${db}/sql`, {method: 'POST', headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({query: 'SELECT count(*) AS n FROM artists'})})).json()).rows[0].n",
            db,
        )
        == 2
    )
    screenshot(visitor, "sql-editor-read-only-link")
    context.close()
    assert visitor_violations == [] and violations == []


def test_autocomplete_quotes_a_name_as_sql_needs_it(session):
    page, violations = session
    db = create_database_in_page(
        page, "quotes", 'CREATE TABLE "odd""name"("my col" TEXT); INSERT INTO "odd""name" VALUES (\'x\')'
    )
    page.goto(f"{page.base}/dbs/{db}/sql")
    page.wait_for_selector(".cm-content")
    page.click(".cm-content")
    page.keyboard.press("Control+a")
    page.keyboard.type("SELECT * FROM odd")
    assert completions(page) == ['odd"name']
    page.keyboard.press("Enter")
    assert editor_text(page) == 'SELECT * FROM "odd""name"'
    run(page)
    assert table_text(page, "#sql-result") == [["my col"], ["x"]]
    assert violations == []
