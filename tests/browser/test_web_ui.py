"""The web UI in a real browser, against a real server: the whole journey of a new user."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot, watch_csp
from tests.server_process import running_server

CSV = "city,country,population\nLagos,Nigeria,15388000\nTokyo,Japan,37400068\nLima,Peru,10719000\n" + "".join(
    f"Town {i},Land,{1000 + i}\n" for i in range(3000)
)


@pytest.mark.slow
def test_sign_up_upload_browse_edit_query_tokens_and_charts(browser, tmp_path):
    csv_path = tmp_path / "cities.csv"
    csv_path.write_text(CSV)
    with running_server(tmp_path / "data") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        csp_violations = watch_csp(page)  # every page works under its Content-Security-Policy

        # Sign up (which logs in) and land on the home page.
        page.goto(f"{base}/signup")
        page.fill("input[name=username]", "hana")
        page.fill("input[name=email_address]", "hana@example.org")
        page.fill("input[name=password]", "a good long password")
        screenshot(page, "01-signup")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        assert "Your databases (0)" in page.inner_text("main")

        # Upload a CSV and watch the progress bar reach 100%.
        page.set_input_files("#upload-form input[type=file]", str(csv_path))
        page.click("#upload-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/dbs/[0-9a-z]+$"))
        db_url = page.url
        screenshot(page, "02-database")
        assert "cities" in page.inner_text("main") and "3,003 rows" in page.inner_text("main")

        # The server's refusal is shown when it refuses a file.
        page.goto(f"{base}/")
        bad = tmp_path / "broken.sqlite"
        bad.write_bytes(b"not a database" * 100)
        page.set_input_files("#upload-form input[type=file]", str(bad))
        page.click("#upload-form button[type=submit]")
        page.wait_for_function(
            "() => document.querySelector('#upload-form .error').textContent.includes('not a SQLite database')"
        )
        progress = page.eval_on_selector("#upload-progress", "el => el.value")
        assert progress == 100  # the bytes all went up before the server refused them
        screenshot(page, "03-upload-refused")

        # Browse the table, filter it, and edit a cell.
        page.goto(db_url + "/tables/cities")
        page.wait_for_selector("#sheet tbody tr")
        page.fill("#filter-text", "Tok")
        page.wait_for_function("() => document.querySelectorAll('#sheet tbody tr').length === 1")
        cell = page.locator("#sheet tbody tr td").nth(0)
        cell.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("Edo")
        page.keyboard.press("Enter")
        page.wait_for_selector("#flash:not([hidden])")
        screenshot(page, "04-table")

        # Run SQL and see rows, runtime and affected tables.
        page.goto(db_url + "/sql")
        page.click(".cm-content")  # the SQL editor (CodeMirror): select all, type over it
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(
            "UPDATE cities SET population = population + 1 WHERE city = 'Edo'; SELECT city, population FROM cities WHERE country = 'Japan'",
        )
        page.click("#sql-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('#sql-status').textContent.includes(' in ')")
        assert "Edo" in page.inner_text("#sql-result") and "37400069" in page.inner_text("#sql-result")
        assert "changed: cities" in page.inner_text("#sql-status")
        page.click(".cm-content")
        page.keyboard.press("Control+A")
        page.keyboard.insert_text("SELECT * FROM nowhere")
        page.click("#sql-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('#sql-error').textContent.includes('no such table')")
        screenshot(page, "05-sql")

        # GraphiQL runs a query.
        page.goto(db_url + "/graphql")
        page.wait_for_selector(".graphiql-execute-button")
        page.wait_for_function("() => document.querySelector('.graphiql-query-editor').innerText.includes('cities')")
        page.click(".graphiql-execute-button")
        page.wait_for_function("() => document.querySelector('.graphiql-response').innerText.includes('Lagos')")
        screenshot(page, "06-graphiql")

        # A chart.
        page.goto(db_url)
        page.fill("#chart-form input[name=title]", "Biggest cities")
        page.select_option("#chart-form select[name=label]", "city")  # the table's columns to choose from
        page.select_option("#chart-form select[name=value]", "population")
        page.click("#chart-form button[type=submit]")
        page.wait_for_selector(".charts img")
        assert page.eval_on_selector(".charts img", "img => img.complete && img.naturalWidth > 0")
        screenshot(page, "07-chart")

        # Create a token with read access, see its secret once, use it, revoke it.
        page.goto(f"{base}/teams/hana")
        page.fill("#token-form input[name=name]", "report")
        page.check("#token-form input[value=read]")
        page.click("#token-form button[type=submit]")
        page.wait_for_selector("#token-secret:not([hidden])")
        secret = page.input_value("#token-body")
        assert secret.startswith("ast_")
        screenshot(page, "08-token")
        db_id = db_url.rsplit("/", 1)[1]
        used = page.request.post(
            f"{base}/dbs/{db_id}/sql",
            data={"query": "SELECT count(*) AS n FROM cities"},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert used.json()["rows"] == [{"n": 3003}]
        page.click("#tokens [data-revoke]")
        page.click(".ask-in-place button:text-is('Revoke')")  # revoking asks first
        page.wait_for_function("() => !document.querySelector('#tokens [data-revoke]')")
        refused = page.request.post(
            f"{base}/dbs/{db_id}/sql", data={"query": "SELECT 1"}, headers={"Authorization": f"Bearer {secret}"}
        )
        assert refused.status == 401

        # Phone width: the home page still reads well.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/")
        screenshot(page, "09-home-phone")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.click("#logout")
        page.wait_for_url(f"{base}/login")
        assert csp_violations == []
        context.close()
