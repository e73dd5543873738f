"""Issue 22's must-show walk, in Chromium: create an SMTP credential on the Connections page,
test it (a login on the fake SMTP server), build webhook → "Send email" with fields mapped from
the webhook's data with the data picker and the credential picked by name, switch it on, send a
request to the webhook URL, and find the message in the fake server's mailbox. Screenshots of
each stage (1366 px, and the Connections page at 390 px) go to
test-artifacts/send-email/<backend>/."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.settling import click_settled, select_settled
from tests.fakes.smtp import FakeSMTP
from tests.integration.editor_support import wait_for_final

SMTP_USER, SMTP_PASSWORD = "mailer", "e2e-smtp-secret-91"
SAMPLE = {"customer": {"name": "Ada Lovelace", "email": "ada@example.org"}, "order": 42}


@pytest.fixture
def smtp() -> Iterator[FakeSMTP]:
    with FakeSMTP(security="none", username=SMTP_USER, password=SMTP_PASSWORD) as server:
        yield server


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    # The fake SMTP server listens on 127.0.0.1, which the address guard refuses by default.
    return {**app_config, "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"]}


def post_json(url: str, data: dict[str, Any]) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def map_field(field: Locator, search: str, page: Page) -> None:
    """Type `{{` in a field: the data picker opens on its search; search, Enter inserts."""
    field.press_sequentially("{{")
    box = page.locator("#picker-search")
    expect(box).to_be_focused()
    box.press_sequentially(search)
    box.press("Enter")


def test_an_smtp_credential_is_tested_and_a_webhook_sends_email_with_it(
    page: Page, live_server: str, app: Flask, smtp: FakeSMTP, artifacts: Path, backend: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    folder = artifacts / "send-email" / backend
    folder.mkdir(parents=True, exist_ok=True)
    panel = page.locator("#panel")

    # A new account
    page.goto(live_server + "/register")
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    # An SMTP credential, created on the Connections page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    page.get_by_role("link", name="New credential").click()
    page.get_by_role("link", name=re.compile(r"^SMTP")).click()
    page.locator("#credential-name").fill("Shop mail")
    page.locator("#field-host").fill("127.0.0.1")
    page.locator("#field-port").fill(str(smtp.port))
    page.locator("#field-security").select_option("none")
    page.locator("#field-username").fill(SMTP_USER)
    page.locator("#field-password").fill(SMTP_PASSWORD)
    page.locator("#field-from_address").fill("shop@example.com")
    page.screenshot(path=str(folder / "01-credential-form.png"), full_page=True)
    page.get_by_role("button", name="Save credential").click()
    row = page.locator(".credentials-table tbody tr").filter(has_text="Shop mail")
    expect(row).to_contain_text("Not tested")
    assert SMTP_PASSWORD not in page.content()

    # Test connection: a login on the fake server, and the page says it works
    row.get_by_role("button", name=re.compile(r"^Test connection")).click()
    row = page.locator(".credentials-table tbody tr").filter(has_text="Shop mail")
    expect(row).to_contain_text("Works")
    expect(row).to_contain_text(f"Connected to 127.0.0.1:{smtp.port} (none) as {SMTP_USER}.")
    assert smtp.logins == [(SMTP_USER, True)] and smtp.mailbox == []
    page.screenshot(path=str(folder / "02-credential-tested.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(folder / "03-credential-tested-390.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})

    # A workflow: a webhook trigger with a captured test request as its sample data
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows").click()
    page.get_by_role(
        "link", name=re.compile(r"Create your first workflow|New workflow")
    ).first.click()
    page.get_by_label("Name").fill("Order mail")
    page.get_by_role("button", name="Create and open the editor").click()
    expect(page.get_by_role("heading", name="Order mail", level=1)).to_be_visible()
    page.locator("#trigger-card").get_by_role("link", name="Manual").click()
    expect(panel.locator("h2")).to_have_text("Trigger")
    select_settled(panel.get_by_label("Kind", exact=True), "webhook")
    expect(panel.locator("#webhook")).to_be_visible()
    panel.get_by_role("button", name="Apply", exact=True).click()
    expect(panel.locator(".status")).to_contain_text("applied")
    click_settled(page.locator("#save-workflow"))
    expect(page.locator("#editor-toolbar")).to_contain_text("All changes saved")
    panel.locator("#webhook-listen").click()
    expect(panel.locator("#webhook .listening")).to_be_visible()
    assert post_json(panel.locator("#webhook-test-url").input_value(), SAMPLE) in (200, 202)
    expect(panel.locator(".status")).to_contain_text("A test request arrived.")

    # Send email: the credential picked by name, the fields mapped with the data picker
    page.locator("#flow .add-step-button").last.click()
    panel.locator(".palette").get_by_role("button", name=re.compile(r"^Send email")).click()
    expect(panel.locator("h2")).to_contain_text("Send email")
    credential = panel.get_by_label(re.compile(r"^Credential"))
    credential.select_option(label="Shop mail")
    map_field(panel.get_by_label(re.compile(r"^To\b")), "customer email", page)
    subject = panel.get_by_label(re.compile(r"^Subject"))
    subject.fill("Order ")
    subject.press("End")
    map_field(subject, "order", page)
    body = panel.get_by_label(re.compile(r"^Body text"))
    body.fill("Hello ")
    body.press("End")
    map_field(body, "customer name", page)
    panel.get_by_role("button", name="Apply", exact=True).click()
    expect(panel.locator(".status")).to_contain_text("applied")
    page.screenshot(path=str(folder / "04-send-email-step.png"), full_page=True)

    # Save, switch on, and send a request to the webhook URL
    click_settled(page.locator("#save-workflow"))
    expect(page.locator("#editor-toolbar")).to_contain_text("All changes saved")
    page.locator("#active-switch").click()
    expect(page.locator("#active-switch")).to_have_attribute("aria-checked", "true")
    assert post_json(page.locator("#header-webhook-url").input_value(), SAMPLE) in (200, 202)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Executions").click()
    execution_row = page.locator("tr.execution-row").first
    expect(execution_row).to_contain_text(re.compile("completed", re.I), timeout=20_000)
    page.screenshot(path=str(folder / "05-execution-completed.png"), full_page=True)
    href = execution_row.get_by_role("link").first.get_attribute("href")
    assert href and re.search(r"/executions/\d+$", href)
    assert wait_for_final(app, int(href.rsplit("/", 1)[1])).status == "completed"

    # The message is in the fake server's mailbox, as the form mapped it
    (message,) = smtp.mailbox
    assert message["To"] == "ada@example.org"
    assert message["From"] == "shop@example.com"
    assert message["Subject"] == "Order 42"
    text = message.get_body(("plain",))
    assert text is not None and text.get_content().strip() == "Hello Ada Lovelace"
    assert smtp.envelopes[-1]["login"] == SMTP_USER
