"""Issue 21, "Browsing": foreign-key cells link to the referenced row with its label (one label query per
page of rows), a row page shows the row and the rows that reference it, the schema page shows the
table's schema, the same through a read-only link; and an export job is started, followed and
downloaded from the database page. Driven by clicks and keys in a real Chromium."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

SCHEMA = """
CREATE TABLE artists(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE "a/b albums"(id INTEGER PRIMARY KEY, title TEXT, artist_id INTEGER REFERENCES artists(id));
CREATE INDEX albums_by_artist ON "a/b albums"(artist_id);
INSERT INTO artists VALUES (1, 'Nina <i>Simone</i>'), (2, 'Miles Davis');
INSERT INTO "a/b albums"(title, artist_id) VALUES ('Pastel Blues', 1), ('Wild Is the Wind', 1), ('Kind of Blue', 2), ('Untitled', NULL);
"""


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory):
    """One server and one logged-in page for the module's journeys."""
    with running_server(tmp_path_factory.mktemp("rows") / "data") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        violations = watch_csp(page)
        sign_up_in_page(page, base, "rowena")
        db = create_database_in_page(page, "music", SCHEMA)
        yield base, page, db
        assert violations == []
        context.close()


def label_queries(page) -> list[str]:
    queries: list[str] = []

    def seen(request) -> None:
        if request.method == "POST" and request.url.endswith("/sql"):
            query = json.loads(request.post_data or "{}").get("query", "")
            if " AS l FROM " in query:  # static/foreign_keys.js's label query
                queries.append(query)

    page.on("request", seen)
    return queries


def test_foreign_key_cells_link_to_the_referenced_row_and_the_row_page_shows_who_references_it(site):
    base, page, db = site
    queries = label_queries(page)
    page.goto(f"{base}/dbs/{db}/tables/a%2Fb%20albums")
    page.wait_for_selector("#sheet a.foreign-key")
    page.wait_for_function("() => document.querySelector('#sheet .fk-label')?.textContent")
    links = page.eval_on_selector_all(
        "#sheet a.foreign-key", "els => els.map(a => [a.textContent, a.nextElementSibling?.textContent])"
    )
    assert links == [["1", "Nina <i>Simone</i>"], ["1", "Nina <i>Simone</i>"], ["2", "Miles Davis"]]
    assert page.locator("#sheet i").count() == 0  # the label is text, not markup
    assert len(queries) == 1  # one label query for the page of rows, not one per cell
    screenshot(page, "rows-foreign-key-links")

    # Follow the first link, with the keyboard.
    page.focus("#sheet a.foreign-key")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/rows/artists\?key="))
    assert "Nina <i>Simone</i>" in page.inner_text("#row-columns")
    assert page.inner_text("#referenced-by .all-referencing") == "2 rows in a/b albums"
    assert "Pastel Blues" in page.inner_text("#referenced-by") and "Kind of Blue" not in page.inner_text(
        "#referenced-by"
    )
    screenshot(page, "rows-row-page")

    # To the referencing table, filtered to these rows.
    page.click("#referenced-by .all-referencing")
    page.wait_for_url(re.compile(r"/tables/a%2Fb%20albums\?eq%3Aartist_id=1$"))
    page.wait_for_selector("text=Pastel Blues")

    # Each row of the table page opens its own row page.
    page.goto(f"{base}/dbs/{db}/tables/a%2Fb%20albums")
    page.click("#sheet tbody tr:nth-child(3) a.row-link")
    page.wait_for_url(re.compile(r"/rows/a(/|%2F)b%20albums\?rowid=3$"))
    assert "Kind of Blue" in page.inner_text("#row-columns")
    assert "Miles Davis" in page.inner_text("#row-columns .label")
    assert "No table has a foreign key to a/b albums" in page.inner_text("#referenced-by")


def test_an_edited_foreign_key_cell_links_to_its_new_row(site):
    base, page, db = site
    page.goto(f"{base}/dbs/{db}/tables/a%2Fb%20albums")
    cell = page.locator("#sheet tbody tr").nth(2).locator("td").nth(2)
    cell.locator(".fk-label", has_text="Miles Davis").wait_for()
    for value, label in (("1", "Nina <i>Simone</i>"), ("2", "Miles Davis")):
        cell.locator(".fk-label").click()  # beside the link: opens the cell's editor
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
        page.keyboard.press("Enter")
        cell.locator(".fk-label", has_text=label).wait_for()
        assert cell.locator("a.foreign-key").inner_text() == value
        key = cell.locator("a.foreign-key").get_attribute("href").split("key=")[1]
        assert key == f"%7B%22id%22%3A{value}%7D"


def test_the_schema_page_from_the_table_page_and_the_database_page(site):
    base, page, db = site
    page.goto(f"{base}/dbs/{db}/tables/artists")
    page.click("#schema-link")
    page.wait_for_url(f"{base}/dbs/{db}/schema/artists")
    assert "CREATE TABLE artists(id INTEGER PRIMARY KEY, name TEXT NOT NULL)" in page.inner_text("#create-sql")
    assert page.inner_text("#schema-columns tr[data-column=name]").split() == ["name", "TEXT", "yes"]
    # Referenced by the albums: to that table's schema.
    page.click("#schema-referenced-by a")
    page.wait_for_url(re.compile(r"/schema/a(/|%2F)b%20albums$"))
    assert "albums_by_artist" in page.inner_text("#schema-indexes")
    assert "artist_id → artists (id)" in page.inner_text("#schema-references")
    screenshot(page, "rows-schema-page")
    # The database page's table list links each schema.
    page.goto(f"{base}/dbs/{db}")
    page.click("a.schema-of[data-table=artists]")
    page.wait_for_url(f"{base}/dbs/{db}/schema/artists")


def test_a_read_only_link_shows_row_and_schema_pages_under_its_address(site, browser):
    base, page, db = site
    readonly = page.evaluate(
        "async (db) => (await (await fetch(`/api/dbs/${db}/readonly-id`, {method: 'POST'})).json()).readonlyId", db
    )
    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(20_000)
    # The read-only table page links its foreign keys under the link's address, with their labels.
    visitor.goto(f"{base}/readonly/{readonly}/tables/a%2Fb%20albums")
    visitor.wait_for_function(
        "() => [...document.querySelectorAll('#sheet .fk-label')].some((l) => l.textContent === 'Miles Davis')"
    )
    visitor.click("#sheet a.foreign-key >> text=2")
    visitor.wait_for_url(re.compile(rf"{re.escape(base)}/readonly/{readonly}/rows/artists\?key="))
    assert "Miles Davis" in visitor.inner_text("#row-columns")
    visitor.click("#referenced-by a.all-referencing")
    visitor.wait_for_url(re.compile(rf"/readonly/{readonly}/tables/a%2Fb%20albums\?eq%3Aartist_id=2$"))
    visitor.goto(f"{base}/readonly/{readonly}/rows/artists?rowid=2")
    assert "Miles Davis" in visitor.inner_text("#row-columns")
    visitor.click("#schema-link")
    visitor.wait_for_url(f"{base}/readonly/{readonly}/schema/artists")
    assert db not in visitor.content()
    unknown = visitor.goto(f"{base}/readonly/{readonly}/rows/artists?rowid=99")
    assert unknown is not None and unknown.status == 404
    assert "has no such row" in visitor.inner_text("main")
    visitor.context.close()


def test_an_export_job_is_started_followed_and_downloaded_from_the_database_page(site):
    base, page, db = site
    page.goto(f"{base}/dbs/{db}")
    page.select_option("#export-table", "artists")
    page.select_option("#export-format", "application/json")
    page.click("#start-export")
    job = page.locator("#export-jobs li").first
    download_link = job.locator("a.export-download")
    download_link.wait_for(state="visible")
    assert "Done: 2 rows" in job.inner_text()
    assert job.locator("progress").evaluate("p => p.value") == 1
    screenshot(page, "rows-export-done")
    with page.expect_download() as download:
        download_link.click()
    content = download.value.path().read_text()
    assert json.loads(content) == [{"id": 1, "name": "Nina <i>Simone</i>"}, {"id": 2, "name": "Miles Davis"}]

    # A refused export says why, and starts nothing: the table chosen is gone since the page was shown.
    page.evaluate(
        """async (db) => fetch(`/dbs/${db}/sql`, {method: "POST", headers: {"Content-Type": "application/json"},
                                                  body: JSON.stringify({query: "CREATE TABLE gone(x); "})})""",
        db,
    )
    page.reload()
    page.evaluate(
        """async (db) => fetch(`/dbs/${db}/sql`, {method: "POST", headers: {"Content-Type": "application/json"},
                                                  body: JSON.stringify({query: "DROP TABLE gone"})})""",
        db,
    )
    # The reloaded page follows on the job started before, done, with its download.
    page.locator("#export-jobs li a.export-download").wait_for(state="visible")
    assert "music · artists (JSON)" in page.inner_text("#export-jobs li")
    page.select_option("#export-table", "gone")
    page.focus("#start-export")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#export-error').textContent !== ''")
    assert "gone" in page.inner_text("#export-error")
    assert page.locator("#export-jobs li").count() == 1
    jobs = page.evaluate("async () => (await (await fetch('/api/exports')).json()).exports.length")
    assert jobs == 1


def test_a_running_export_shows_its_progress(site):
    base, page, _db = site
    big = create_database_in_page(
        page,
        "big",
        "CREATE TABLE big(id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
        "FROM n WHERE i < 400000) INSERT INTO big SELECT i, 'value number ' || i FROM n",
    )
    page.goto(f"{base}/dbs/{big}")
    # Every status the job's line shows, as it changes.
    page.evaluate(
        """() => { window.statuses = []; new MutationObserver(() => {
             const s = document.querySelector('#export-jobs .export-status');
             const p = document.querySelector('#export-jobs progress');
             if (s) window.statuses.push([s.textContent, p ? p.value : null]);
           }).observe(document.querySelector('#export-jobs'), {subtree: true, childList: true, characterData: true, attributes: true}); }"""
    )
    page.select_option("#export-format", "text/csv")
    page.click("#start-export")
    page.locator("#export-jobs a.export-download").wait_for(state="visible", timeout=60_000)
    statuses = page.evaluate("() => window.statuses")
    running = [(text, value) for text, value in statuses if text.startswith("Running")]
    assert running, statuses
    # Rows written of the rows to write, with the bar between empty and full (or, before the job has counted, so far).
    for text, value in running:
        counted_of = re.fullmatch(r"Running: [\d,]+ of 400,000 rows", text)
        assert counted_of or re.fullmatch(r"Running: [\d,]+ rows? so far", text), text
        assert value is not None and 0 <= value < 1
    assert statuses[-1][0] == "Done: 400,000 rows"


def test_row_schema_and_export_parts_fit_a_phone(site, browser):
    base, page, db = site
    cookies = page.context.cookies()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.add_cookies(cookies)
    small = phone.new_page()
    small.set_default_timeout(20_000)
    pages = {
        f"/dbs/{db}/rows/artists?rowid=1": "Pastel Blues",
        f"/dbs/{db}/schema/a%2Fb%20albums": "albums_by_artist",
        f"/dbs/{db}": "Start export",
    }
    for path, shown in pages.items():
        small.goto(base + path)
        assert shown in small.inner_text("main"), path
        width, inner = small.evaluate("() => [document.scrollingElement.scrollWidth, innerWidth]")
        assert width <= inner, (path, width, inner)
    screenshot(small, "rows-phone-database-page")
    phone.close()


def test_the_row_link_of_a_without_rowid_row_follows_an_edit_of_its_key(site):
    base, page, _db = site
    db = create_database_in_page(
        page,
        "genres",
        "CREATE TABLE genres(code TEXT PRIMARY KEY, name TEXT) WITHOUT ROWID; INSERT INTO genres VALUES ('jz', 'Jazz')",
    )
    page.goto(f"{base}/dbs/{db}/tables/genres")
    key_cell = page.locator("#sheet tbody tr").nth(0).locator("td").nth(0)
    key_cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("jazz")
    page.keyboard.press("Enter")
    page.wait_for_selector("#flash:not([hidden])")
    page.click("#sheet tbody tr a.row-link")
    page.wait_for_url(re.compile(r"/rows/genres\?key="))
    assert "Jazz" in page.inner_text("main")  # the row under its new key, not a 404
