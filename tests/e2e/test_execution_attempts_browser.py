"""In Chromium, at 1366 and 390 px: a run that completed with errors says so in the list and on
its page, and the attempts of a retried step read one line each with who ended it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.dashboard_support import make_workflow, start, wait_final
from tests.e2e.test_dashboard_live import log_in

WITH_ERRORS = {
    "name": "Lead intake",
    "steps": [
        {
            "key": "flaky",
            "name": "Call the CRM",
            "type": "test_flaky",
            "config": {"succeed_on_attempt": 3},
            "retry": {"attempts": 3, "backoff": {"type": "fixed", "delay": 0.05}},
        },
        {
            "key": "enrich",
            "name": "Enrich the lead",
            "type": "test_flaky",
            "config": {"succeed_on_attempt": 5, "retryable": False},
            "continue_on_error": True,
        },
        {"key": "say", "type": "log", "config": {"message": "done"}},
    ],
}


@pytest.mark.parametrize("width", [1366, 390])
def test_completed_with_errors_and_the_attempts_read_well(
    page: Page, live_server: str, app: Flask, artifacts: Path, backend: str, width: int
) -> None:
    # Given a run whose first step succeeded on its third attempt and whose second step,
    # set to continue on error, failed
    user_id = log_in(page, live_server, app)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + "/executions")  # the first request starts the embedded worker
    execution_id = start(app, make_workflow(app, user_id, WITH_ERRORS))
    assert wait_final(app, [execution_id]) == ["completed"]

    # When the user opens the list
    page.goto(live_server + "/executions")

    # Then its row says "Completed" and "with errors"
    row = page.locator(f"#execution-{execution_id}")
    expect(row.locator(".status-badge.status-completed")).to_have_text("Completed")
    expect(row.locator(".status-badge.status-with-errors")).to_have_text("with errors")
    page.screenshot(
        path=artifacts / f"executions-with-errors-{backend}-{width}.png", full_page=True
    )

    # When they pick "Completed with errors" in the status filter
    status = page.get_by_label("Status")
    if not status.is_visible():  # small screens fold the filters under one "Filter" button
        page.locator(".filter-fold > summary").click()
    status.select_option(label="Completed with errors")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"[?&]status=completed-with-errors(&|$)"))
    expect(page.locator(".execution-row")).to_have_count(1)

    # And open the execution and its first step's attempts
    page.goto(f"{live_server}/executions/{execution_id}")
    expect(page.locator(".execution-warning")).to_contain_text(
        "Completed with errors: Enrich the lead failed and the run went on"
    )
    first = page.locator(".step").first
    expect(first.locator(".step-meta")).to_contain_text("3 attempts")
    first.get_by_text("Attempts (3)").click()
    lines = first.locator("li.attempt")
    expect(lines).to_have_count(3)
    expect(lines.nth(0)).to_contain_text("ended by its worker: planned failure on attempt 1")
    page.screenshot(path=artifacts / f"execution-attempts-{backend}-{width}.png", full_page=True)

    # And nothing on the page is wider than the screen
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0 or width > 700
