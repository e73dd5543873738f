"""In Chromium: create a Telegram credential from its form, test it against a fake Telegram,
rotate it, pick it in a step's select; the pages have no serious axe violation at 1366 and
390 px (screenshots in test-artifacts/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.test_editor_accessibility import blocking_violations
from tests.fakes.http import FakeServer, RecordedRequest, Reply
from tests.integration.credentials_support import add_credential

TOKEN = "123456:AAbbCCddEEff-first"
ROTATED = "123456:ZZyyXXww-rotated"
SIZES = {"wide": (1366, 900), "narrow": (390, 844)}


@pytest.fixture
def telegram() -> Iterator[FakeServer]:
    with FakeServer() as server:

        def get_me(request: RecordedRequest) -> Reply:
            if request.path in (f"/bot{TOKEN}/getMe", f"/bot{ROTATED}/getMe"):
                return Reply.json({"ok": True, "result": {"id": 1, "username": "shop_bot"}})
            return Reply.json({"ok": False, "description": "Unauthorized"}, 401)

        server.on_prefix("GET", "/bot", get_me)
        yield server


@pytest.fixture
def app_config(app_config: dict[str, object], telegram: FakeServer) -> dict[str, object]:
    return {
        **app_config,
        "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"],
        "TELEGRAM_API_BASE_URL": telegram.url(""),
    }


def shots(page: Page, artifacts: Path, name: str, checked: dict[str, list[object]]) -> None:
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"credentials-{name}-{size}.png"), full_page=True)
        checked[f"{name} ({size})"] = list(blocking_violations(page))
    page.set_viewport_size({"width": 1366, "height": 900})


def test_create_test_rotate_and_pick_a_credential(
    page: Page, live_server: str, app: Flask, telegram: FakeServer, artifacts: Path
) -> None:
    checked: dict[str, list[object]] = {}
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server + "/register")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    # Connections → New credential → Telegram bot
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    expect(page.get_by_text("No credentials yet.")).to_be_visible()
    page.get_by_role("link", name="New credential").click()
    shots(page, artifacts, "kinds", checked)
    page.get_by_role("link", name=re.compile("^Telegram bot")).click()
    page.get_by_label("Name").fill("Shop bot")
    page.get_by_label("Bot token").fill(TOKEN)
    shots(page, artifacts, "form", checked)
    page.get_by_role("button", name="Save credential").click()

    # It is listed masked; Test connection asks the fake Telegram
    expect(page.get_by_text("Credential 'Shop bot' saved.")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Shop bot"))
    expect(row.get_by_text("••••••")).to_be_visible()
    row.get_by_role("button", name=re.compile("Test connection")).click()
    expect(page.get_by_text("Shop bot: the test works. Signed in as @shop_bot.")).to_be_visible()
    assert TOKEN not in page.content()
    shots(page, artifacts, "connections", checked)

    # Edit: the secret is not shown; a new value rotates it
    page.get_by_role("row", name=re.compile("Shop bot")).get_by_role(
        "link", name=re.compile("Edit")
    ).click()
    expect(page.get_by_label("Bot token")).to_have_value("")
    assert TOKEN not in page.content()
    page.get_by_label("Bot token").fill(ROTATED)
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Credential 'Shop bot' saved.")).to_be_visible()

    # A step with a credential field offers the user's credentials of its kinds
    add_credential(app, "alice@example.com", "http_bearer", "Billing API", {"token": "tok-b"})
    page.goto(live_server + "/workflows/new")
    page.get_by_label("Name").fill("Echo")
    page.get_by_role("button", name="Create and open the editor").click()
    page.locator("#panel .palette").get_by_role(
        "button", name=re.compile(r"^Credential echo")
    ).click()
    select = page.locator("#panel").get_by_label("Credential", exact=True)
    expect(select.locator("option")).to_have_text(
        ["Choose a credential", "Billing API (http bearer)"]
    )
    shots(page, artifacts, "editor", checked)

    problems = {name: found for name, found in checked.items() if found}
    assert problems == {}
