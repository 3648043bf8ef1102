"""Wide and long-text tables on the table page: a 2,000-column table (SQLite's most) shows its rows, read-only
(there is no room for the rowid beside `*` in a result of that width); a 40-column table of long text stays a
page of the window's height, with one-line cells, a sticky header, a horizontal scrollbar in view, and a way to
read a whole value. One server and one logged-in page for the module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page
from tests.server_process import running_server

WIDE = 2000
LONG_COLUMNS, LONG_ROWS = 40, 50  # one page of the default size
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    wide = ", ".join(f"c{i} TEXT" for i in range(WIDE))
    longs = ", ".join(f"t{i} TEXT" for i in range(LONG_COLUMNS))
    # Every cell: about 300 characters over three lines, its column and row at the start, "END" at the end.
    cells = ", ".join(
        f"'t{i} r' || i || ' ' || replace(hex(zeroblob(70)), '00', 'word ') || char(10) || 'second line END'"
        for i in range(LONG_COLUMNS)
    )
    query = (
        f"CREATE TABLE wide({wide}); INSERT INTO wide(c0, c1999) VALUES ('first', 'last');"
        f"CREATE TABLE longs({longs});"
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {LONG_ROWS})"
        f" INSERT INTO longs SELECT {cells} FROM n;"
        "CREATE VIEW longs_view AS SELECT * FROM longs;"
    )
    with running_server(tmp_path_factory.mktemp("wide") / "data") as base:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_up_in_page(page, base, "wanda")
        db = create_database_in_page(page, "wide", query)
        yield {"base": base, "db": db, "page": page}
        context.close()


def open_table(site: dict[str, Any], name: str, rows: int) -> Any:
    page = site["page"]
    page.goto(f"{site['base']}/dbs/{site['db']}/tables/{name}")
    page.wait_for_function(f"() => document.querySelectorAll('#sheet tbody tr').length === {rows}")
    return page


@pytest.mark.slow
def test_a_2000_column_table_page_shows_its_rows(site):
    page = open_table(site, "wide", 1)
    cells = page.eval_on_selector("#sheet tbody tr", "r => Array.from(r.cells).map(c => c.textContent)")
    assert cells[0] == "first" and cells[WIDE - 1] == "last"
    assert page.text_content("#sheet-error") == ""
    assert page.eval_on_selector("#sheet tbody td", "td => td.contentEditable") != "true"


def box(page: Any, selector: str) -> dict[str, float]:
    return dict(page.eval_on_selector(selector, "el => el.getBoundingClientRect().toJSON()"))


def test_a_40_column_long_text_table_stays_readable(site):
    page = open_table(site, "longs", LONG_ROWS)
    # The page is about one window tall (it was 50,000 px): the rows scroll inside a box of the window's height.
    height = page.evaluate("() => document.scrollingElement.scrollHeight")
    assert height < 2 * VIEWPORT["height"], height
    scroller = page.locator("#sheet-scroll")
    sizes = scroller.evaluate("el => [el.scrollWidth, el.clientWidth, el.scrollHeight, el.clientHeight]")
    assert sizes[0] > 3 * sizes[1] and sizes[2] > sizes[3]  # it scrolls both ways
    # Its horizontal scrollbar is reachable: with the window scrolled to the bottom, the box's bottom is in view.
    page.evaluate("() => window.scrollTo(0, document.scrollingElement.scrollHeight)")
    assert box(page, "#sheet-scroll")["bottom"] <= VIEWPORT["height"]
    # Cells are one line, truncated: a row is short though each value has three lines of ~300 characters.
    cell = box(page, "#sheet tbody tr:nth-child(2) td:nth-child(2)")
    assert cell["height"] < 40 and cell["width"] < 420
    screenshot(page, "wide-01-long-text")

    # Keys scroll the box sideways and down; the header stays on top.
    scroller.focus()
    page.keyboard.press("End")
    page.keyboard.press("PageDown")
    page.wait_for_function("() => document.querySelector('#sheet-scroll').scrollTop > 100")
    page.evaluate("() => { document.querySelector('#sheet-scroll').scrollLeft = 2000; }")
    head, top = box(page, "#sheet thead th:nth-child(10)"), box(page, "#sheet-scroll")
    assert abs(head["top"] - top["top"]) <= 2, (head, top)
    screenshot(page, "wide-02-scrolled")

    # "Wrap long text" shows every line in the cells.
    page.check("#wrap-cells")
    assert box(page, "#sheet tbody tr:nth-child(2) td:nth-child(2)")["height"] > 3 * cell["height"]
    page.uncheck("#wrap-cells")

    # An editable cell opens its editor with the whole value.
    page.locator("#sheet tbody tr:nth-child(2) td:nth-child(2)").click()
    value = page.input_value("#sheet tbody tr:nth-child(2) td:nth-child(2) textarea")
    assert value.startswith("t1 r2 word word") and value.endswith("second line END")
    page.keyboard.press("Escape")


def test_a_long_read_only_value_opens_whole_in_a_dialog(site):
    page = open_table(site, "longs_view", LONG_ROWS)
    assert page.locator("#sheet td.editable").count() == 0
    td = page.locator("#sheet tbody tr:nth-child(3) td:nth-child(5)")
    assert td.get_attribute("title", timeout=1000).endswith("second line END")
    td.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#cell-dialog[open]")
    assert page.text_content("#cell-dialog-title") == "t4"
    shown = page.text_content("#cell-dialog-value")
    assert shown.startswith("t4 r3 word") and shown.endswith("second line END") and "\n" in shown
    screenshot(page, "wide-03-dialog")
    page.keyboard.press("Escape")
    page.wait_for_selector("#cell-dialog:not([open])", state="attached")
    td.click()
    page.wait_for_selector("#cell-dialog[open]")
    page.click("#cell-dialog button")
    page.wait_for_selector("#cell-dialog:not([open])", state="attached")
