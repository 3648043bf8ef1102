"""The table page's Add row and Add column forms, WITHOUT ROWID tables edited by primary key, the delete-column
confirmation and a locked schema, in a real browser against a real server: what the forms store is checked in the
file, and every refusal leaves it as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

SCHEMA = (
    "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, score REAL DEFAULT 1.5,"
    " code TEXT UNIQUE);"
    " CREATE TABLE pairs(k1 TEXT, k2 INTEGER, v, PRIMARY KEY (k1, k2)) WITHOUT ROWID;"
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with running_server(tmp_path_factory.mktemp("forms") / "data") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        csp_violations = watch_csp(page)
        sign_up_in_page(page, base, "rowan")
        db = create_database_in_page(page, "forms", SCHEMA)
        yield {"base": base, "page": page, "db": db}
        assert csp_violations == []
        context.close()


def fetch(site: dict[str, Any], method: str, url: str, body: Any = None) -> tuple[int, Any]:
    return tuple(
        site["page"].evaluate(
            """async ([method, url, body]) => {
                const init = {method, headers: {"Content-Type": "application/json"}};
                if (body !== null) init.body = JSON.stringify(body);
                const r = await fetch(url, init);
                return [r.status, await r.json()];
            }""",
            [method, url, body],
        )
    )


def sql(site: dict[str, Any], query: str) -> list[dict[str, Any]]:
    status, body = fetch(site, "POST", f"/dbs/{site['db']}/sql", {"query": query})
    assert status == 200 and not body.get("errors"), body
    return list(body.get("rows") or [])


def open_table(site: dict[str, Any], table: str, rows: int) -> Any:
    page = site["page"]
    page.goto(f"{site['base']}/dbs/{site['db']}/tables/{table}")
    page.wait_for_function(f"() => document.querySelectorAll('#sheet tbody tr').length === {rows}")
    return page


def field(page: Any, column: str) -> Any:
    return page.locator("#row-fields .row-field").filter(has=page.locator(f"label:text-is('{column}')"))


def test_the_row_form_types_values_leaves_out_defaults_sets_null_and_shows_the_new_row(site):
    sql(site, "DELETE FROM people")
    page = open_table(site, "people", 0)
    page.click("#add-row")
    assert page.locator("#row-dialog").is_visible()
    # what a column left out will get, before anything is sent
    assert "next rowid" in field(page, "id").locator(".field-hint").inner_text()
    assert "default, 1.5" in field(page, "score").locator(".field-hint").inner_text()
    assert "stores NULL" in field(page, "code").locator(".field-hint").inner_text()
    # NOT NULL without a default: a value or NULL (which it refuses), never left out
    assert field(page, "name").locator("option").all_inner_texts() == ["value", "NULL"]
    assert field(page, "id").locator("option").all_inner_texts() == ["leave out", "value", "NULL"]
    assert page.evaluate("document.activeElement.id") == field(page, "name").locator("textarea").get_attribute("id")
    page.keyboard.type("Ada")
    field(page, "age").locator("textarea").click()
    page.keyboard.type("42")
    assert "stores INTEGER 42" in field(page, "age").locator(".field-hint").inner_text()
    field(page, "code").locator("textarea").click()
    page.keyboard.type("007")  # a TEXT column keeps the leading zeros, and Shift+Enter a new line
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("b")
    field(page, "score").locator("select").select_option("null")
    assert "stores NULL" in field(page, "score").locator(".field-hint").inner_text()
    screenshot(page, "row-form-01-filled")
    field(page, "code").locator("textarea").press("Enter")
    page.wait_for_selector("#row-added")
    assert not page.locator("#row-dialog").is_visible()
    assert sql(site, "SELECT id, name, age, typeof(age) AS a, score, code FROM people") == [
        {"id": 1, "name": "Ada", "age": 42, "a": "integer", "score": None, "code": "007\nb"}
    ]
    added = page.inner_text("#row-added")
    assert "Row added (rowid 1)" in added and "Ada" in added and "007" in added
    page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 1")
    screenshot(page, "row-form-02-added")

    page.click("#add-row")  # a second row: the default is used when score is left out
    page.keyboard.type("Brian")
    page.click("#row-dialog button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 2")
    assert sql(site, "SELECT id, score, code FROM people WHERE name = 'Brian'") == [
        {"id": 2, "score": 1.5, "code": None}
    ]


def test_a_refused_row_shows_the_reason_in_the_form_and_inserts_nothing_and_escape_closes(site):
    sql(site, "DELETE FROM people; INSERT INTO people(name, code) VALUES ('Ada', 'x')")
    page = open_table(site, "people", 1)
    page.click("#add-row")
    field(page, "name").locator("select").select_option("null")
    assert "refuses" in field(page, "name").locator(".field-hint").inner_text()
    page.click("#row-dialog button[type=submit]")
    error = page.locator("#row-form .error")
    error.filter(has_text="Not inserted").wait_for()
    assert "NOT NULL constraint failed: people.name" in error.inner_text()
    assert page.locator("#row-dialog").is_visible()

    field(page, "name").locator("textarea").click()
    page.keyboard.type("Cy")
    field(page, "code").locator("textarea").click()
    page.keyboard.type("x")  # taken
    page.keyboard.press("Enter")
    error.filter(has_text="UNIQUE").wait_for()
    screenshot(page, "row-form-03-refused")
    assert sql(site, "SELECT count(*) AS n FROM people") == [{"n": 1}]

    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.getElementById('row-dialog').open")
    page.click("#add-row")  # Cancel closes too, and a new form starts afresh
    assert field(page, "name").locator("textarea").input_value() == ""
    page.click("#row-dialog .edit-cancel")
    page.wait_for_function("() => !document.getElementById('row-dialog').open")
    assert sql(site, "SELECT count(*) AS n FROM people") == [{"n": 1}]


def test_the_column_form_offers_known_types_needs_a_default_for_not_null_and_shows_refusals(site):
    sql(site, "DELETE FROM people; INSERT INTO people(name) VALUES ('Ada'), ('Bo')")
    page = open_table(site, "people", 2)
    page.click("#add-column")
    options = page.locator("#column-type option").all_inner_texts()
    assert options[:5] == ["TEXT", "INTEGER", "REAL", "NUMERIC", "BLOB"] and "VARCHAR" in options
    assert "NOTATYPE" not in options
    page.keyboard.type("level")
    page.select_option("#column-type", "INTEGER")
    page.check("#column-not-null")
    assert "needs a default for the table's 2 existing rows" in page.inner_text("#column-default-hint")
    page.click("#column-dialog button[type=submit]")
    assert "needs a default" in page.inner_text("#column-form .error")
    page.click("#column-default")
    page.keyboard.type("0")
    assert page.inner_text("#column-default-hint") == "default: INTEGER 0"
    screenshot(page, "column-form-01-filled")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 2")
    info = sql(
        site, "SELECT name, type, \"notnull\" AS nn, dflt_value FROM pragma_table_info('people') WHERE name = 'level'"
    )
    assert info == [{"name": "level", "type": "INTEGER", "nn": 1, "dflt_value": "0"}]
    assert sql(site, "SELECT DISTINCT level, typeof(level) AS t FROM people") == [{"level": 0, "t": "integer"}]

    page.click("#add-column")  # a name already taken: the server's reason, in the form
    page.keyboard.type("NAME")
    page.click("#column-dialog button[type=submit]")
    page.locator("#column-form .error").filter(has_text="exists already").wait_for()
    page.keyboard.press("Escape")
    columns = sql(site, "SELECT name FROM pragma_table_info('people')")
    assert [c["name"] for c in columns] == ["id", "name", "age", "score", "code", "level"]


def test_deleting_a_column_asks_in_place_and_keep_or_escape_keeps_it(site):
    fetch(site, "PUT", f"/api/dbs/{site['db']}/tables/people/columns/spare", {"sqliteDataType": "TEXT"})
    sql(site, "DELETE FROM people; INSERT INTO people(name) VALUES ('Ada')")
    page = open_table(site, "people", 1)
    # the header has a cell above the rows' Delete buttons: as many header cells as cells in a row
    assert page.locator("#sheet thead th").count() == page.locator("#sheet tbody tr").first.locator("td").count()
    assert page.locator("#sheet thead th.row-actions").count() == 1
    page.click("button[aria-label='Delete column spare']")
    assert "Delete column spare" in page.inner_text("#sheet thead .row-confirm")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Keep column spare"
    page.keyboard.press("Escape")
    assert page.locator(".row-confirm").count() == 0
    page.click("button[aria-label='Delete column spare']")
    page.click("button[aria-label='Keep column spare']")
    assert "spare" in [c["name"] for c in sql(site, "SELECT name FROM pragma_table_info('people')")]
    page.click("button[aria-label='Delete column spare']")
    screenshot(page, "column-delete-01-asks")
    with page.expect_navigation():
        page.click("button[aria-label='Yes, delete column spare']")
    assert "spare" not in [c["name"] for c in sql(site, "SELECT name FROM pragma_table_info('people')")]


def test_a_without_rowid_table_is_edited_and_its_rows_deleted_by_primary_key(site):
    sql(site, "DELETE FROM pairs; INSERT INTO pairs VALUES ('a', 1, 'one'), ('a', 2, 'two')")
    page = open_table(site, "pairs", 2)
    assert page.locator("#sheet thead th.row-actions").count() == 1
    row = page.locator("#sheet tbody tr").filter(has_text="two")
    row.locator("td").nth(2).click()
    page.keyboard.press("Control+A")
    page.keyboard.type("deux")
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('#sheet td.editing, #sheet td.saving')")
    assert sql(site, "SELECT k1, k2, v FROM pairs ORDER BY k2") == [
        {"k1": "a", "k2": 1, "v": "one"},
        {"k1": "a", "k2": 2, "v": "deux"},
    ]
    row = page.locator("#sheet tbody tr").filter(has_text="deux")
    row.locator("td").nth(1).click()  # a key column: the row moves, and the next edit finds it there
    page.keyboard.press("Control+A")
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('#sheet td.editing, #sheet td.saving')")
    row.locator("td").nth(2).click()
    page.keyboard.press("Control+A")
    page.keyboard.type("cinq")
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('#sheet td.editing, #sheet td.saving')")
    assert page.locator("#sheet .cell-error").count() == 0
    assert sql(site, "SELECT k1, k2, v FROM pairs ORDER BY k2") == [
        {"k1": "a", "k2": 1, "v": "one"},
        {"k1": "a", "k2": 5, "v": "cinq"},
    ]
    screenshot(page, "without-rowid-01-edited")
    page.click("""button[aria-label='Delete row k1 "a", k2 1']""")
    page.click("""button[aria-label='Yes, delete row k1 "a", k2 1']""")
    page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 1")
    assert sql(site, "SELECT k1, k2, v FROM pairs") == [{"k1": "a", "k2": 5, "v": "cinq"}]


def test_a_locked_schema_hides_the_column_controls_and_rows_stay_editable(site):
    status, _ = fetch(site, "PATCH", f"/api/dbs/{site['db']}/settings", {"schemaLocked": True})
    assert status == 200
    try:
        sql(site, "DELETE FROM people; INSERT INTO people(name) VALUES ('Ada')")
        page = open_table(site, "people", 1)
        assert page.locator("#add-column").count() == 0
        assert page.locator("#sheet thead button[aria-label^='Delete column']").count() == 0
        assert "Schema locked" in page.inner_text("#schema-locked")
        screenshot(page, "locked-schema-01")
        page.locator("#sheet tbody tr").first.locator("td").nth(1).click()  # rows are still edited
        page.keyboard.press("Control+A")
        page.keyboard.type("Ida")
        page.keyboard.press("Enter")
        page.wait_for_function("() => !document.querySelector('#sheet td.editing, #sheet td.saving')")
        assert sql(site, "SELECT name FROM people") == [{"name": "Ida"}]
        page.click("#add-row")
        page.keyboard.type("Jo")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 2")
    finally:
        fetch(site, "PATCH", f"/api/dbs/{site['db']}/settings", {"schemaLocked": False})


def test_names_in_the_forms_are_text_not_markup(site):
    name = """<img src=x id=injected>"'"""
    quoted = name.replace('"', '""')
    sql(site, f"""CREATE TABLE IF NOT EXISTS odd("{quoted}" TEXT DEFAULT '<b id=bold>x</b>')""")
    page = open_table(site, "odd", 0)
    page.click("#add-row")
    assert page.locator("#row-fields label").all_inner_texts() == [name]
    assert "<b id=bold>x</b>" in page.inner_text("#row-fields .field-hint")
    assert page.locator("#injected, #bold").count() == 0
    page.keyboard.press("Escape")


def test_a_key_too_large_to_arrive_exact_is_not_offered_for_editing(site):
    # 2^53 + 1 arrives in the page as 2^53: editing "that" row could change its neighbour instead
    sql(
        site,
        "DELETE FROM pairs; INSERT INTO pairs VALUES ('a', 9007199254740992, 'even'), ('a', 9007199254740993, 'odd')",
    )
    page = open_table(site, "pairs", 2)
    assert page.locator("#sheet tbody td.editable").count() == 0
    assert page.locator("#sheet tbody button[aria-label^='Delete row']").count() == 0
    assert page.locator("#sheet thead th").count() == page.locator("#sheet tbody tr").first.locator("td").count()
    sql(site, "DELETE FROM pairs")
