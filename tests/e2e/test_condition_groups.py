"""The condition builder's groups and two edits that survive a reload (Chromium): a filter
"(a AND b) OR c" built with "Add a group", no JSON typed; a step key typed but not applied and
half-typed "Edit as JSON" text come back after a reload. Screenshots of the grouped builder at
1366 and 390 px are kept as artifacts."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.test_editor_accessibility import blocking_violations
from tests.e2e.test_editor_drafts import add_step, register_and_create

PILL = "\u203a"  # the mark between a pill's step and field


def test_a_group_is_built_in_the_condition_builder(
    page: Page, live_server: str, artifacts: Path, backend: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    register_and_create(page, live_server, "groups@example.com")

    # Given a filter step with a first condition
    add_step(page, "Filter")
    panel = page.locator("#panel")
    builder = panel.locator("[data-widget=conditions]")
    panel.get_by_label("Value to check, condition 1").fill("{{ trigger.vip }}")
    panel.get_by_label("How to compare, condition 1").select_option("is_true")

    # When a group is added: any of (total > 100, country equals FR)
    expect(builder.locator("[data-group]")).to_have_count(0)  # (the page's own blank group)
    builder.get_by_role("button", name="Add a group").click()
    group = builder.locator("[data-group]")
    expect(group).to_have_count(1)
    expect(group.locator("input[type=text]").first).to_be_focused()
    group.locator("[data-group-match]").select_option("any")
    rows = group.locator("[data-row]")
    rows.nth(0).get_by_label("Value to check").fill("{{ trigger.total }}")
    rows.nth(0).get_by_label("How to compare").select_option("greater_than")
    rows.nth(0).get_by_label("Value to compare with").fill("100")
    # (a blank row follows the one being typed in, inside the group)
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_label("Value to check").fill("{{ trigger.country }}")
    rows.nth(1).get_by_label("Value to compare with").fill("FR")
    panel.get_by_label("Continue when").select_option("any")
    expect(builder).to_be_visible()
    builder.screenshot(path=str(artifacts / f"condition-group-1366-{backend}.png"))

    # And Apply is pressed
    panel.get_by_role("button", name="Apply", exact=True).click()
    expect(panel.locator(".status")).to_contain_text("applied")

    # Then the card reads the conditions in words (data as pills), the group in brackets
    card = page.locator("#step-filter")
    expect(card).to_contain_text(
        f"Trigger {PILL} vip is true or (Trigger {PILL} total is greater than 100 or"
    )

    # And after a reload the builder shows the group as built
    page.reload()
    group = page.locator("#panel [data-widget=conditions] [data-group]")
    expect(group).to_have_count(1)
    expect(group.locator("[data-group-match]")).to_have_value("any")
    expect(group.get_by_label("Value to compare with, group 2, condition 1")).to_have_value("100")
    expect(group.get_by_label("Value to check, group 2, condition 2")).to_have_value(
        "{{ trigger.country }}"
    )
    assert blocking_violations(page) == []

    # And at phone width it fits without scrolling sideways
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    builder = page.locator("#panel [data-widget=conditions]")
    builder.scroll_into_view_if_needed()
    builder.screenshot(path=str(artifacts / f"condition-group-390-{backend}.png"))

    # When the group is removed, the builder keeps the first condition only
    group.locator(".group-head [data-remove]").click()
    expect(page.locator("#panel [data-group]")).to_have_count(0)
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator("#step-filter")).to_contain_text(
        f"Continue only if Trigger {PILL} vip is true"
    )


def test_a_key_not_applied_and_json_being_typed_survive_a_reload(
    page: Page, live_server: str, backend: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    register_and_create(page, live_server, "reload@example.com")
    add_step(page, "Log")
    panel = page.locator("#panel")

    # When a key is typed (not applied) and the page reloaded
    panel.get_by_label(re.compile(r"^Key")).fill("say_hello")
    expect(panel.locator("[data-draft-note]")).to_contain_text("Kept in the draft")
    page.reload()

    # Then the typed key is still there, said to be not applied yet
    key = page.locator("#panel").get_by_label(re.compile(r"^Key"))
    expect(key).to_have_value("say_hello")
    expect(page.locator("#panel")).to_contain_text("Not applied yet")

    # When half-typed JSON is typed in "Edit as JSON" and the page reloaded
    page.locator("#panel").get_by_role("button", name="Edit as JSON").click()
    settings = page.locator("#panel").get_by_label("Settings as JSON")
    expect(settings).to_be_visible()
    # htmx binds the new panel's autosave once the swap has settled; a person is slower
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling')")
    settings.fill('{"message": "Hello", "level": ')
    expect(page.locator("#panel [data-draft-note]")).to_contain_text("Kept in the draft")
    page.reload()

    # Then the JSON view comes back with the text and its error beside it
    settings = page.locator("#panel").get_by_label("Settings as JSON")
    expect(settings).to_have_value('{"message": "Hello", "level": ')
    expect(page.locator("#field-config-json-error")).to_contain_text("This is not valid JSON")
    expect(page.locator("#panel").get_by_label(re.compile(r"^Key"))).to_have_value("say_hello")

    # When the JSON is finished and Apply pressed, the key and the settings are applied
    settings.fill('{"message": "Hello", "level": "info"}')
    page.locator("#panel").get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator("#panel .status")).to_contain_text("applied")
    expect(page.locator("#step-say_hello")).to_contain_text("Hello")
