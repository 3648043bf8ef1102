"""Browser tests: Playwright driving Debian's Chromium (installed by .ci/run) against a real server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


# Package scope, not session: Playwright's sync API keeps an event loop running in this thread while it
# is open, and the tests after tests/browser/ that call asyncio.run would find it there.
@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run should have installed Debian's chromium")
        pytest.skip("Chromium is not installed here (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser is a `browser` test (`make test-quick` leaves them out)."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.browser)


def screenshot(page: object, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def watch_csp(page: object) -> list[str]:
    """Collect what the browser reports as Content-Security-Policy violations on `page` (its console
    says "Refused to ... because it violates the following Content Security Policy directive")."""
    violations: list[str] = []

    def seen(message: object) -> None:
        text = message.text  # type: ignore[attr-defined]
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            violations.append(text)

    page.on("console", seen)  # type: ignore[attr-defined]
    return violations


def sign_up_in_page(page: object, base: str, username: str) -> None:
    """Sign `username` up through the form (which logs in) and land on the home page."""
    page.goto(f"{base}/signup")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=email_address]", f"{username}@example.org")  # type: ignore[attr-defined]
    page.fill("input[name=password]", "a good long password")  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/")  # type: ignore[attr-defined]


def create_database_in_page(page: object, name: str, query: str) -> str:
    """Create a database with a schema script through the JSON API, as the logged-in page; its id."""
    created = page.evaluate(  # type: ignore[attr-defined]
        """async ([name, query]) => {
            const r = await fetch("/api/dbs", {method: "POST", headers: {"Content-Type": "application/json"},
                                               body: JSON.stringify({name, query})});
            return [r.status, await r.json()];
        }""",
        [name, query],
    )
    assert created[0] == 201, created
    return str(created[1]["id"])
