"""Editing a cell on the table page, in a real browser against a real server: an edit is typed by its column
(42 is an INTEGER in an untyped or INTEGER column, TEXT in a TEXT one), NULL can be set, Escape cancels, leaving a
cell saves only a change, and a refused edit puts the old value back with the server's reason beside the cell.
Deleting a row asks first, in place, and a refused deletion says why and keeps the row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

SCHEMA = (
    "CREATE TABLE things(id INTEGER PRIMARY KEY, anything, amount INTEGER, price REAL, label TEXT NOT NULL,"
    " score INTEGER CHECK (score >= 0), data BLOB);"
    " CREATE TRIGGER kept BEFORE DELETE ON things WHEN old.label = 'kept' BEGIN SELECT RAISE(ABORT, 'this row is kept'); END"
)
COLUMNS = ["id", "anything", "amount", "price", "label", "score", "data"]
FIRST_ROW = "INSERT INTO things VALUES (1, 'old', 7, 2.5, 'first', 3, X'00FF')"


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with running_server(tmp_path_factory.mktemp("cells") / "data") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15_000)
        csp_violations = watch_csp(page)
        sign_up_in_page(page, base, "cora")
        db = create_database_in_page(page, "cells", SCHEMA)
        yield {"base": base, "page": page, "db": db}
        assert csp_violations == []
        context.close()


def sql(site: dict[str, Any], query: str) -> list[dict[str, Any]]:
    """POST /dbs/<id>/sql as the logged-in page; the rows."""
    status, body = site["page"].evaluate(
        """async ([db, query]) => {
            const r = await fetch(`/dbs/${db}/sql`, {method: "POST", headers: {"Content-Type": "application/json"},
                                                      body: JSON.stringify({query})});
            return [r.status, await r.json()];
        }""",
        [site["db"], query],
    )
    assert status == 200 and not body.get("errors"), body
    return list(body.get("rows") or [])


@pytest.fixture
def page(site: dict[str, Any]) -> Iterator[Any]:
    """The table page showing the one row FIRST_ROW, freshly inserted."""
    sql(site, "UPDATE things SET label = 'gone'; DELETE FROM things")  # no row left 'kept' by the trigger
    sql(site, FIRST_ROW)
    page = site["page"]
    page.goto(f"{site['base']}/dbs/{site['db']}/tables/things")
    page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 1")
    yield page


def cell(page: Any, column: str) -> Any:
    return page.locator("#sheet tbody tr").first.locator("td").nth(COLUMNS.index(column))


def stored(site: dict[str, Any], column: str) -> dict[str, Any]:
    rows = sql(site, f"SELECT {column} AS value, typeof({column}) AS kind FROM things WHERE id = 1")
    assert len(rows) == 1
    return rows[0]


def retype(page: Any, column: str, text: str) -> None:
    """Open the cell's editor with a click and replace its text by typing."""
    cell(page, column).click()
    page.keyboard.press("Control+A")
    if text:
        page.keyboard.type(text)
    else:
        page.keyboard.press("Backspace")


def wait_saved(page: Any, column: str) -> None:
    page.wait_for_function(
        "([i]) => { const td = document.querySelectorAll('#sheet tbody tr td')[i];"
        " return !td.classList.contains('editing') && !td.classList.contains('saving'); }",
        arg=[COLUMNS.index(column)],
    )


