"""In Chromium: connect Google through the (fake) consent page, then a new Gmail message starts
an execution of a workflow on "new Gmail message" within one poll."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.fakes.google import FakeGoogle
from tests.fakes.http import FakeServer
from tests.google_support import connections_of, gmail_spec, make_workflow, user_id

POLL_SECONDS = 1.0


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeServer() as server:
        yield FakeGoogle(server)


@pytest.fixture
def app_config(app_config: dict[str, object], google: FakeGoogle) -> dict[str, object]:
    return {
        **app_config,
        **google.settings(),
        "GOOGLE_POLL_INTERVAL": POLL_SECONDS,
        "SCHEDULER_INTERVAL": 0.2,
    }


def test_connect_google_then_a_new_message_starts_an_execution(
    page: Page, live_server: str, app: Flask, google: FakeGoogle, artifacts: Path, backend: str
) -> None:
    # Given a user who signs up and opens Connections
    page.goto(live_server + "/register")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    expect(page.get_by_role("heading", name="Connections", exact=True)).to_be_visible()
    expect(page.get_by_text("No Google account connected yet.")).to_be_visible()

    # When she connects Google and the consent page sends her back
    page.get_by_role("button", name="Connect Google").click()

    # Then she is back on Connections with the account listed as active
    expect(page.get_by_text("Google account alice.google@example.com connected.")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("alice.google@example.com"))
    expect(row.get_by_text("Active")).to_be_visible()
    expect(row.get_by_text("Gmail: read messages")).to_be_visible()
    page.screenshot(path=str(artifacts / f"google-connected-{backend}.png"))
    asked = google.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256" and asked["access_type"] == "offline"

    # When she has a workflow on "new Gmail message" and a message arrives in the mailbox
    (connection,) = connections_of(app, "alice@example.com")
    spec = gmail_spec(connection.id, query="from:orders@shop.example")
    workflow_id = make_workflow(app, user_id(app, "alice@example.com"), spec)
    page.goto(f"{live_server}/executions?workflow_id={workflow_id}")
    google.gmail.deliver("orders@shop.example", "Order 1001", "Thanks for your order")

    # Then an execution of the workflow appears within one poll (the list updates itself)
    execution = page.get_by_role("row", name=re.compile("google.gmail_new_message"))
    expect(execution).to_be_visible(timeout=(POLL_SECONDS + 4) * 1000)
    expect(execution.get_by_text("New mail")).to_be_visible()
    page.screenshot(path=str(artifacts / f"google-execution-{backend}.png"))
