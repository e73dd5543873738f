"""The must-show walk of issue 21's approvals, in Chromium: a new user builds manual trigger →
approval → log in the editor (previewing the approval page with the sample data), runs it and
watches the run wait; the approval link opens in a second browser context with no login, where
someone approves; the first context's execution page shows the run complete, live. Screenshots
of the approval page and the editor's panel at 1366 and 390 px are kept under
test-artifacts/approval/<backend>/; axe finds no serious or critical violation on the approval
page."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.settling import click_settled
from tests.e2e.test_editor_accessibility import blocking_violations
from tests.e2e.test_editor_flow import add_step, apply_panel
from tests.integration.editor_support import wait_for_final

SAMPLE = '{"order": 1042, "amount": 40, "customer": "Grace"}'


def shot(page: Page, folder: Path, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def test_an_approval_is_built_run_and_approved_from_a_second_browser_without_login(
    page: Page, browser: Browser, live_server: str, app: Flask, artifacts: Path, backend: str
) -> None:
    folder = artifacts / "approval" / backend
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    panel = page.locator("#panel")

    # Given a new user and a new workflow whose manual trigger has sample data
    page.goto(live_server + "/register")
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("link", name="Create your first workflow").click()
    page.get_by_label("Name").fill("Refund approvals")
    page.get_by_role("button", name="Create and open the editor").click()
    page.locator("#trigger-card").get_by_role("link", name="Manual").click()
    page.get_by_label("Sample data (JSON)").fill(SAMPLE)
    apply_panel(page)

    # When they add an approval step: a title, a message, one field, the timeout
    add_step(page, "Approval")
    panel.get_by_label(re.compile(r"^Title")).fill("Refund order {{ trigger.order }}?")
    panel.get_by_label(re.compile(r"^Message")).fill("{{ trigger.customer }} asked for a refund.")
    panel.get_by_label("Name, row 1").fill("Amount")
    panel.get_by_label("Value, row 1").fill("{{ trigger.amount }} EUR")
    panel.get_by_label(re.compile(r"^Wait for a decision for")).fill("2")
    apply_panel(page)
    expect(page.locator("#step-approval .card-summary")).to_contain_text("waits up to 2")
    preview_link = panel.get_by_role("link", name=re.compile("Preview the approval page"))
    preview_link.scroll_into_view_if_needed()
    expect(preview_link).to_be_visible()
    shot(page, folder, "editor-1366", full_page=False)

    # Then the preview shows the page with the sample values, its buttons inert
    with page.context.expect_page() as opened:
        preview_link.click()
    preview = opened.value
    preview.set_viewport_size({"width": 1366, "height": 900})
    expect(preview.get_by_role("heading", name="Refund order 1042?")).to_be_visible()
    expect(preview.locator(".approval-fields")).to_contain_text("40 EUR")
    expect(preview.get_by_role("button", name="Approve")).to_be_disabled()
    shot(preview, folder, "preview-1366")
    preview.close()

    # When they add a log of the decision, save, and run it with the sample data
    add_step(page, "Log")
    panel.get_by_label(re.compile(r"^Message")).fill(
        "{{ steps.approval.decision }} by {{ steps.approval.by }}"
    )
    apply_panel(page)
    click_settled(page.get_by_role("button", name="Save", exact=True))
    expect(page.locator("#editor-toolbar")).to_contain_text("Saved as version")
    expect(page.locator("#editor-toolbar")).to_contain_text("All changes saved")
    payload = page.get_by_label("Trigger data (JSON, optional)")
    expect(payload).to_have_value(re.compile(r'"order": 1042'))  # the run form after the save
    page.locator("#run-now summary").click()
    expect(payload).to_be_visible()
    page.locator("#run-submit").click()

    # Then the execution page shows the run waiting, with the approval link to pass on
    page.wait_for_url(re.compile(r"/executions/\d+$"))
    execution_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".execution-status[data-status='waiting']")).to_be_visible()
    link = page.get_by_label(re.compile("^Approval link"))
    expect(link).to_have_value(re.compile(r"/resume/"))
    path = link.input_value()[link.input_value().index("/resume/") :]
    expect(page.get_by_role("button", name=re.compile("^Approve"))).to_be_visible()
    shot(page, folder, "owner-waiting-1366")

    # When someone opens the link in another browser, never logged in
    other = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        approver = other.new_page()
        approver.goto(live_server + path)

        # Then they see what to decide, and only that
        expect(approver.get_by_role("heading", name="Refund order 1042?")).to_be_visible()
        expect(approver.locator(".approval-from")).to_contain_text("Refund approvals")
        expect(approver.locator(".approval-fields")).to_contain_text("40 EUR")
        expect(approver.locator(".approval-consequence")).to_have_text(
            "Approve lets the run go on; Reject ends it."
        )
        assert other.cookies() == []
        assert blocking_violations(approver) == []
        width = approver.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
        shot(approver, folder, "page-390")
        approver.set_viewport_size({"width": 1366, "height": 900})
        shot(approver, folder, "page-1366")

        # When they approve with their name and a comment
        approver.get_by_label(re.compile("^Your name")).fill("Grace Hopper")
        approver.get_by_label(re.compile("^Comment")).fill("Refund it.")
        approver.get_by_role("button", name="Approve").click()

        # Then the page thanks them
        expect(approver.get_by_role("status")).to_contain_text("you approved this request")
        shot(approver, folder, "approved-1366")

        # And the link, opened again, says who decided; a wrong link says it is not valid
        approver.set_viewport_size({"width": 390, "height": 844})
        approver.goto(live_server + path)
        expect(approver.get_by_role("status")).to_contain_text(
            "This request was already decided (approved by Grace Hopper at"
        )
        expect(approver.get_by_role("button", name="Approve")).to_have_count(0)
        shot(approver, folder, "decided-390")
        approver.goto(live_server + path[:-6] + "abcdef")
        expect(approver.get_by_role("heading", name="This link is not valid")).to_be_visible()
        shot(approver, folder, "missing-390")
        assert other.cookies() == []
    finally:
        other.close()

    # And the owner's page, never reloaded, shows the run complete with the decision
    expect(page.locator(".execution-status[data-status='completed']")).to_be_visible(timeout=20_000)
    expect(page.locator('[data-address="2"]')).to_contain_text("Completed")
    assert wait_for_final(app, execution_id).status == "completed"
    page.locator('[data-address="2"] summary', has_text="Output").click()
    expect(page.locator('[data-address="2"]')).to_contain_text("approved by Grace Hopper")

    # And the editor's panel reads well at 390 px
    page.set_viewport_size({"width": 390, "height": 844})
    workflow_id = wait_for_final(app, execution_id).workflow_id
    page.goto(f"{live_server}/workflows/{workflow_id}?step=approval")
    preview_link = panel.get_by_role("link", name=re.compile("Preview the approval page"))
    preview_link.scroll_into_view_if_needed()
    expect(preview_link).to_be_visible()
    shot(page, folder, "editor-390", full_page=False)
