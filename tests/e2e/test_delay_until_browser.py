"""A delay built in the browser (Chromium): "Wait" chooses "For a while" (amount and unit) or
"Until a date and time" (one field), each way showing only its own fields; Apply keeps the
date, the card says "Wait until …"; the step's time limit per attempt sits among its retries.
Screenshots of the panel at 1366 and 390 px are kept as artifacts."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.test_editor_accessibility import blocking_violations
from tests.e2e.test_editor_drafts import add_step, register_and_create


def test_a_delay_waits_for_a_while_or_until_a_date_and_time(
    page: Page, live_server: str, artifacts: Path, backend: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    register_and_create(page, live_server, "delay@example.com")
    add_step(page, "Delay")
    panel = page.locator("#panel")

    # Given a new delay: it waits for a while, the date field hidden
    wait = panel.get_by_label("Wait", exact=True)
    expect(wait).to_have_value("for")
    expect(panel.get_by_label("Amount")).to_be_visible()
    expect(panel.get_by_label("Until")).to_be_hidden()

    # When the user chooses to wait until a date and time
    wait.select_option("until")

    # Then only the date field shows, and it takes one
    expect(panel.get_by_label("Amount")).to_be_hidden()
    expect(panel.get_by_label("Unit")).to_be_hidden()
    until = panel.get_by_label("Until")
    expect(until).to_be_visible()
    until.fill("2026-12-24 09:00")
    panel.locator("summary", has_text="Retries, time limit and errors").click()
    panel.get_by_label("Time limit per attempt (seconds)").fill("60")
    panel.locator("details.retry-settings").screenshot(
        path=str(artifacts / f"delay-retries-1366-{backend}.png")
    )
    panel.get_by_role("button", name="Apply", exact=True).click()
    expect(panel.locator(".status")).to_contain_text("applied")
    expect(page.locator("#step-delay")).to_contain_text("Wait until 2026-12-24 09:00")
    page.locator("#panel").screenshot(path=str(artifacts / f"delay-until-1366-{backend}.png"))

    # And after a reload the panel shows the same way and values
    page.reload()
    panel = page.locator("#panel")
    expect(panel.get_by_label("Wait", exact=True)).to_have_value("until")
    expect(panel.get_by_label("Until")).to_have_value("2026-12-24 09:00")
    expect(panel.get_by_label("Amount")).to_be_hidden()
    expect(panel.get_by_label("Time limit per attempt (seconds)")).to_have_value("60")
    assert blocking_violations(page) == []

    # And at phone width it fits without scrolling sideways
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#panel").screenshot(path=str(artifacts / f"delay-until-390-{backend}.png"))