@pytest.mark.slow
def test_a_number_is_stored_as_a_number_in_untyped_and_integer_columns_and_as_text_in_a_text_column(site, page):
    retype(page, "anything", "42")
    hint = cell(page, "anything").locator(".cell-hint").inner_text()
    assert "stores INTEGER 42" in hint and "untyped" in hint  # said before it is stored
    screenshot(page, "cell-editing-01-hint")
    page.keyboard.press("Enter")
    wait_saved(page, "anything")
    assert stored(site, "anything") == {"value": 42, "kind": "integer"}
    assert cell(page, "anything").inner_text() == "42"
    assert "Saved anything" in page.inner_text("#flash")

    retype(page, "amount", " 9007199254740993 ")  # past 2^53: exact all the same
    page.keyboard.press("Enter")
    wait_saved(page, "amount")
    assert sql(site, "SELECT amount = 9007199254740993 AS exact, typeof(amount) AS kind FROM things") == [
        {"exact": 1, "kind": "integer"}
    ]

    retype(page, "label", "42")
    assert "stores TEXT" in cell(page, "label").locator(".cell-hint").inner_text()
    page.keyboard.press("Enter")
    wait_saved(page, "label")
    assert stored(site, "label") == {"value": "42", "kind": "text"}

    retype(page, "price", "1.25")
    page.keyboard.press("Enter")
    wait_saved(page, "price")
    assert stored(site, "price") == {"value": 1.25, "kind": "real"}

    retype(page, "amount", "seven")  # not a number: stored as typed, and the hint says so first
    assert "not a number" in cell(page, "amount").locator(".cell-hint").inner_text()
    page.keyboard.press("Enter")
    wait_saved(page, "amount")
    assert stored(site, "amount") == {"value": "seven", "kind": "text"}


@pytest.mark.slow
def test_clearing_a_real_cell_stores_null_and_the_null_button_sets_null(site, page):
    retype(page, "price", "")
    assert "stores NULL" in cell(page, "price").locator(".cell-hint").inner_text()
    page.keyboard.press("Enter")
    wait_saved(page, "price")
    assert stored(site, "price") == {"value": None, "kind": "null"}
    assert cell(page, "price").inner_text() == "NULL"

    retype(page, "anything", "")  # a TEXT value cleared in an untyped column: NULL too
    page.keyboard.press("Enter")
    wait_saved(page, "anything")
    assert stored(site, "anything") == {"value": None, "kind": "null"}

    cell(page, "amount").click()
    screenshot(page, "cell-editing-02-null-button")
    cell(page, "amount").locator("button.cell-null").click()
    wait_saved(page, "amount")
    assert stored(site, "amount") == {"value": None, "kind": "null"}
    assert cell(page, "amount").inner_text() == "NULL"

    retype(page, "label", "")  # a TEXT column cleared holds empty text, not NULL
    assert "empty TEXT" in cell(page, "label").locator(".cell-hint").inner_text()
    page.keyboard.press("Enter")
    wait_saved(page, "label")
    assert stored(site, "label") == {"value": "", "kind": "text"}


@pytest.mark.slow
def test_escape_cancels_and_leaving_an_unchanged_cell_sends_nothing_but_leaving_a_changed_one_saves(site, page):
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)

    retype(page, "label", "oops")
    page.keyboard.press("Escape")
    assert cell(page, "label").inner_text() == "first"
    cell(page, "amount").click()  # opened and left without a change
    page.click("h1")
    assert cell(page, "amount").inner_text() == "7"
    page.wait_for_timeout(300)
    assert sent == []
    assert stored(site, "label") == {"value": "first", "kind": "text"}
    assert stored(site, "amount") == {"value": 7, "kind": "integer"}

    retype(page, "amount", "8")
    page.click("h1")  # leaving a changed cell saves it
    wait_saved(page, "amount")
    assert stored(site, "amount") == {"value": 8, "kind": "integer"}

    cell(page, "score").focus()  # the keyboard alone: Enter opens, Enter saves
    page.keyboard.press("Enter")
    page.keyboard.press("Control+A")
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    wait_saved(page, "score")
    assert stored(site, "score") == {"value": 5, "kind": "integer"}


