"""A newcomer in Chromium: register, log in, see the Workflows page, log out."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD


def test_register_login_workflows_logout(
    page: Page, live_server: str, artifacts: Path, backend: str
) -> None:
    # Given a visitor on the login page
    page.goto(live_server + "/")
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()

    # When they create an account
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Name").fill("Browser User")
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    # Then they land on their empty Workflows page, inside the app's layout
    expect(page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()
    expect(page.get_by_text("No workflows yet")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    for item in ("Workflows", "Executions", "Connections", "Settings"):
        expect(nav.get_by_role("link", name=item)).to_be_visible()
    page.screenshot(path=str(artifacts / f"workflows-empty-{backend}.png"))

    # When they log out and log back in with a wrong, then the right password
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label(re.compile(r"^Password")).fill("wrong password!")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("browser@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # Then they are back on their workflows, and htmx loaded from our own static files
    expect(page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()
    page.wait_for_function("typeof htmx !== 'undefined'")  # a deferred script
    assert page.evaluate("htmx.version") == "2.0.11"
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
