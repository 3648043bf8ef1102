"""At 390 px wide (a phone), the table page, the team page, GraphiQL and the API docs are usable: the page
never scrolls sideways (wide rows scroll inside their own box), the team's buttons are in view, and
GraphiQL shows its result pane (stacked under the editor) after a query is run with a click and with
Ctrl+Enter. Issue 21's polish; one server and one phone-sized page for the whole module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

PHONE = {"width": 390, "height": 844}
WIDE = (
    "CREATE TABLE measurements(id INTEGER PRIMARY KEY, "
    + ", ".join(f"column_with_a_long_name_{i} TEXT" for i in range(12))
    + "); INSERT INTO measurements VALUES (1, "
    + ", ".join(f"'{'a fairly long value ' * 3}{i}'" for i in range(12))
    + ")"
)
OVERFLOW = "() => [document.scrollingElement.scrollWidth, innerWidth]"
# Buttons and links of the page's main part that end right of the window, outside a box that scrolls sideways.
OUT_OF_VIEW = """() => Array.from(document.querySelectorAll('main button, main a, main input, main select'))
    .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().right > innerWidth + 0.5)
    .filter((e) => { for (let p = e.parentElement; p; p = p.parentElement) {
        const s = getComputedStyle(p); if ((s.overflowX === 'auto' || s.overflowX === 'scroll') && p.scrollWidth > p.clientWidth) return false; }
        return true; })
    .map((e) => e.outerHTML.slice(0, 80))"""


@pytest.fixture(scope="module")
def phone(browser, tmp_path_factory) -> Iterator[tuple[object, str, str]]:
    with running_server(tmp_path_factory.mktemp("phone") / "data") as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_up_in_page(page, base, "pia")
        db_id = create_database_in_page(page, "field notes with a rather long name", WIDE)
        made = page.evaluate(
            """async (db) => (await fetch('/api/tokens', {method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({name: 'a token with a long descriptive name', team_name: 'pia', description: '',
                                      permissions: [{db_id: db, name: 'read'}]})})).status""",
            db_id,
        )
        assert made == 201
        yield page, base, db_id
        context.close()


def assert_fits(page, name: str) -> None:
    width, inner = page.evaluate(OVERFLOW)
    screenshot(page, f"small-screen-{name}")
    assert width <= inner, f"{name}: the page is {width} px wide in a {inner} px window"


def test_table_page_fits_and_its_rows_scroll_in_their_box(phone):
    page, base, db_id = phone
    violations = watch_csp(page)
    page.goto(f"{base}/dbs/{db_id}/tables/measurements")
    page.wait_for_selector("#sheet tbody td")
    assert_fits(page, "table")
    assert page.evaluate(OUT_OF_VIEW) == []
    box = page.eval_on_selector("#sheet", "t => t.parentElement.getBoundingClientRect().right")
    assert box <= PHONE["width"]  # the sheet's box stays in the window; the rows scroll inside it
    assert violations == []


def test_team_page_fits_with_its_buttons_in_view(phone):
    page, base, _db_id = phone
    page.goto(f"{base}/teams/pia")
    page.wait_for_selector("text=a token with a long descriptive name")
    assert_fits(page, "team")
    assert page.evaluate(OUT_OF_VIEW) == []


def test_database_readonly_sql_and_home_pages_and_api_docs_fit(phone):
    page, base, db_id = phone
    rid = page.evaluate(
        f"async () => (await (await fetch('/api/dbs/{db_id}/readonly-id', {{method: 'POST'}})).json()).readonlyId"
    )
    for name, path in (
        ("readonly", f"/readonly/{rid}"),
        ("readonly-table", f"/readonly/{rid}/tables/measurements"),
        ("home", "/"),
        ("database", f"/dbs/{db_id}"),
        ("sql", f"/dbs/{db_id}/sql"),
        ("docs", "/api/docs"),
    ):
        page.goto(f"{base}{path}")
        assert_fits(page, name)


def visible_response(page) -> dict[str, float]:
    return page.eval_on_selector(
        ".graphiql-response",
        "e => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,"
        " width: r.width, height: r.height, shown: getComputedStyle(e).display !== 'none'}; }",
    )


def test_graphiql_shows_its_result_pane(phone):
    page, base, db_id = phone
    violations = watch_csp(page)
    page.goto(f"{base}/dbs/{db_id}/graphql")
    page.wait_for_selector(".graphiql-execute-button", timeout=30_000)
    page.wait_for_function("() => document.querySelector('.graphiql-query-editor').innerText.includes('measurements')")
    page.click(".graphiql-execute-button")
    page.wait_for_function(
        "() => document.querySelector('.graphiql-response').innerText.includes('a fairly long value')", timeout=30_000
    )
    pane = visible_response(page)
    assert pane["shown"] and pane["width"] >= 250 and pane["height"] >= 150, pane
    assert pane["left"] >= 0 and pane["right"] <= PHONE["width"] and pane["bottom"] <= PHONE["height"], pane
    assert page.is_visible("text=a fairly long value")
    assert_fits(page, "graphiql")

    # Ctrl+Enter in the editor runs the query again, into the same visible pane.
    page.click(".graphiql-query-editor .CodeMirror")
    page.keyboard.press("Control+a")
    page.keyboard.type("{ measurements { id } }")
    page.keyboard.press("Control+Enter")
    # GraphiQL empties the pane before the new answer is in it: wait for the answer itself.
    page.wait_for_function(
        """() => { const text = document.querySelector('.graphiql-response').innerText;
                   return !text.includes('a fairly long value') && text.includes('"id": 1'); }"""
    )
    assert visible_response(page)["right"] <= PHONE["width"]

    # And a way back to the app.
    page.click("#back-to-database")
    page.wait_for_url(f"{base}/dbs/{db_id}")
    assert violations == []
