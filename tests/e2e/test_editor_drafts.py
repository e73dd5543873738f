"""No edit is ever lost (Chromium): a refused Apply keeps every value with the error beside its
field in plain words, switching to another step and reloading the page lose nothing, typing
reaches the draft by itself, leaving asks first, and a save in another tab is announced.
Screenshots of the step panel at 1366 and 390 px are kept as artifacts."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Dialog, Page, Route, expect

from tests.conftest import PASSWORD
from tests.e2e.settling import click_settled
from tests.e2e.test_editor_accessibility import blocking_violations


def register_and_create(page: Page, live_server: str, email: str) -> None:
    page.goto(live_server + "/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("link", name="Create your first workflow").click()
    page.get_by_label("Name").fill("Never lose")
    page.get_by_role("button", name="Create and open the editor").click()
    expect(page.get_by_role("heading", name="Add a step")).to_be_visible()


def add_step(page: Page, kind: str) -> None:
    """Pick `kind` in the palette, opening it from the last "Add step" unless it is open
    already (a new workflow opens on it; under 900 px it is a drawer over the flow)."""
    palette = page.get_by_role("heading", name="Add a step")
    if not palette.is_visible():
        page.locator("#flow .add-step-button").last.click()
    expect(palette).to_be_visible()
    page.locator("#panel .palette").get_by_role("button", name=re.compile(rf"^{kind}")).click()
    expect(page.locator("#panel h2")).to_contain_text(kind)


def open_step(page: Page, key: str, title: str) -> None:
    page.locator(f"#step-{key} .card-title a").click()
    expect(page.locator("#panel h2")).to_have_text(title)


def expect_http_values(page: Page, url: str, from_draft: bool = True) -> None:
    panel = page.locator("#panel")
    expect(panel.get_by_label(re.compile(r"^URL"))).to_have_value(url)
    expect(panel.get_by_label(re.compile(r"^Method"))).to_have_value("POST")
    headers = panel.locator("#field-config-headers")
    expect(headers.get_by_label("Name, row 1")).to_have_value("X-Token")
    expect(headers.get_by_label("Value, row 1")).to_have_value("abc")
    expect(panel.locator("[data-body-type][value=json]")).to_be_checked()
    if not from_draft:  # as typed, after a refused Apply
        expect(panel.locator("[data-body-text]")).to_have_value(
            re.compile(r'^\{\s*"order": 1\s*\}$')
        )
        return
    # back from the draft, a flat JSON object reads as the body's fields
    body = panel.locator("#field-config-body [data-body-pane=form]")
    expect(body.get_by_label("Name, row 1")).to_have_value("order")
    expect(body.get_by_label("Value, row 1")).to_have_value("1")
    expect(panel.locator("[data-body-text]")).to_have_value("")


def test_a_refused_apply_a_step_switch_and_a_reload_lose_nothing(
    page: Page, live_server: str, artifacts: Path, backend: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    register_and_create(page, live_server, "drafts@example.com")

    # Given an HTTP request step, filled in with a URL that is not a web address
    add_step(page, "HTTP request")
    panel = page.locator("#panel")
    # (authentication fields show once an authentication is chosen)
    token = panel.get_by_label("Auth token")
    expect(token).to_be_hidden()
    panel.get_by_label("Auth type").select_option("bearer")
    expect(token).to_be_visible()
    panel.get_by_label("Auth type").select_option("none")
    expect(token).to_be_hidden()
    panel.get_by_label(re.compile(r"^Method")).select_option("POST")
    panel.get_by_label(re.compile(r"^URL")).fill("ftp://example.com/orders")
    headers = panel.locator("#field-config-headers")
    headers.get_by_label("Name, row 1").fill("X-Token")
    headers.get_by_label("Value, row 1").fill("abc")
    # (a second blank row appears as soon as the first one is used)
    expect(headers.get_by_label("Name, row 2")).to_have_count(0)
    expect(headers.locator("[data-row]")).to_have_count(2)

    # When a JSON body is typed, the body type chooses itself and the JSON is checked
    body = panel.locator("[data-body-text]")
    body.fill('{"order": ')
    expect(panel.locator("[data-body-type][value=json]")).to_be_checked()
    expect(panel.locator("[data-json-status]")).to_contain_text("Not valid JSON yet")
    body.fill('{"order": 1}')
    expect(panel.locator("[data-json-status]")).to_have_text("Valid JSON")

    # And Apply is refused
    panel.get_by_role("button", name="Apply", exact=True).click()

    # Then the error sits beside the URL in plain words, and every value is still there
    error = panel.locator("#field-config-url-error")
    expect(error).to_have_text("Enter a full web address, starting with https:// (or http://).")
    expect(panel.locator("#field-config-url")).to_have_attribute("aria-invalid", "true")
    expect(panel.locator(".form-error")).not_to_contain_text("Value error")
    expect_http_values(page, "ftp://example.com/orders", from_draft=False)
    page.screenshot(path=str(artifacts / f"panel-refused-1366-{backend}.png"), full_page=True)
    assert blocking_violations(page) == []

    # When another step is added and opened, then the HTTP step again
    add_step(page, "Log")
    open_step(page, "http_request", "Step 1: HTTP request")

    # Then nothing was lost
    expect_http_values(page, "ftp://example.com/orders")

    # When the URL is corrected and the page reloaded without pressing Apply
    panel.get_by_label(re.compile(r"^URL")).fill("https://example.com/orders")
    expect(panel.locator("[data-draft-note]")).to_contain_text("Kept in the draft")
    page.reload()

    # Then the typed value came back from the draft
    expect_http_values(page, "https://example.com/orders")

    # And leaving the page with unsaved changes asks first
    asked: list[str] = []

    def stay(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.get_by_role("link", name="Workflows", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/workflows/\d+"))
    assert asked == ["beforeunload"]


def test_the_condition_builder_and_a_save_in_another_tab(
    page: Page, live_server: str, artifacts: Path, backend: str
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    register_and_create(page, live_server, "tabs@example.com")

    # Given a filter step: its builder speaks in words; "is empty" has no right side
    add_step(page, "Filter")
    panel = page.locator("#panel")
    operator = panel.get_by_label("How to compare, condition 1")
    expect(operator.locator("option[value=not_equals]")).to_have_text("is not equal to")
    panel.get_by_label("Value to check, condition 1").fill("{{ trigger.email }}")
    operator.select_option("is_empty")
    expect(panel.get_by_label("Value to compare with, condition 1")).to_be_hidden()
    operator.select_option("greater_than")
    panel.get_by_label("Value to compare with, condition 1").fill("10")
    panel.get_by_label("Continue when").select_option("any")
    panel.get_by_role("button", name="Add a condition").click()
    expect(panel.locator("[data-widget=conditions] [data-row]")).to_have_count(2)
    panel.get_by_role("button", name="Apply", exact=True).click()
    expect(panel.locator(".status")).to_contain_text("applied")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / f"panel-filter-390-{backend}.png"), full_page=True)
    assert blocking_violations(page) == []

    # When another tab saves the workflow
    other = page.context.new_page()
    other.goto(page.url)
    click_settled(other.get_by_role("button", name="Save", exact=True))
    expect(other.locator("#editor-toolbar")).to_contain_text("Saved as version 2.")
    other.close()

    # Then this tab says so when it gets the focus back, and offers to reload
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    notice = page.locator("#saved-elsewhere")
    expect(notice).to_contain_text("Saved in another tab (version 2)")
    notice.get_by_role("button", name="Reload").click()
    expect(page.locator("#saved-elsewhere")).to_have_count(0)
    expect(page.locator("#editor-toolbar")).to_contain_text("Version 2")


def test_an_apply_is_not_cancelled_by_the_autosave_of_the_last_change(
    page: Page, live_server: str, backend: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    register_and_create(page, live_server, "race@example.com")
    add_step(page, "Filter")
    panel = page.locator("#panel")
    page.evaluate(
        """document.body.addEventListener("htmx:trigger", function (event) {
             if (event.target.hasAttribute("data-autosave")) { window.autosaveFired = true; }
           });"""
    )
    # Given an Apply whose answer is slow: it is held until the autosave of the last change fires
    held: list[Route] = []
    page.route(re.compile(r"/steps/filter$"), lambda route: held.append(route))
    panel.get_by_label("Value to check, condition 1").fill("{{ trigger.email }}")
    panel.get_by_role("button", name="Apply", exact=True).click()
    page.wait_for_function("() => window.autosaveFired === true")
    assert len(held) == 1
    held[0].continue_()

    # Then the Apply still lands: the autosave waited behind it instead of cancelling it
    expect(panel.locator(".status")).to_contain_text("applied")
    expect(panel.get_by_label("Value to check, condition 1")).to_have_value("{{ trigger.email }}")
