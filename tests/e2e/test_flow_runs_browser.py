"""A run of paths and a loop in Chromium: the page says which branch ran and why, the failed
iteration is open and the others unfold on a click, "show more" loads the next iterations in
place; the page reads at 1366 and 390 px (screenshots in test-artifacts/) with no serious or
critical axe violation; the list shows a running loop's progress."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from tests.e2e.test_dashboard_live import log_in
from tests.e2e.test_editor_accessibility import blocking_violations
from tests.flow_runs_support import store_run
from tests.integration.test_flow_runs_display import TO


def test_read_a_paths_and_loop_run_at_both_widths(
    page: Page, live_server: str, app: Flask, artifacts: Path, backend: str
) -> None:
    # Given a run over 40 lines whose 3rd and 25th charges failed, then paths on the amount
    user_id = log_in(page, live_server, app)
    execution = store_run(app, user_id, items=40, failed=(2, 24))
    page.set_viewport_size({"width": 1366, "height": 900})

    # When the user opens its page
    page.goto(f"{live_server}/executions/{execution}")

    # Then the paths step says which branch it took, and why
    taken = page.locator(".branch-taken")
    expect(taken).to_have_text(
        "Took “Big orders” (a): trigger.body.amount (= 250) is greater than 100"
    )
    expect(page.locator(".branch-not-taken")).to_have_count(2)
    # and the loop counts its items; the failed iteration is open, the others folded
    expect(page.locator(".loop-summary")).to_have_text("40 items · 38 completed · 2 failed")
    failed = page.locator("#iteration-1-2-fold")
    expect(failed).to_have_attribute("open", "")
    expect(failed.locator('[data-address="2/2"] .step-error')).to_be_visible()
    assert blocking_violations(page) == []
    page.screenshot(path=str(artifacts / f"flow-run-1366-{backend}.png"), full_page=True)

    # When they unfold a completed iteration
    first = page.locator("#iteration-1-0-fold")
    first.locator("> summary").click()
    expect(first.locator('[data-address="2/1"]')).to_be_visible()

    # And ask for more iterations: the next ones come in place, then a later failed one
    gap = page.locator(".iterations-gap").first
    expect(gap).to_contain_text(f"Items 11{TO}24 not shown.")
    gap.get_by_role("link").click()
    expect(page.locator("#iteration-1-23-fold")).to_be_attached()
    expect(page.locator(".iterations-gap").first).to_contain_text(f"Items 26{TO}40 not shown.")
    expect(page.locator("#iteration-1-24-fold")).to_have_attribute("open", "")

    # At 390 px the page reads top to bottom, nested steps indented
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/executions/{execution}")
    expect(page.locator(".branch-taken")).to_be_visible()
    assert blocking_violations(page) == []
    page.screenshot(path=str(artifacts / f"flow-run-390-{backend}.png"), full_page=True)
    for address, part in (("2", "loop"), ("3", "paths")):
        step = page.locator(f'.timeline > [data-address="{address}"]')
        step.screenshot(path=str(artifacts / f"flow-run-390-{part}-{backend}.png"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"


def test_the_list_shows_a_running_loops_progress(
    page: Page, live_server: str, app: Flask, artifacts: Path, backend: str
) -> None:
    user_id = log_in(page, live_server, app)
    store_run(app, user_id, items=1000, running_at=119)
    page.set_viewport_size({"width": 1366, "height": 700})

    page.goto(f"{live_server}/executions")

    expect(page.locator(".row-progress")).to_have_text("step 2 of 3 · item 120 of 1,000")
    page.screenshot(path=str(artifacts / f"flow-run-list-1366-{backend}.png"))
    page.set_viewport_size({"width": 390, "height": 700})
    row = page.locator(".execution-row").first
    row.scroll_into_view_if_needed()
    expect(page.locator(".row-progress")).to_be_visible()
    row.screenshot(path=str(artifacts / f"flow-run-list-390-{backend}.png"))
