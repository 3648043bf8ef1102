"""Issue 21's charts in a real browser: the chart form offers the chosen table's columns (only numeric ones
for sum and average), an aggregated chart is drawn by the server, a click shows it large in a dialog that
Escape closes, and the dashboards pages show a grid of a database's and of all the user's charts."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import create_database_in_page, screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

SCRIPT = (
    "CREATE TABLE sales(region TEXT, amount REAL, note TEXT);"
    "INSERT INTO sales VALUES ('North', 10, 'a'), ('South', 5, 'b'), ('North', 30, 'c'), ('East', 1, 'd');"
    "CREATE TABLE visits(day TEXT, n INTEGER);"
    "INSERT INTO visits VALUES ('mon', 3), ('tue', 4)"
)


def options(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(f"{selector} option", "os => os.map(o => o.value)")


@pytest.mark.slow
def test_an_aggregated_chart_is_chosen_from_columns_shown_large_and_on_dashboards(browser, tmp_path):
    with running_server(tmp_path / "data") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        violations = watch_csp(page)
        sign_up_in_page(page, base, "cleo")
        db_id = create_database_in_page(page, "shop", SCRIPT)
        other_id = create_database_in_page(page, "site", "CREATE TABLE hits(page TEXT, n INTEGER)")
        page.goto(f"{base}/dbs/{db_id}")

        # The selects follow the chosen table, and sum/avg offer numeric columns only.
        assert options(page, "#chart-form select[name=label]") == ["region", "amount", "note"]
        page.select_option("#chart-form select[name=aggregate]", "sum")
        assert options(page, "#chart-form select[name=value]") == ["amount"]
        page.select_option("#chart-form select[name=aggregate]", "count")
        assert options(page, "#chart-form select[name=value]") == ["", "region", "amount", "note"]  # "" counts rows
        page.select_option("#chart-form select[name=table]", "visits")
        assert options(page, "#chart-form select[name=label]") == ["day", "n"]
        page.select_option("#chart-form select[name=table]", "sales")

        # Sum of amount per region.
        page.fill("#chart-form input[name=title]", "Sales by region")
        page.select_option("#chart-form select[name=label]", "region")
        page.select_option("#chart-form select[name=aggregate]", "sum")
        page.select_option("#chart-form select[name=value]", "amount")
        page.check("#chart-form input[name=hideNullValues]")
        page.click("#chart-form button[type=submit]")
        page.wait_for_selector(".charts figure img")
        assert page.eval_on_selector(".charts img", "img => img.complete && img.naturalWidth > 0")
        [chart] = page.request.get(f"{base}/api/dbs/{db_id}/charts").json()["charts"]
        assert (chart["aggregate"], chart["headers"], chart["hideNullValues"]) == ("sum", ["region", "amount"], True)
        svg = page.request.get(f"{base}/api/dbs/{db_id}/charts/{chart['ulid']}/svg").text()
        assert re.findall(r"<title>([^<:]+): ([^<]+)</title></rect>", svg) == [
            ("East", "1"),
            ("North", "40"),
            ("South", "5"),
        ]
        assert "sum of amount per region" in page.inner_text(".charts figcaption")

        # A click shows it large; Escape closes the dialog and the focus goes back.
        page.click(".charts figure button.chart-open")
        page.wait_for_selector("#chart-dialog[open]")
        assert page.inner_text("#chart-dialog-title") == "Sales by region"
        width = page.eval_on_selector("#chart-dialog-image", "img => img.getBoundingClientRect().width")
        assert width > 900  # larger than in the grid
        screenshot(page, "charts-01-large")
        page.keyboard.press("Escape")
        page.wait_for_selector("#chart-dialog:not([open])", state="attached")
        assert page.evaluate("document.activeElement.classList.contains('chart-open')")

        # A chart of the other database, so the all-charts dashboard has two.
        made = page.request.post(
            f"{base}/api/dbs/{other_id}/charts",
            data={"table": "hits", "headers": ["page"], "aggregate": "count", "title": "Hits"},
            headers={"Origin": base},
        )
        assert made.status == 201, made.text()

        # The database's dashboard, then all of the user's.
        page.click("a.chart-board-link")
        page.wait_for_url(f"{base}/dashboards/{db_id}")
        assert page.locator(".dashboard-grid figure").count() == 1
        page.goto(f"{base}/")
        page.click("a[href='/dashboards']")
        page.wait_for_url(f"{base}/dashboards")
        assert page.locator(".dashboard-grid figure").count() == 2
        assert "2 charts" in page.inner_text("main")
        captions = page.locator(".dashboard-grid figcaption a").all_inner_texts()
        assert sorted(captions) == ["shop", "site"]
        page.wait_for_function(
            "() => [...document.querySelectorAll('.dashboard-grid img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        screenshot(page, "charts-02-dashboards")
        page.locator(".dashboard-grid figure button.chart-open").nth(1).click()
        page.wait_for_selector("#chart-dialog[open]")
        page.click("#chart-dialog-close")
        page.wait_for_selector("#chart-dialog:not([open])", state="attached")

        # Deleting a chart asks first.
        page.goto(f"{base}/dbs/{db_id}")
        page.click("[data-delete-chart]")
        page.click(".ask-in-place button:text-is('Keep it')")
        assert len(page.request.get(f"{base}/api/dbs/{db_id}/charts").json()["charts"]) == 1
        page.click("[data-delete-chart]")
        page.click(".ask-in-place button.danger")
        page.wait_for_selector(".charts figure", state="detached")
        assert page.request.get(f"{base}/api/dbs/{db_id}/charts").json()["charts"] == []

        # Someone who is not logged in is sent to log in, and back.
        visitor = browser.new_context()
        anonymous = visitor.new_page()
        anonymous.goto(f"{base}/dashboards")
        assert anonymous.url == f"{base}/login?next=/dashboards"
        visitor.close()
        assert violations == []
        context.close()
