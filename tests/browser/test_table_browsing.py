"""Browsing a table page in a real browser: totals and pages, filters with operators, facets, the view in the
address (bookmarks, Back), and downloads of the whole filtered view. One server and one logged-in page for the
module; each test starts from its own address."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

ROWS = 1234
COUNTRIES = ["Japan", "Peru", "Chile", "Ghana", "Nepal"]
# id 1..1234; country cycles through COUNTRIES; population 1000 + id; notes NULL on every 10th row, long on every 7th.
SCHEMA = f"""
CREATE TABLE cities(id INTEGER PRIMARY KEY, name TEXT, country TEXT, population INTEGER, notes TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})
INSERT INTO cities SELECT i, 'Town ' || i,
  CASE i % 5 WHEN 0 THEN 'Japan' WHEN 1 THEN 'Peru' WHEN 2 THEN 'Chile' WHEN 3 THEN 'Ghana' ELSE 'Nepal' END,
  1000 + i, CASE WHEN i % 10 = 0 THEN NULL WHEN i % 7 = 0 THEN 'long ' || hex(randomblob(60)) ELSE 'n' || i END
FROM n;
CREATE TABLE single(x TEXT); INSERT INTO single VALUES ('only');
"""


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with running_server(tmp_path_factory.mktemp("browsing") / "data") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        violations = watch_csp(page)
        sign_up_in_page(page, base, "brenda")
        db = create_database_in_page(page, "browse", SCHEMA)
        yield {"base": base, "db": db, "page": page, "url": f"{base}/dbs/{db}/tables/cities", "csp": violations}
        context.close()


def open_view(site: dict[str, Any], query: str = "", table: str = "cities") -> Any:
    page = site["page"]
    page.goto(f"{site['base']}/dbs/{site['db']}/tables/{table}{query}")
    wait_shown(page)
    return page


def wait_shown(page: Any) -> None:
    page.wait_for_function("() => document.querySelector('#page-label').textContent !== ''")
    page.wait_for_function("() => document.querySelector('#row-count').textContent !== ''")


def label(page: Any) -> str:
    return str(page.text_content("#page-label"))


def column(page: Any, index: int) -> list[str]:
    return list(page.eval_on_selector_all("#sheet tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent)"))


def stored_count(page: Any, db: str, where: str = "") -> int:
    result = page.evaluate(
        """async ([db, where]) => {
            const r = await fetch(`/dbs/${db}/sql`, {method: "POST", headers: {"Content-Type": "application/json"},
                                  body: JSON.stringify({query: "SELECT count(*) AS n FROM cities " + where})});
            return (await r.json()).rows[0].n;
        }""",
        [db, where],
    )
    return int(result)


def test_totals_pages_and_page_size_with_back(site):
    page = open_view(site)
    assert page.text_content("#row-count") == "1,234 rows"
    assert label(page) == "rows 1–50 · page 1 of 25"
    # Only the values that do not fit their cell are marked long: the notes of rows 7, 14, ... 49.
    assert page.eval_on_selector_all("#sheet td.long", "tds => tds.map(td => td.parentNode.cells[0].textContent)") == [
        str(i) for i in range(7, 50, 7)
    ]
    assert page.is_disabled("#first") and page.is_disabled("#prev")
    assert not page.is_disabled("#next") and not page.is_disabled("#last")
    # A disabled control looks disabled: faded and with a not-allowed cursor.
    look = page.eval_on_selector("#prev", "b => [getComputedStyle(b).opacity, getComputedStyle(b).cursor]")
    assert float(look[0]) < 0.6 and look[1] == "not-allowed"

    page.click("#last")
    page.wait_for_function("() => document.querySelector('#page-label').textContent.includes('page 25 of 25')")
    assert label(page) == "rows 1,201–1,234 · page 25 of 25"
    assert column(page, 0)[0] == "1201" and len(column(page, 0)) == 34
    assert page.is_disabled("#next") and page.is_disabled("#last") and not page.is_disabled("#first")
    assert page.url.endswith("?page=25")

    page.select_option("#page-size", "500")
    page.wait_for_function("() => document.querySelector('#page-label').textContent.includes('of 3')")
    assert label(page) == "rows 1,001–1,234 · page 3 of 3"  # the first row shown stays on the page shown
    assert "size=500" in page.url and "page=3" in page.url
    page.click("#prev")
    page.wait_for_function("() => document.querySelector('#page-label').textContent.startsWith('rows 501–1,000')")
    screenshot(page, "browsing-01-pages")

    page.go_back()
    page.wait_for_function("() => document.querySelector('#page-label').textContent.includes('page 3 of 3')")
    assert page.input_value("#page-size") == "500"
    page.go_back()
    page.wait_for_function("() => document.querySelector('#page-label').textContent.includes('page 25 of 25')")
    assert page.input_value("#page-size") == "50"


def test_one_row_and_no_rows_read_as_words(site):
    page = open_view(site, table="single")
    assert label(page) == "row 1 · page 1 of 1"
    assert page.text_content("#row-count") == "1 row"
    page = open_view(site, "?eq:id=7")
    assert label(page) == "row 1 · page 1 of 1" and page.text_content("#row-count") == "1 matching row"
    page = open_view(site, "?eq:id=999999")
    assert label(page) == "No rows match" and page.text_content("#row-count") == "0 matching rows"
    assert page.is_disabled("#next") and page.is_disabled("#last")


def test_filters_with_operators_on_several_columns(site):
    page = open_view(site)
    page.select_option("#filter-column", "country")
    page.select_option("#filter-rows .filter-row .filter-op", "eq")
    page.fill("#filter-text", "Japan")
    page.wait_for_function("() => document.querySelector('#row-count').textContent === '246 matching rows'")
    assert label(page) == "rows 1–50 · page 1 of 5"
    assert set(column(page, 2)) == {"Japan"}

    # A second filter, on another column: population ≥ 2,000 (compared as a number).
    page.click("#add-filter")
    second = page.locator("#filter-rows .filter-row").nth(1)
    second.locator(".filter-column").select_option("population")
    second.locator(".filter-op").select_option("ge")
    second.locator(".filter-value").fill("2000")
    second.locator(".filter-value").press("Enter")
    expected = stored_count(page, site["db"], "WHERE country = 'Japan' AND population >= 2000")
    page.wait_for_function(f"() => document.querySelector('#row-count').textContent === '{expected} matching rows'")
    assert all(int(p) >= 2000 for p in column(page, 3))
    assert "eq%3Acountry=Japan" in page.url and "ge%3Apopulation=2000" in page.url
    screenshot(page, "browsing-02-filters")

    # The address holds the view: opening it again shows the same filters and rows.
    shared = page.url
    page = open_view(site)
    page.goto(shared)
    wait_shown(page)
    assert page.text_content("#row-count") == f"{expected} matching rows"
    assert page.locator("#filter-rows .filter-row").count() == 2
    assert page.locator("#filter-rows .filter-row").nth(1).locator(".filter-op").input_value() == "ge"

    # Removing the first filter leaves the second.
    page.locator("#filter-rows .filter-row").nth(0).locator(".filter-remove").click()
    expected = stored_count(page, site["db"], "WHERE population >= 2000")
    page.wait_for_function(f"() => document.querySelector('#row-count').textContent === '{expected} matching rows'")
    assert "country" not in page.url
    assert page.locator("#filter-rows .filter-row").count() == 1
    assert page.input_value("#filter-column") == "population" and page.input_value("#filter-text") == "2000"


def test_null_contains_starts_and_not_equal(site):
    cases = {
        "?null:notes=": "WHERE notes IS NULL",
        "?notnull:notes=": "WHERE notes IS NOT NULL",
        "?contains:name=n%2012": "WHERE name LIKE '%n 12%'",
        "?starts:notes=long": "WHERE notes LIKE 'long%'",
        "?ne:country=Peru": "WHERE country IS NOT 'Peru'",
        "?lt:population=1010": "WHERE population < 1010",
        "?le:population=1010": "WHERE population <= 1010",
        "?gt:population=2200": "WHERE population > 2200",
    }
    page = site["page"]
    for query, where in cases.items():
        page = open_view(site, query)
        n = stored_count(page, site["db"], where)
        assert page.text_content("#row-count") == f"{n:,} matching row{'' if n == 1 else 's'}", query
    # `contains` takes % and _ literally: no row's name holds "%".
    page = open_view(site, "?contains:name=%25")
    assert page.text_content("#row-count") == "0 matching rows"


def test_filter_values_are_bound_never_spliced(site):
    page = open_view(site)
    page.select_option("#filter-rows .filter-row .filter-op", "eq")
    page.fill("#filter-text", "x'; DROP TABLE cities; --")
    page.wait_for_function("() => document.querySelector('#row-count').textContent === '0 matching rows'")
    assert page.text_content("#sheet-error") == ""
    assert stored_count(page, site["db"]) == ROWS
    # An unknown column in the address is left out, and said so.
    page = open_view(site, '?eq:nope=1&sort=" OR 1=1')
    assert "no column" in str(page.text_content("#sheet-error"))
    assert page.text_content("#row-count") == "1,234 rows"
    # Keys that are no operator, and sizes and pages that are none, are ignored: the plain first page.
    page = open_view(site, "?toString:id=1&constructor:id=2&size=7&page=-3")
    assert page.text_content("#row-count") == "1,234 rows" and label(page) == "rows 1–50 · page 1 of 25"
    assert page.text_content("#sheet-error") == ""


def test_facets_count_values_and_a_click_filters(site):
    page = open_view(site)
    page.wait_for_selector(".facet[data-column=country] .facet-value")
    facet = page.locator(".facet[data-column=country]")
    counts = dict(
        zip(facet.locator(".facet-value").all_text_contents(), facet.locator(".facet-count").all_text_contents())
    )
    assert counts == {"Chile": "247", "Ghana": "247", "Nepal": "247", "Peru": "247", "Japan": "246"}
    assert page.locator(".facet[data-column=id]").count() == 0  # every id differs: no facet
    screenshot(page, "browsing-03-facets")

    facet.get_by_text("Ghana", exact=True).click()
    page.wait_for_function("() => document.querySelector('#row-count').textContent === '247 matching rows'")
    assert set(column(page, 2)) == {"Ghana"} and "eq%3Acountry=Ghana" in page.url
    assert page.locator("#filter-rows .filter-row .filter-value").first.input_value() == "Ghana"
    # The facet shows the value it filters on as pressed; a second click takes the filter off.
    page.wait_for_selector(".facet[data-column=country] .facet-value[aria-pressed=true]")
    assert facet.locator(".facet-value[aria-pressed=true]").all_text_contents() == ["Ghana"]
    facet.get_by_text("Ghana", exact=True).click()
    page.wait_for_function("() => document.querySelector('#row-count').textContent === '1,234 rows'")
    assert "Ghana" not in page.url and page.locator("#filter-rows .filter-row .filter-value").first.input_value() == ""

    # A chosen facet: the name column, with its own ✕.
    page.select_option("#facet-by", "population")
    page.wait_for_selector(".facet[data-column=population] .facet-value")
    assert "facet=population" in page.url
    page.locator(".facet[data-column=population] .facet-hide").click()
    page.wait_for_function("() => !document.querySelector('.facet[data-column=population]')")


def test_sort_is_in_the_address_and_back_undoes_it(site):
    page = open_view(site)
    page.click("#sheet th:nth-child(4) button.sort")
    page.wait_for_function("() => document.querySelector('#sheet th:nth-child(4)').textContent.includes('▲')")
    page.click("#sheet th:nth-child(4) button.sort")
    page.wait_for_function("() => document.querySelector('#sheet th:nth-child(4)').textContent.includes('▼')")
    assert re.search(r"sort=population&desc=1", page.url)
    assert column(page, 3)[:2] == [str(1000 + ROWS), str(999 + ROWS)]
    page.go_back()
    page.wait_for_function("() => document.querySelector('#sheet th:nth-child(4)').textContent.includes('▲')")
    assert column(page, 3)[0] == "1001"


def downloaded(page: Any, button: str, tmp: Path) -> str:
    with page.expect_download() as info:
        page.click(button)
    path = tmp / info.value.suggested_filename
    info.value.save_as(path)
    return path.read_text()


def test_the_filtered_view_downloads_as_csv_and_json(site, tmp_path):
    page = open_view(site, "?ne:country=Peru&sort=population&desc=1")
    text = downloaded(page, "#download-csv", tmp_path)
    rows = list(csv.reader(io.StringIO(text)))
    expected = stored_count(page, site["db"], "WHERE country IS NOT 'Peru'")
    assert rows[0] == ["id", "name", "country", "population", "notes"]
    assert len(rows) - 1 == expected  # every page of the view, not only the one shown
    assert rows[1][0] == str(ROWS) and "Peru" not in {r[2] for r in rows[1:]}
    assert (
        rows[4][:2] == ["1230", "Town 1230"] and rows[4][4] == ""
    )  # NULL is an empty field, as the table export writes it
    page.wait_for_function("() => document.querySelector('#download-status').textContent.startsWith('Downloaded')")
    assert page.text_content("#download-status") == f"Downloaded {expected:,} rows as CSV"

    records = json.loads(downloaded(page, "#download-json", tmp_path))
    assert len(records) == expected and records[0]["population"] == 1000 + ROWS
    assert records[0].keys() == {"id", "name", "country", "population", "notes"}
    assert site["csp"] == []


def test_a_read_only_link_browses_filters_facets_and_downloads(site, tmp_path):
    page = site["page"]
    readonly_id = page.evaluate(
        """async (db) => {
            const r = await fetch(`/api/dbs/${db}/readonly-id`, {method: "POST"});
            return (await r.json()).readonlyId;
        }""",
        site["db"],
    )
    anonymous = page.context.browser.new_context(accept_downloads=True).new_page()
    try:
        anonymous.goto(
            f"{site['base']}/readonly/{readonly_id}/tables/cities?eq:country=Peru&sort=id&desc=1&facet=country"
        )
        wait_shown(anonymous)
        assert anonymous.text_content("#row-count") == "247 matching rows"
        assert column(anonymous, 0)[0] == "1231" and anonymous.locator("#sheet td.editable").count() == 0
        anonymous.wait_for_selector(".facet[data-column=country] .facet-value")
        facet = anonymous.locator(".facet[data-column=country]")
        assert facet.locator(".facet-value").all_text_contents() == ["Peru"]
        assert facet.locator(".facet-count").all_text_contents() == ["247"]
        rows = list(csv.reader(io.StringIO(downloaded(anonymous, "#download-csv", tmp_path))))
        assert len(rows) == 248 and {r[2] for r in rows[1:]} == {"Peru"}
    finally:
        anonymous.context.close()


@pytest.mark.slow
def test_a_download_reads_past_the_servers_rows_per_query(browser, tmp_path):
    """With a server that answers at most 100 rows per query, the download still has every row of the view:
    it reads on from where each cut answer stopped."""
    with running_server(tmp_path / "data", {"AIRSEQUEL_MAX_ROWS": "100"}) as base:
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_up_in_page(page, base, "carla")
        db = create_database_in_page(page, "cut", SCHEMA)
        page.goto(f"{base}/dbs/{db}/tables/cities?ge:population=1100&sort=id")
        wait_shown(page)
        assert page.text_content("#row-count") == "1,135 matching rows"
        rows = list(csv.reader(io.StringIO(downloaded(page, "#download-csv", tmp_path))))
        assert [int(r[0]) for r in rows[1:]] == list(range(100, ROWS + 1))  # in order, none twice, none missed
        assert page.text_content("#download-status") == "Downloaded 1,135 rows as CSV"
        context.close()
