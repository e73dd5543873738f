"""Live executions in Chromium: the execution page follows pending → running → completed without
a reload and stops polling once final; the list shows a new execution at the top by itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, Request, Response, expect

from app.extensions import db, embedded_worker
from app.services.accounts import users
from tests.conftest import PASSWORD, TEST_PASSWORD_HASH
from tests.dashboard_support import make_workflow, start

DELAYED = {
    "name": "Welcome mail",
    "steps": [
        {"key": "wait", "type": "delay", "name": "Wait a moment", "config": {"amount": 3}},
        {"key": "record", "type": "log", "config": {"message": "sent to {{ trigger.to }}"}},
    ],
}


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    # The test starts the embedded worker itself, so that "pending" can be seen first.
    return {**app_config, "EMBEDDED_WORKER": False}


def log_in(page: Page, live_server: str, app: Flask) -> int:
    with app.app_context():
        user = users.register(
            db.session(),
            email="live@example.com",
            password=PASSWORD,
            hash_method=TEST_PASSWORD_HASH,
        )
        user_id = user.id
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("live@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return user_id


def test_the_execution_page_follows_the_run_and_stops_polling(
    page: Page, live_server: str, app: Flask, artifacts: Path, backend: str
) -> None:
    # Given a logged-in user and a triggered workflow whose first step is a 3 s delay,
    # with no worker running yet
    user_id = log_in(page, live_server, app)
    execution_id = start(app, make_workflow(app, user_id, DELAYED), {"to": "ada@example.com"})
    status_path = f"/executions/{execution_id}/status"
    polls: list[str] = []
    answers: list[int] = []

    def on_request(request: Request) -> None:
        if request.url.endswith(status_path):
            polls.append(request.url)

    def on_response(response: Response) -> None:
        if response.url.endswith(status_path):
            answers.append(response.status)

    page.on("request", on_request)
    page.on("response", on_response)

    # When the user opens the execution page
    page.goto(f"{live_server}/executions/{execution_id}")
    page.evaluate("window.loadedOnce = true")  # gone if the page ever reloads
    status = page.locator("#execution-detail .execution-status")

    # Then it shows the execution pending
    expect(status).to_have_attribute("data-status", "pending")
    expect(status).to_have_text("Pending")

    # When the embedded worker starts, the page follows the run without a reload
    embedded_worker(app).start()
    expect(status).to_have_text("Running", timeout=10_000)
    # the delay step has done its part and the next step waits for its turn
    expect(page.locator(".step-completed")).to_contain_text("Wait a moment")
    expect(page.locator(".step-pending")).to_contain_text("Starts at")
    # and a finished step's output, opened meanwhile, stays open through the polls
    output = page.locator(".step").first.locator("details").filter(has_text="Output")
    output.locator("> summary").click()
    expect(status).to_have_text("Completed", timeout=15_000)
    expect(output).to_have_attribute("open", "")
    expect(output).to_contain_text('"waited_seconds"')
    expect(page.locator(".step .status-badge")).to_have_text(["Completed", "Completed"])
    assert page.evaluate("window.loadedOnce") is True
    page.screenshot(path=str(artifacts / f"execution-live-{backend}.png"), full_page=True)

    # Then the last poll was answered 286, and no poll follows it
    assert len(polls) >= 3, polls
    expect(page.locator("#execution-detail[hx-trigger]")).to_have_count(0)
    polled = len(polls)
    assert answers[-1] == 286, answers
    page.wait_for_timeout(3_000)  # three polling periods: proving an absence takes time
    assert len(polls) == polled, f"{len(polls) - polled} polls after the execution completed"
    assert answers.count(286) == 1, answers


def test_a_new_execution_appears_at_the_top_of_the_list_and_goes_live(
    page: Page, live_server: str, app: Flask
) -> None:
    # Given the executions list open on one finished execution, with the worker running
    user_id = log_in(page, live_server, app)
    embedded_worker(app).start()
    workflow = make_workflow(app, user_id, {**DELAYED, "steps": DELAYED["steps"][1:]})
    first = start(app, workflow, {"to": "first"})
    page.goto(live_server + "/executions")
    expect(page.locator(f"#execution-{first} .status-badge")).to_have_text("Completed")
    page.evaluate("window.loadedOnce = true")

    # When a new execution starts
    second = start(app, make_workflow(app, user_id, DELAYED), {"to": "second"})

    # Then it appears above the first without a reload, and its row follows it to the end
    row = page.locator(f"#execution-{second}")
    expect(row).to_be_visible(timeout=10_000)
    rows = page.locator("tr.execution-row")
    expect(rows.first).to_have_id(f"execution-{second}")
    expect(row.locator(".status-badge")).to_have_text("Completed", timeout=15_000)
    assert page.evaluate("window.loadedOnce") is True
