"""The editor's regions that refresh themselves (the toolbar, the flow) never let a refresh undo
a newer answer (Chromium, static/js/regions.js).

Each race test holds the region's refresh, and answers it from the server just before the
user's request reaches it: the worst order. Before regions.js, the refresh took the region's
place and the request's own answer, aimed at the region replaced, was lost (CI met it for the
toolbar: "Unsaved changes" after a done save). Screenshots at 1366 and 390 px."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import APIResponse, Error, Page, Route, expect

from tests.e2e.test_editor_publish import no_sideways_scroll, register
from tests.e2e.test_editor_stale_save import EMAIL, SETTLED, _workflow


def _open_editor(app: Flask, page: Page, live_server: str) -> None:
    """Ada's editor on "Orders" (Shape, Only paid, Log), saved as version 1."""
    register(page, live_server, EMAIL)
    workflow_id = _workflow(app)
    page.goto(f"{live_server}/workflows/{workflow_id}")
    expect(page.locator("#editor-toolbar")).to_contain_text("All changes saved")


def _hold_refreshes(page: Page, region: str, request: str) -> list[Route]:
    """Hold the refreshes of `region` (a URL ending), and answer them from the server when a
    request whose URL ends with `request` comes, just before it goes on."""
    held: list[Route] = []
    page.route(re.compile(rf"/{region}$"), lambda route: held.append(route))

    def refresh_first(route: Route) -> None:
        for refresh in held:
            answer = refresh.fetch()  # the draft as it is before `request`
            try:
                refresh.fulfill(response=answer)
            except Error:
                pass  # the page aborted it
        route.continue_()

    page.route(re.compile(rf"/{request}$"), refresh_first)
    return held


def _screenshots(page: Page, artifacts: Path, name: str) -> None:
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / f"{name}-{width}.png"))


def _disable_the_log_step(page: Page) -> None:
    page.locator("#menu-log summary").click()
    page.locator("#enable-log").click()
    expect(page.locator("#step-log")).to_contain_text("Disabled")


def test_a_save_right_after_a_change_is_not_undone_by_the_toolbars_refresh(
    app: Flask, page: Page, live_server: str, artifacts: Path
) -> None:
    _open_editor(app, page, live_server)
    toolbar = page.locator("#editor-toolbar")
    held = _hold_refreshes(page, "toolbar", "save")

    # Given a change (the log step disabled), whose toolbar refresh is out
    with page.expect_request(re.compile(r"/toolbar$")):
        _disable_the_log_step(page)

    # When she presses Save at once
    page.locator("#save-workflow").click()
    page.wait_for_function(SETTLED)

    # Then the toolbar says saved, and stays so
    expect(toolbar).to_contain_text("Saved as version 2.")
    expect(toolbar).to_contain_text("All changes saved")
    assert held, "the toolbar's refresh was not held: the test did not set up the race"
    _screenshots(page, artifacts, "editor-saved-after-change")
    page.reload()
    expect(toolbar).to_contain_text("Version 2")
    expect(toolbar).to_contain_text("All changes saved")


def test_a_duplicate_right_after_an_apply_is_not_undone_by_the_flows_refresh(
    app: Flask, page: Page, live_server: str, artifacts: Path
) -> None:
    _open_editor(app, page, live_server)
    steps = page.locator("#flow .flow-step")
    expect(steps).to_have_count(3)
    held = _hold_refreshes(page, "flow", "duplicate")

    # Given the first step renamed in its panel, the flow's refresh out
    page.locator("#step-shape .card-title a").click()
    page.locator("#panel").get_by_label("Name", exact=True).fill("Shape it")
    with page.expect_request(re.compile(r"/flow$")):
        page.locator("#panel").get_by_role("button", name="Apply", exact=True).click()

    # When she duplicates the log step at once
    page.locator("#menu-log summary").click()
    page.locator("#duplicate-log").click()
    page.wait_for_function(SETTLED)

    # Then the flow shows the copy, and the rename
    expect(steps).to_have_count(4)
    expect(page.locator("#flow")).to_contain_text("Shape it")
    assert held, "the flow's refresh was not held: the test did not set up the race"
    _screenshots(page, artifacts, "editor-duplicated-after-apply")
    page.reload()
    expect(steps).to_have_count(4)


def test_a_change_made_while_a_saves_answer_is_out_still_shows_as_unsaved(
    app: Flask, page: Page, live_server: str
) -> None:
    """The other side: a refresh asked for while Save's answer is out waits for that answer,
    then goes (it may tell of a change the save did not see), rather than being dropped."""
    _open_editor(app, page, live_server)
    toolbar = page.locator("#editor-toolbar")
    _disable_the_log_step(page)
    expect(toolbar).to_contain_text("Unsaved changes")
    held: list[tuple[Route, APIResponse]] = []

    def save_now_answer_later(route: Route) -> None:
        held.append((route, route.fetch()))  # saved as version 2 at the server
        page.evaluate("window.savedAtTheServer = true")

    page.route(re.compile(r"/save$"), save_now_answer_later)

    # Given a Save done at the server, its answer not yet back
    page.locator("#save-workflow").click()
    page.wait_for_function("() => window.savedAtTheServer === true")
    # When she changes the draft meanwhile (the log step enabled again)
    page.locator("#menu-log summary").click()
    page.locator("#enable-log").click()
    expect(page.locator("#step-log")).not_to_contain_text("Disabled")
    # And the Save's answer arrives after that change's
    (save, answer), *_ = held
    save.fulfill(response=answer)
    page.wait_for_function(SETTLED)

    # Then the toolbar ends saying the draft differs from version 2
    expect(toolbar).to_contain_text("Version 2")
    expect(toolbar).to_contain_text("Unsaved changes")
