"""Seeing data in the editor, in Chromium: a step's test result is pinned in view as typed
trees beside each other; the whole workflow is tested with the results arriving on each card;
templates show as pills, and typing `{{` opens the picker's search. axe-core finds no serious
or critical violation with all of it on screen, at 1366 and 390 px."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.test_editor_accessibility import blocking_violations

SAMPLE = '{"customer": {"name": "Ada Lovelace", "vip": true}, "total": 42, "note": null}'


def in_viewport(page: Page, selector: str) -> bool:
    """Whether the element's top is (or, within a few seconds, scrolls) inside the window."""
    page.wait_for_function(
        """sel => { const r = document.querySelector(sel).getBoundingClientRect();
                    return r.top >= 0 && r.top < window.innerHeight; }""",
        arg=selector,
        timeout=3_000,
    )
    return True


def build(page: Page, live_server: str, email: str) -> None:
    """A new user's workflow: manual trigger with sample data, a transform and a log step."""
    page.goto(live_server + "/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("link", name="Create your first workflow").click()
    page.get_by_label("Name").fill("Orders")
    page.get_by_role("button", name="Create and open the editor").click()
    page.locator("#trigger-card").get_by_role("link", name="Manual").click()
    page.get_by_label("Sample data (JSON)").fill(SAMPLE)
    page.locator("#panel").get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator("#trigger-card")).to_contain_text("Sample data: 3 fields")
    for kind in ("Transform", "Log"):
        page.locator("#flow .add-step-button").last.click()
        page.locator("#panel .palette").get_by_role("button", name=re.compile(rf"^{kind}")).click()
        expect(page.locator("#panel h2")).to_contain_text(kind)


def test_test_results_pills_and_the_whole_workflow_test(
    page: Page, live_server: str, artifacts: Path, backend: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    build(page, live_server, "data@example.com")

    # When the user types `{{` in the log message, the picker opens on its search box
    message = page.get_by_label(re.compile(r"^Message"))
    message.fill("Order from ")
    message.press("End")
    message.press_sequentially("{{")
    search = page.locator("#picker-search")
    expect(search).to_be_focused()
    expect(page.locator("#picker")).to_have_attribute("open", "")

    # And searching narrows the fields; Enter inserts the first, replacing the `{{`
    search.press_sequentially("name")
    expect(page.locator("#picker .picker-item:visible")).to_have_count(1)
    search.press("Enter")
    expect(message).to_have_value("Order from {{ trigger.customer.name }}")

    # Then, once the field is left, the template shows as a pill with its sample value on hover,
    # and a preview of the rendered text; the input still holds the template text
    page.get_by_label("Name", exact=True).focus()
    pill = page.locator(".pill-overlay[data-for='field-config-message'] .pill")
    expect(pill).to_have_text("Trigger\u203acustomer \u203a name")
    expect(pill).to_have_attribute("title", re.compile(r'sample: "Ada Lovelace"'))
    expect(page.locator("#field-config-message-preview")).to_have_text(
        "With the sample data: Order from Ada Lovelace"
    )
    page.screenshot(path=str(artifacts / f"data-pills-1366-{backend}.png"), full_page=False)
    page.locator("#panel").get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator("#panel .status")).to_contain_text("applied")
    expect(page.locator("#step-log .card-summary .pill")).to_be_visible()

    # When they test the transform step with a field mapped from the trigger
    page.locator("#step-transform").get_by_role("link", name="Transform").click()
    rows = page.locator("#panel [data-widget='keyvalue'] [data-row]")
    rows.nth(0).locator("input").nth(0).fill("who")
    rows.nth(0).locator("input").nth(1).fill("{{ trigger.customer.name }}")
    rows.nth(1).locator("input").nth(0).fill("vip")
    rows.nth(1).locator("input").nth(1).fill("{{ trigger.customer.vip }}")
    page.locator("#panel").get_by_role("button", name="Test this step").click()

    # Then the result is in view and focused: input and output side by side as typed trees,
    # with the time the step took and the next step one click away
    trial = page.locator("#trial")
    expect(trial).to_contain_text("Test result: Succeeded")
    expect(trial).to_be_focused()
    assert in_viewport(page, "#trial")
    output = page.locator("#trial-output")
    expect(output.locator(".dt-leaf", has_text="who")).to_contain_text("string")
    expect(output.locator(".dt-leaf", has_text="vip")).to_contain_text("boolean")
    expect(trial.locator(".trial-time")).to_have_text(re.compile(r"\d+ ms|\d+\.\d s"))
    expect(trial.locator(".sample-chip")).to_have_text(re.compile("Used as sample"))
    left = page.locator("#trial-input").bounding_box()
    right = output.bounding_box()
    assert left and right and right["x"] > left["x"] + left["width"] - 1  # side by side
    page.screenshot(path=str(artifacts / f"data-trial-1366-{backend}.png"), full_page=False)
    expect(page.locator("#trial-continue")).to_contain_text("Continue to step 2: Log")

    # When they test the whole workflow from the header
    page.locator("#test-workflow").click()

    # Then each card shows its result as it comes, and the run ends completed
    expect(page.locator("#test-run .test-run-status")).to_contain_text(
        "Test run completed: 2 of 2 steps done.", timeout=15_000
    )
    expect(page.locator("#run-result-transform")).to_contain_text("completed")
    expect(page.locator("#run-result-log")).to_contain_text("completed")
    page.locator("#run-result-log summary").click()
    expect(page.locator("#run-result-log .data-tree")).to_contain_text("Order from Ada Lovelace")
    page.screenshot(path=str(artifacts / f"data-test-run-1366-{backend}.png"), full_page=True)
    assert blocking_violations(page) == []

    # And at phone width nothing is wider than the screen
    # (the transform's panel is still open: under 900 px it is a drawer over the flow)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#panel h2")).to_contain_text("Transform")
    page.locator("#panel").get_by_role("button", name="Test this step").click()
    expect(page.locator("#trial")).to_be_focused()
    assert in_viewport(page, "#trial")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / f"data-trial-390-{backend}.png"), full_page=False)
    assert blocking_violations(page) == []
    # And with the drawer closed, the header's Test workflow and the cards' results fit too
    page.locator("#panel .panel-close").click()
    expect(page.locator("#panel h2")).to_have_text("Build your workflow")
    page.locator("#test-workflow").click()
    expect(page.locator("#test-run .test-run-status")).to_contain_text(
        "Test run completed", timeout=15_000
    )
    expect(page.locator("#run-result-log")).to_contain_text("completed")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / f"data-test-run-390-{backend}.png"), full_page=True)
