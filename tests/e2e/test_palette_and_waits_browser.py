"""In Chromium, at 1366 and 390 px: the palette groups kinds by category (steps, and the
trigger's kind select), and a step waiting for Slack's rate limit says until when."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.dashboard_support import make_workflow, start
from tests.e2e.test_dashboard_live import log_in
from tests.fakes.http import FakeServer, Reply
from tests.fakes.slack import FakeSlack
from tests.google_support import steps_of
from tests.hooks_support import wait_until


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeServer() as server:
        yield FakeSlack(server)


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"]}


@pytest.mark.parametrize("width", [1366, 390])
def test_the_palette_groups_kinds_by_category(
    page: Page, live_server: str, app: Flask, artifacts: Path, backend: str, width: int
) -> None:
    # Given a logged-in user creating a workflow
    log_in(page, live_server, app)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + "/workflows/new")
    page.get_by_label("Name").fill("Orders")
    page.get_by_role("button", name=re.compile("Create")).click()

    # Then the palette shows the kinds under Flow, Messaging, Data, Google, Developer…
    palette = page.locator("#panel")
    expect(palette.get_by_role("heading", name="Add a step")).to_be_visible()
    headings = palette.locator("h3.palette-category").all_text_contents()
    assert headings[:2] == ["Flow", "Messaging"] and "Developer" in headings
    expect(
        palette.locator("section", has_text="Messaging").get_by_role(
            "button", name=re.compile("^Slack message")
        )
    ).to_be_visible()
    page.screenshot(path=artifacts / f"palette-{backend}-{width}.png", full_page=True)

    # And the trigger's kind select lists the new triggers under Email and Messaging
    page.goto(page.url.split("?")[0] + "?panel=trigger")
    select = page.locator("#field-type")
    expect(select.locator('optgroup[label="Email"] option')).to_have_text(["Email received (IMAP)"])
    expect(
        select.locator('optgroup[label="Messaging"] option[value="telegram_message"]')
    ).to_have_count(1)
    select.select_option("email_received")
    expect(page.get_by_label("Password")).to_be_visible()
    page.screenshot(path=artifacts / f"trigger-email-{backend}-{width}.png", full_page=True)


@pytest.mark.parametrize("width", [1366, 390])
def test_a_step_waiting_for_a_rate_limit_says_until_when(
    page: Page,
    live_server: str,
    app: Flask,
    artifacts: Path,
    backend: str,
    width: int,
    slack: FakeSlack,
) -> None:
    user_id = log_in(page, live_server, app)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + "/executions")  # the first request starts the embedded worker
    slack.fail_next(Reply.text("rate limited", 429, {"Retry-After": "600"}))
    step = {
        "key": "tell",
        "name": "Tell the team",
        "type": "slack_message",
        "config": {"webhook_url": slack.webhook_url, "text": "new order"},
    }
    spec = {"name": "Tell", "trigger": {"type": "manual", "config": {}}, "steps": [step]}
    execution_id = start(app, make_workflow(app, user_id, spec))

    def waiting() -> bool:
        steps = steps_of(app, execution_id)
        return bool(steps and steps[0].status == "pending" and steps[0].attempt_log)

    wait_until(waiting, what="the 429")
    page.goto(f"{live_server}/executions/{execution_id}")
    expect(page.locator(".step-waiting")).to_have_text(
        re.compile(r"^Waiting for Slack's rate limit until \d\d:\d\d:\d\d UTC\.$")
    )
    page.get_by_text("Attempts (1)").click()
    expect(page.locator(".attempt")).to_contain_text("not counted as an attempt")
    page.screenshot(path=artifacts / f"rate-limit-wait-{backend}-{width}.png", full_page=True)
