"""Issue 21, "Managing things", in a real browser driven by clicks and keys: teams (created from the
home page, the personal team preselected, team pages linking to each other), databases and tables
renamed and deleted after a question asked in the page, the read-only link replaced only after asking,
the token form (expiry, insert, no token without a permission, no stale "No tokens." row, revoke after
asking) and members (removal asked first, the last Admin never offered removal or another role)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.conftest import screenshot, sign_up_in_page, watch_csp
from tests.server_process import running_server

SCRIPT = (
    "CREATE TABLE sales(region TEXT, amount REAL, note TEXT);"
    "INSERT INTO sales VALUES ('North', 10, 'a'), ('South', 5, 'b'), ('North', 30, 'c');"
    "CREATE TABLE scratch(x)"
)


def api(page: Any, base: str, method: str, path: str, body: object = None) -> Any:
    """A JSON API call as the logged-in page (its cookie, this site's Origin); (status, body)."""
    response = page.request.fetch(f"{base}{path}", method=method, data=body, headers={"Origin": base})
    return response.status, response.json()


def options_of(page: Any, selector: str) -> list[str]:
    return page.eval_on_selector_all(f"{selector} option", "os => os.map(o => o.value)")


def ask_box(page: Any) -> Any:
    box = page.locator(".ask-in-place")
    box.wait_for()
    return box


@pytest.mark.slow
def test_teams_databases_tables_tokens_and_members_are_managed_in_the_page(browser, tmp_path):
    with running_server(tmp_path / "data") as base:
        # nils has a team whose name sorts before mara's own, and makes mara an Editor there.
        other = browser.new_context(viewport={"width": 1280, "height": 900})
        nils = other.new_page()
        nils.set_default_timeout(15_000)
        sign_up_in_page(nils, base, "nils")
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        violations = watch_csp(page)
        sign_up_in_page(page, base, "mara")
        assert api(nils, base, "POST", "/api/teams", {"name": "aardvarks"})[0] == 201
        assert api(nils, base, "PATCH", "/api/teams/aardvarks/members/mara", {"roles": ["Editor"]})[0] == 200

        # Create and Upload preselect mara's own team, and offer the one she may create in too.
        page.reload()
        for form in ("#create-form", "#upload-form"):
            assert page.eval_on_selector(f"{form} select[name=team]", "s => s.value") == "mara"
            options = page.eval_on_selector_all(f"{form} select[name=team] option", "os => os.map(o => o.value)")
            assert options == ["mara", "aardvarks"]

        # A new team from the home page; the team pages link to each other.
        page.fill("#team-form input[name=name]", "blue crew")
        page.press("#team-form input[name=name]", "Enter")
        page.wait_for_url(f"{base}/teams/blue%20crew")
        assert page.inner_text("h1") == "Team blue crew"
        assert page.inner_text("#teams-card strong[aria-current=page]") == "blue crew"
        page.click("#teams-card a:text-is('aardvarks')")
        page.wait_for_url(f"{base}/teams/aardvarks")
        page.click("#teams-card a:text-is('mara')")
        page.wait_for_url(f"{base}/teams/mara")

        # A database made on the home page.
        page.goto(f"{base}/")
        page.fill("#create-form input[name=name]", "sales")
        page.fill("#create-form textarea[name=query]", SCRIPT)
        page.click("#create-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/dbs/[0-9a-z]+$"))
        db_id = page.url.rsplit("/", 1)[1]
        assert api(page, base, "GET", f"/api/dbs/{db_id}")[1]["owner"] == "mara"

        # Rename a table in place (Escape cancels, Enter renames).
        page.click("li[data-table=scratch] [data-rename-table]")
        page.press("li[data-table=scratch] .rename-form input", "Escape")
        assert page.locator(".rename-form").count() == 0
        page.click("li[data-table=scratch] [data-rename-table]")
        page.fill("li[data-table=scratch] .rename-form input", "scratch pad")
        page.press("li[data-table=scratch] .rename-form input", "Enter")
        page.wait_for_selector("li[data-table='scratch pad']")
        # Deleting it asks first: Escape keeps it, the danger button deletes it.
        page.click("li[data-table='scratch pad'] [data-delete-table]")
        box = ask_box(page)
        assert "Delete the table scratch pad and all its rows? This cannot be undone." in box.inner_text()
        screenshot(page, "managing-01-delete-table")
        page.keyboard.press("Escape")
        assert page.locator(".ask-in-place").count() == 0
        assert [t["name"] for t in api(page, base, "GET", f"/api/dbs/{db_id}")[1]["tables"]] == ["sales", "scratch pad"]
        page.click("li[data-table='scratch pad'] [data-delete-table]")
        ask_box(page).locator("button.danger").click()
        page.wait_for_selector("li[data-table='scratch pad']", state="detached")
        assert [t["name"] for t in api(page, base, "GET", f"/api/dbs/{db_id}")[1]["tables"]] == ["sales"]

        # Rename the database.
        page.fill("#rename-db-form input[name=name]", "sales 2026")
        page.click("#rename-db-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('h1').textContent === 'sales 2026'")

        # The read-only link: turning it on asks nothing (no old link); a new one asks, with the words
        # of the confirmation page, and Keep keeps the old one working.
        page.click("#regenerate-readonly")
        page.wait_for_selector("#readonly-link")
        first_id = api(page, base, "GET", f"/api/dbs/{db_id}")[1]["readonlyId"]
        assert first_id
        page.click("#regenerate-readonly")
        box = ask_box(page)
        assert (
            "sales 2026 gets a new read-only link: the old one stops working for everyone who has it."
            in box.inner_text()
        )
        box.locator("button:text-is('Keep the link')").click()
        assert api(page, base, "GET", f"/api/dbs/{db_id}")[1]["readonlyId"] == first_id
        page.click("#regenerate-readonly")
        ask_box(page).locator("button:text-is('Make a new link')").click()
        page.wait_for_load_state("load")
        page.wait_for_function(f"() => !document.querySelector('#readonly-link').value.includes('{first_id}')")
        assert api(page, base, "GET", f"/api/dbs/{db_id}")[1]["readonlyId"] not in (None, first_id)

        # Tokens: none without a permission (refused in the page, nothing sent), then one that
        # inserts, expiring in 30 days; the "No tokens." row goes; revoking asks first.
        page.goto(f"{base}/teams/mara")
        assert page.inner_text("#tokens tbody") == "No tokens."
        page.fill("#token-form input[name=name]", "form")
        page.click("#token-form button[type=submit]")
        page.wait_for_function(
            "() => document.querySelector('#token-form .error').textContent.includes('at least one database')"
        )
        assert api(page, base, "GET", "/api/teams/mara/tokens")[1]["tokens"] == []
        page.check(f"#token-form input[name=perm-{db_id}][value=insert]")
        page.select_option("#token-form select[name=expires]", "30")
        page.click("#token-form button[type=submit]")
        page.wait_for_selector("#token-secret:not([hidden])")
        assert page.locator("#tokens tr.no-tokens").count() == 0
        assert page.locator("#tokens tbody tr").count() == 1
        [token] = api(page, base, "GET", "/api/teams/mara/tokens")[1]["tokens"]
        assert [(p["db_id"], p["name"]) for p in token["permissions"]] == [(db_id, "insert")]
        expires = datetime.fromisoformat(token["expiration_utc"].replace("Z", "+00:00"))
        assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
        # A second token, until a date.
        page.fill("#token-form input[name=name]", "reader")
        page.check(f"#token-form input[name=perm-{db_id}][value=read]")
        page.select_option("#token-form select[name=expires]", "date")
        page.fill("#token-form input[name=date]", "2031-05-17")
        page.click("#token-form button[type=submit]")
        page.wait_for_function("() => document.querySelectorAll('#tokens tbody tr').length === 2")
        tokens = api(page, base, "GET", "/api/teams/mara/tokens")[1]["tokens"]
        assert tokens[1]["expiration_utc"].startswith("2031-05-17T23:59:59")  # the end of that day, UTC
        screenshot(page, "managing-02-tokens")
        page.click("#tokens [aria-label='Revoke form']")
        ask_box(page).locator("button:text-is('Keep')").click()
        assert len(api(page, base, "GET", "/api/teams/mara/tokens")[1]["tokens"]) == 2
        page.click("#tokens [aria-label='Revoke form']")
        ask_box(page).locator("button:text-is('Revoke')").click()
        page.wait_for_function("() => document.querySelectorAll('#tokens tbody tr').length === 1")
        assert [t["name"] for t in api(page, base, "GET", "/api/teams/mara/tokens")[1]["tokens"]] == ["reader"]

        # Members: the last Admin is offered no removal, and the form will not demote her.
        assert page.locator("tr[data-member=mara] [data-remove-member]").count() == 0
        assert "the last Admin" in page.inner_text("tr[data-member=mara]")
        page.fill("#member-form input[name=username]", "nils")
        page.select_option("#member-form select[name=role]", "Viewer")
        page.click("#member-form button[type=submit]")
        page.wait_for_selector("tr[data-member=nils]")
        page.fill("#member-form input[name=username]", "mara")
        page.select_option("#member-form select[name=role]", "Viewer")
        page.click("#member-form button[type=submit]")
        page.wait_for_function(
            "() => document.querySelector('#member-form .error').textContent.includes(\"the team's last Admin\")"
        )
        assert api(page, base, "GET", "/api/teams/mara/members")[1]["members"] == [
            {"roles": ["Admin"], "username": "mara"},
            {"roles": ["Viewer"], "username": "nils"},
        ]
        page.click("tr[data-member=nils] [data-remove-member]")
        box = ask_box(page)
        assert "Remove nils from mara?" in box.inner_text()
        box.locator("button.danger").click()
        page.wait_for_selector("tr[data-member=nils]", state="detached")
        assert [m["username"] for m in api(page, base, "GET", "/api/teams/mara/members")[1]["members"]] == ["mara"]

        # A member who is not an Admin leaves a team, after asking; then she no longer sees it.
        page.goto(f"{base}/teams/aardvarks")
        assert page.locator("tr[data-member=nils] [data-remove-member]").count() == 0  # nils: the last Admin
        page.click("tr[data-member=mara] [data-leave]")
        ask_box(page).locator("button:text-is('Stay')").click()
        assert "mara" in [m["username"] for m in api(nils, base, "GET", "/api/teams/aardvarks/members")[1]["members"]]
        page.click("tr[data-member=mara] [data-leave]")
        ask_box(page).locator("button.danger").click()
        page.wait_for_url(f"{base}/")
        assert [m["username"] for m in api(nils, base, "GET", "/api/teams/aardvarks/members")[1]["members"]] == ["nils"]
        assert options_of(page, "#create-form select[name=team]") == ["mara", "blue crew"]

        # Deleting the database asks first, then goes home.
        page.goto(f"{base}/dbs/{db_id}")
        page.click("#delete-db")
        box = ask_box(page)
        assert "Delete sales 2026?" in box.inner_text() and "cannot be undone" in box.inner_text()
        box.locator("button:text-is('Keep it')").click()
        assert api(page, base, "GET", f"/api/dbs/{db_id}")[0] == 200
        page.click("#delete-db")
        ask_box(page).locator("button.danger").click()
        page.wait_for_url(f"{base}/")
        assert api(page, base, "GET", f"/api/dbs/{db_id}")[0] == 404
        assert "sales 2026" not in page.inner_text("main")
        assert violations == []
        context.close()
        other.close()
