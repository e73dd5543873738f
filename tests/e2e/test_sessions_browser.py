"""Sessions and login throttling in Chromium: Settings lists where one is logged in, signs a
session out and signs out everywhere; too many wrong passwords get a readable 429 (issue 18)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.test_editor_accessibility import blocking_violations

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
WIDTHS = (1366, 390)


def log_in(page: Page, live_server: str, password: str = PASSWORD) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("pat@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(password)
    page.get_by_role("button", name="Log in").click()


def settle(page: Page) -> None:
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling')")


def test_settings_sign_one_session_out_then_everywhere(
    page: Page, browser: Browser, live_server: str, artifacts: Path, backend: str
) -> None:
    # Given Pat registered on a laptop and logged in on a phone too
    page.goto(live_server + "/register")
    page.get_by_label("Email").fill("pat@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()
    phone = browser.new_context(user_agent=IPHONE, viewport={"width": 390, "height": 844})
    phone_page = phone.new_page()
    log_in(phone_page, live_server)
    expect(phone_page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()

    # When Pat opens Settings on the laptop
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    sessions = page.locator("#login-sessions")

    # Then both sessions are listed, this one marked, with a way to sign each out
    expect(sessions.get_by_role("heading", name="Where you are logged in")).to_be_visible()
    expect(sessions.locator(".session-device", has_text="Safari on iPhone")).to_be_visible()
    expect(sessions.locator(".badge", has_text="This device")).to_have_count(1)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        sessions.scroll_into_view_if_needed()
        sessions.screenshot(path=str(artifacts / f"settings-sessions-{width}-{backend}.png"))
        page.screenshot(path=str(artifacts / f"settings-{width}-{backend}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    assert blocking_violations(page) == []

    # When Pat signs the phone out (confirming)
    page.once("dialog", lambda dialog: dialog.accept())
    sessions.get_by_role("button", name=re.compile("Sign out Safari on iPhone")).click()
    settle(page)

    # Then the phone is gone from the list and logged out at its next page
    expect(sessions.locator(".session-device", has_text="Safari on iPhone")).to_have_count(0)
    phone_page.reload()
    expect(phone_page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    phone.close()

    # When Pat tries a common password on the Change password page
    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("textbox", name="New password", exact=True).fill("password123!")
    page.get_by_label("Repeat new password").fill("password123!")
    page.get_by_role("button", name="Change password").click()

    # Then the reason shows beside the field, and nothing changed
    expect(page.locator("#new-error")).to_contain_text("similar to a commonly used password")
    assert blocking_violations(page) == []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"password-refused-{width}-{backend}.png"))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server + "/settings")

    # When Pat signs out everywhere
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign out everywhere").click()

    # Then the laptop is on the login page too, told why
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    expect(page.get_by_text("You are signed out everywhere")).to_be_visible()


@pytest.fixture
def two_a_minute(app_config: dict[str, object]) -> None:
    app_config["LOGIN_RATE_LIMIT"] = "2 per minute"


@pytest.mark.usefixtures("two_a_minute")
def test_too_many_wrong_passwords_get_a_readable_429(
    page: Page, live_server: str, artifacts: Path, backend: str
) -> None:
    # Given two wrong passwords within the minute
    for attempt in range(2):
        log_in(page, live_server, f"wrong guess {attempt}")
        expect(page.get_by_text("Wrong email or password.")).to_be_visible()

    # When a third is tried
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        log_in(page, live_server, "wrong guess 3")

    # Then the page answers 429 and says how long to wait, beside the form that kept the email
    assert answer.value.status == 429
    assert 1 <= int(answer.value.headers["retry-after"]) <= 60
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(re.compile(r"Too many failed attempts\. Wait \d+ seconds?"))
    expect(page.get_by_label("Email")).to_have_value("pat@example.com")
    assert blocking_violations(page) == []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 760})
        page.screenshot(path=str(artifacts / f"login-429-{width}-{backend}.png"))
