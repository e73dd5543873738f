"""In Chromium: a new user sets what happens when a run fails from the workflow's settings
(an error workflow, a Slack notice), applies and saves it; the section has no serious axe
violation at 1366 and 390 px (screenshots in test-artifacts/)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Workflow
from tests.conftest import PASSWORD
from tests.e2e.settling import click_settled
from tests.e2e.test_editor_accessibility import blocking_violations
from tests.failure_support import ERROR_WORKFLOW, add_credential
from tests.google_support import make_workflow, user_id

SIZES = {"wide": (1366, 900), "narrow": (390, 844)}


def shots(page: Page, artifacts: Path, name: str, checked: dict[str, list[object]]) -> None:
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.locator("#on-failure").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"failure-{name}-{size}.png"))
        checked[f"{name} ({size})"] = list(blocking_violations(page))
    page.set_viewport_size({"width": 1366, "height": 900})


def test_set_an_error_workflow_and_a_slack_notice(
    page: Page, live_server: str, app: Flask, artifacts: Path
) -> None:
    checked: dict[str, list[object]] = {}
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server + "/register")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    owner = user_id(app, "alice@example.com")
    handler = make_workflow(app, owner, ERROR_WORKFLOW, enable=False)
    orders = make_workflow(app, owner, {"name": "Orders"}, enable=False)
    add_credential(app, owner, "slack", {"webhook_url": "https://hooks.slack.com/x"})

    # The workflow's settings: nothing happens yet when a run fails
    page.goto(f"{live_server}/workflows/{orders}")
    page.locator(".toolbar-menu > summary").click()
    page.locator(".toolbar-menu").get_by_role("link", name="Settings").click()
    page.locator(".toolbar-menu > summary").click()  # close the menu
    section = page.locator("#on-failure")
    expect(section.get_by_text("Nothing yet: a failed run only shows as failed")).to_be_visible()
    shots(page, artifacts, "empty", checked)

    # Choose the error workflow and a Slack channel, then Apply
    section.get_by_label("Run a workflow").select_option(label=f"Tell the team (#{handler})")
    section.get_by_label("Slack credential").select_option(label="slack 1")
    section.get_by_label("Channel").fill("#alerts")
    section.get_by_role("button", name="Apply failure handling").click()
    expect(section.get_by_role("status")).to_have_text(
        re.compile("Failure handling applied. Save to keep it.")
    )
    expect(section.locator(".on-failure-state")).to_have_text(
        f"Runs Tell the team (#{handler}) · posts to Slack #alerts · "
        "at most one notice every 10 min."
    )
    shots(page, artifacts, "applied", checked)

    # Save keeps it
    click_settled(page.get_by_role("button", name="Save", exact=True))
    expect(page.locator("#editor-toolbar").get_by_text("Saved as version 2.")).to_be_visible()
    with app.app_context():
        saved = db.session.get(Workflow, orders)
        assert saved is not None
        assert saved.settings["on_failure"]["workflow_id"] == handler

    problems = {name: found for name, found in checked.items() if found}
    assert problems == {}
