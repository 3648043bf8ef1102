"""The functions page in a real browser, driven by clicks and keys: from the database page to its functions,
a new function typed into CodeMirror and saved (Ctrl+Enter) with Deno's diagnostics shown, run with a JSON body
(the rows it wrote appear in the result and in the last calls with its log line), a second version saved, the
first put back in force, and the function deleted; all of it under the pages' CSP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

pytestmark = pytest.mark.slow

CODE = (
    "export default async function (context) {\n"
    'if (!context.data.text) throw new Error("text is missing");\n'
    'console.log("adding", context.data.text);\n'
    'await context.sql("INSERT INTO notes(text) VALUES (?)", [context.data.text]);\n'
    'const { rows } = await context.sql("SELECT text FROM notes ORDER BY id");\n'
    "return { data: rows.map((r) => r.text) };\n"
    "}\n"
)


@pytest.fixture(scope="module")
def session(browser, tmp_path_factory) -> Iterator[tuple[object, list[str]]]:
    with running_server(tmp_path_factory.mktemp("functions-page") / "data") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        violations = watch_csp(page)
        sign_up_in_page(page, base, "fenna")
        page.base = base  # type: ignore[attr-defined]
        yield page, violations
        context.close()


def replace_code(page, code: str) -> None:
    page.click("#fn-form .cm-content")
    page.keyboard.press("Control+a")
    page.keyboard.press("Backspace")
    page.keyboard.insert_text(code)


def test_write_save_run_version_and_delete_a_function(session):
    page, violations = session
    db = create_database_in_page(page, "notes", "CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT)")
    page.goto(f"{page.base}/dbs/{db}")
    page.click("text=Functions")
    page.wait_for_selector("#fn-form .cm-content")
    assert page.is_visible("#fn-empty")

    page.fill("#fn-name", "Add note")
    page.select_option("#fn-permission", "write")
    replace_code(page, CODE)
    page.keyboard.press("Control+Enter")  # saves
    page.wait_for_function("() => document.querySelector('#fn-status').textContent.startsWith('Saved')")
    assert page.inner_text("#fn-status").startswith("Saved as version 1")
    assert page.inner_text("#fn-items").startswith("Add note")
    assert "reads and writes" in page.inner_text("#fn-items")

    page.fill("#fn-body", '{"text": "first <b>note</b>"}')
    page.click("#fn-run")
    page.wait_for_function("() => document.querySelector('#fn-run-status').textContent.startsWith('200')")
    assert "first <b>note</b>" in page.inner_text("#fn-result")  # as text: nothing parsed as HTML
    assert page.query_selector("#fn-result b") is None
    page.wait_for_function("() => document.querySelectorAll('#fn-invocations li').length === 1")
    call = page.inner_text("#fn-invocations li")
    assert "POST · ok" in call and "adding first <b>note</b>" in call

    # A second version with a type error: saved, with the diagnostic shown beside it.
    replace_code(page, "export default () => {\n  const n: number = 'x';\n  return { data: n };\n}\n")
    page.click("#fn-save")
    page.wait_for_function("() => document.querySelector('#fn-status').textContent.includes('version 2')")
    diagnostics = page.inner_text("#fn-diagnostics-list")
    assert "line 2" in diagnostics and "TS2322" in diagnostics
    screenshot(page, "functions-page")

    # Version 1 back in force: the run writes a row again.
    page.select_option("#fn-version", index=0)
    page.wait_for_function("() => document.querySelector('#fn-status').textContent.startsWith('Showing version 1')")
    page.click("#fn-republish")
    page.wait_for_function("() => document.querySelector('#fn-status').textContent === 'Version 1 is in force.'")
    page.fill("#fn-body", '{"text": "second"}')
    page.click("#fn-run")
    page.wait_for_function("() => document.querySelector('#fn-result').textContent.includes('second')")
    assert '"first <b>note</b>",\n  "second"' in page.inner_text("#fn-result")

    # A failing run shows the error.
    page.select_option("#fn-method", "GET")
    page.click("#fn-run")
    page.wait_for_function("() => document.querySelector('#fn-run-status').textContent.startsWith('422')")
    assert "The function failed: Error: text is missing" in page.inner_text("#fn-result")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#fn-delete")
    page.wait_for_function("() => document.querySelector('#flash').textContent === 'Deleted Add note.'")
    assert page.is_visible("#fn-empty")
    assert violations == []
