""" "Ask in words" in a real browser, with the llm library's deterministic `echo` model (it answers with the
`raw` text a JSON question names, so the test says what the model proposes): on the SQL page the proposed SQL
lands in the editor and runs with Ctrl+Enter; on the database page a read is shown with its rows, a write is
shown and not run, and "Open in the SQL editor" carries it there."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

SCHEMA = "CREATE TABLE albums(id INTEGER PRIMARY KEY, title TEXT); INSERT INTO albums VALUES (1, 'Pastel Blues'), (2, 'Kind of Blue')"


def question(sql: str, explanation: str) -> str:
    return json.dumps({"prompt": "x", "raw": json.dumps({"sql": sql, "explanation": explanation})})


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory) -> Iterator[object]:
    data = tmp_path_factory.mktemp("ask-in-words") / "data"
    with running_server(data, env={"AIRSEQUEL_LLM_MODEL": "echo"}) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.violations = watch_csp(page)  # type: ignore[attr-defined]
        sign_up_in_page(page, base, "ines")
        page.base = base  # type: ignore[attr-defined]
        yield page
        context.close()


def ask(page, text: str) -> None:
    page.fill("#ask-form input[name=prompt]", text)
    page.press("#ask-form input[name=prompt]", "Enter")
    page.wait_for_function("() => !document.querySelector('#ask-status').textContent.startsWith('Asking')")


def test_the_proposed_sql_lands_in_the_editor_and_runs(page):
    db = create_database_in_page(page, "music", SCHEMA)
    page.goto(f"{page.base}/dbs/{db}/sql")
    page.wait_for_selector(".cm-content")
    ask(page, question("SELECT title FROM albums ORDER BY id DESC", "The titles, newest first."))
    assert page.inner_text(".cm-content") == "SELECT title FROM albums ORDER BY id DESC"
    assert "The titles, newest first." in page.inner_text("#ask-status")
    assert page.inner_text("#ask-error") == ""
    page.click(".cm-content")
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => document.querySelector('#sql-result tbody tr')")
    cells = page.eval_on_selector_all("#sql-result tbody td", "tds => tds.map(td => td.textContent)")
    assert cells == ["Kind of Blue", "Pastel Blues"]
    screenshot(page, "ask-in-words-sql-page")
    assert page.violations == []  # type: ignore[attr-defined]


def test_on_the_database_page_a_read_shows_its_rows_and_a_write_is_only_shown(page):
    db = create_database_in_page(page, "music2", SCHEMA)
    page.goto(f"{page.base}/dbs/{db}")
    ask(page, question("SELECT count(*) AS n FROM albums", "Counts the albums."))
    assert page.inner_text("#ask-explanation") == "Counts the albums."
    assert page.inner_text("#ask-sql") == "SELECT count(*) AS n FROM albums"
    assert page.eval_on_selector_all("#ask-rows tbody td", "tds => tds.map(td => td.textContent)") == ["2"]
    assert page.inner_text("#ask-note") == "1 row"

    write = "DELETE FROM albums WHERE id = 1"
    ask(page, question(write, "Deletes the first album."))
    assert "not run" in page.inner_text("#ask-note")
    assert page.eval_on_selector_all("#ask-rows tbody tr", "trs => trs.length") == 0
    screenshot(page, "ask-in-words-database-page")
    page.click("#ask-open")
    page.wait_for_url(f"{page.base}/dbs/{db}/sql")
    page.wait_for_selector(".cm-content")
    assert page.inner_text(".cm-content") == write
    counted = page.evaluate(
        """async (db) => (await (await fetch(`/dbs/${db}/sql`, {method: "POST", headers: {"Content-Type": "application/json"},
            body: JSON.stringify({query: "SELECT count(*) AS n FROM albums"})})).json()).rows[0].n""",
        db,
    )
    assert counted == 2  # the proposed write was never run


def test_a_refused_question_shows_the_servers_reason(page):
    db = create_database_in_page(page, "music3", SCHEMA)
    page.goto(f"{page.base}/dbs/{db}")
    ask(page, json.dumps({"prompt": "x", "raw": "I would rather not."}))
    assert "proposed no SQL" in page.inner_text("#ask-error")
    assert page.is_hidden("#ask-answer")