@pytest.mark.slow
def test_a_refused_edit_puts_the_old_value_back_with_the_reason_beside_the_cell(site, page):
    retype(page, "amount", "8")
    page.keyboard.press("Enter")
    wait_saved(page, "amount")
    assert page.is_visible("#flash")

    cell(page, "label").click()
    cell(page, "label").locator("textarea").fill("")
    assert "stores empty TEXT" in cell(page, "label").locator(".cell-hint").inner_text()
    cell(page, "label").locator("button.cell-null").hover()
    cell(page, "label").locator("button.cell-null").click()  # NOT NULL
    reason = cell(page, "label").locator(".cell-error")
    reason.wait_for()
    assert "NOT NULL constraint failed" in reason.inner_text()
    assert cell(page, "label").inner_text().startswith("first")
    assert not page.is_visible("#flash")  # no stale "Saved"
    assert page.text_content("#sheet-error") == ""
    assert stored(site, "label") == {"value": "first", "kind": "text"}
    screenshot(page, "cell-editing-03-refused")

    retype(page, "score", "-1")  # CHECK (score >= 0)
    page.keyboard.press("Enter")
    reason = cell(page, "score").locator(".cell-error")
    reason.wait_for()
    assert "CHECK constraint failed" in reason.inner_text()
    assert cell(page, "score").inner_text().startswith("3")
    assert stored(site, "score") == {"value": 3, "kind": "integer"}

    retype(page, "score", "4")  # the next edit clears the reason
    page.keyboard.press("Enter")
    wait_saved(page, "score")
    assert cell(page, "score").locator(".cell-error").count() == 0
    assert stored(site, "score") == {"value": 4, "kind": "integer"}


@pytest.mark.slow
def test_a_blob_cell_is_not_opened_as_text(site, page):
    cell(page, "data").click()
    assert cell(page, "data").locator("textarea").count() == 0
    assert "BLOB" in (cell(page, "data").get_attribute("title") or "")
    assert sql(site, "SELECT hex(data) AS h FROM things") == [{"h": "00FF"}]


def ids(site: dict[str, Any]) -> list[int]:
    return [row["id"] for row in sql(site, "SELECT id FROM things ORDER BY id")]


@pytest.mark.slow
def test_deleting_a_row_asks_first_and_keep_or_escape_keeps_it(site, page):
    sql(site, "INSERT INTO things(id, label) VALUES (2, 'second')")
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 2")

    page.click("button[aria-label='Delete row 2']")
    assert page.inner_text("#sheet tbody tr:nth-child(2) .row-confirm").startswith("Delete this row?")
    screenshot(page, "cell-editing-04-confirm-delete")
    page.click("button[aria-label='Keep row 2']")
    page.click("button[aria-label='Delete row 2']")
    page.keyboard.press("Escape")
    assert page.locator(".row-confirm").count() == 0
    assert ids(site) == [1, 2]

    page.click("button[aria-label='Delete row 2']")
    page.click("button[aria-label='Yes, delete row 2']")
    page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 1")
    assert ids(site) == [1]


@pytest.mark.slow
def test_a_refused_deletion_says_why_beside_the_row_and_keeps_it(site, page):
    sql(site, "UPDATE things SET label = 'kept' WHERE id = 1")
    page.reload()
    page.wait_for_selector("#sheet tbody tr")
    page.click("button[aria-label='Delete row 1']")
    page.click("button[aria-label='Yes, delete row 1']")
    reason = page.locator("#sheet tbody tr .row-actions .cell-error")
    reason.wait_for()
    assert "this row is kept" in reason.inner_text()
    assert page.locator("#sheet tbody tr").count() == 1
    assert ids(site) == [1]
    screenshot(page, "cell-editing-05-delete-refused")


@pytest.mark.slow
def test_editing_the_integer_primary_key_moves_the_row_and_later_edits_follow_it(site, page):
    retype(page, "id", "10")
    page.keyboard.press("Enter")
    wait_saved(page, "id")
    assert ids(site) == [10]
    retype(page, "label", "moved")  # the row is found under its new rowid
    page.keyboard.press("Enter")
    wait_saved(page, "label")
    assert sql(site, "SELECT id, label FROM things") == [{"id": 10, "label": "moved"}]
    assert cell(page, "label").locator(".cell-error").count() == 0
