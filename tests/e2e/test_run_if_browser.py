"""A step's "Run only if" built in the browser (Chromium): the collapsed section opens on the
filter's condition builder, Apply keeps the condition, the card says "Only if …", a reload
shows it again. Screenshots of the step panel at 1366 and 390 px are kept as artifacts."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.test_editor_accessibility import blocking_violations
from tests.e2e.test_editor_drafts import add_step, register_and_create

PILL = "\u203a"  # the mark between a pill's step and field
SETTLED = "() => !document.querySelector('.htmx-request, .htmx-settling')"


def test_a_run_if_condition_is_added_in_the_builder(
    page: Page, live_server: str, artifacts: Path, backend: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    register_and_create(page, live_server, "runif@example.com")
    add_step(page, "Log")
    panel = page.locator("#panel")
    panel.get_by_label("Message").fill("A big order")

    # When the user opens "Run only if…" (collapsed: no builder yet)
    section = panel.locator("#run-if")
    expect(section).not_to_have_attribute("open", "")
    section.locator("summary").click()

    # Then the condition builder is loaded into it
    left = panel.get_by_label("Value to check, run only if, condition 1")
    expect(left).to_be_visible()
    page.wait_for_function(SETTLED)

    # When a condition is typed (total greater than 100) and applied
    left.fill("{{ trigger.total }}")
    panel.get_by_label("How to compare, run only if, condition 1").select_option("greater_than")
    panel.get_by_label("Value to compare with, run only if, condition 1").fill("100")
    panel.get_by_label("Run this step when").select_option("all")
    panel.get_by_role("button", name="Apply", exact=True).click()
    expect(panel.locator(".status")).to_contain_text("applied")

    # Then the card says when the step runs
    card = page.locator("#step-log")
    expect(card.locator(".card-only-if")).to_contain_text(
        "Only if {{ trigger.total }} is greater than 100"
    )
    card.screenshot(path=str(artifacts / f"run-if-card-1366-{backend}.png"))
    # And the panel shows the section open with the condition, summed up on its summary
    section = page.locator("#panel #run-if")
    expect(section).to_have_attribute("open", "")
    expect(section.locator("summary")).to_contain_text("is greater than 100")
    section.screenshot(path=str(artifacts / f"run-if-1366-{backend}.png"))
    page.locator("#panel").screenshot(path=str(artifacts / f"run-if-panel-1366-{backend}.png"))

    # And after a reload the builder shows the condition as built
    page.reload()
    expect(
        page.locator("#panel").get_by_label("Value to compare with, run only if, condition 1")
    ).to_have_value("100")
    assert blocking_violations(page) == []

    # And at phone width it fits without scrolling sideways
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    section = page.locator("#panel #run-if")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(artifacts / f"run-if-390-{backend}.png"))
