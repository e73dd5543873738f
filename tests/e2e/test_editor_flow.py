"""A new user in Chromium builds a workflow in the editor: register, create it, give the trigger
sample data, add transform, filter and log steps, map a trigger field with the picker, reorder
by dragging and by keyboard, test a step, save, Run now, and see the execution complete."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import ExecutionStep
from tests.conftest import PASSWORD
from tests.e2e.settling import click_settled
from tests.e2e.test_editor_accessibility import blocking_violations
from tests.e2e.test_editor_drafts import add_step as pick
from tests.e2e.test_editor_drafts import register_and_create
from tests.integration.editor_support import wait_for_final

SAMPLE = '{"customer": "Ada Lovelace", "total": 42}'


def step_keys(page: Page) -> list[str]:
    return list(page.locator("#flow .flow-step").evaluate_all("els => els.map(e => e.dataset.key)"))


def expect_order(page: Page, keys: list[str]) -> None:
    expect(page.locator("#flow .flow-step")).to_have_count(len(keys))
    for index, key in enumerate(keys):
        expect(page.locator("#flow .flow-step").nth(index)).to_have_attribute("data-key", key)


def add_step(page: Page, kind: str) -> None:
    """Open the palette from the last "Add step" and pick `kind`; wait for its panel and for
    the flow to show the new card."""
    steps = page.locator("#flow .flow-step")
    count = steps.count()
    page.locator("#flow .add-step-button").last.click()
    expect(page.get_by_role("heading", name="Add a step")).to_be_visible()
    page.locator("#panel .palette").get_by_role("button", name=re.compile(rf"^{kind}")).click()
    expect(page.locator("#panel h2")).to_contain_text(kind)
    expect(steps).to_have_count(count + 1)


def apply_panel(page: Page) -> None:
    page.locator("#panel").get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator("#panel .status")).to_contain_text("applied")


def drag(page: Page, handle: Locator, target: Locator, above: bool) -> None:
    """Press the handle, move in small steps to just above (or below) the target, release."""
    expect(handle).to_be_visible()
    expect(target).to_be_visible()
    start = handle.bounding_box()
    box = target.bounding_box()
    assert start and box
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    y = box["y"] + (box["height"] * 0.25 if above else box["height"] * 0.75)
    page.mouse.move(start["x"] + start["width"] / 2, y, steps=12)
    page.mouse.up()


def test_a_new_user_builds_tests_saves_and_runs_a_workflow(
    page: Page, live_server: str, app: Flask, artifacts: Path, backend: str
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})

    # Given a new user, registered through the site
    page.goto(live_server + "/register")
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    # When they create a workflow from the empty Workflows page
    page.get_by_role("link", name="Create your first workflow").click()
    page.get_by_label("Name").fill("Order intake")
    page.get_by_role("button", name="Create and open the editor").click()

    # Then the editor opens on the palette, the manual trigger on top
    expect(page.get_by_role("heading", name="Order intake", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Add a step")).to_be_visible()

    # When they give the trigger sample data
    page.locator("#trigger-card").get_by_role("link", name="Manual").click()
    page.get_by_label("Sample data (JSON)").fill(SAMPLE)
    apply_panel(page)
    expect(page.locator("#trigger-card")).to_contain_text("Sample data: 2 fields")

    # And add a transform, a filter and a log step, configuring each in its panel
    add_step(page, "Transform")
    page.get_by_label("Name, row 1").fill("who")
    value = page.get_by_label("Value, row 1")
    value.focus()
    page.get_by_role("button", name="Insert data into Fields").click()
    page.locator('#picker [data-insert="{{ trigger.customer }}"]').click()
    # (a key/value row's value is text: the picker inserts the template itself)
    expect(value).to_have_value("{{ trigger.customer }}")
    apply_panel(page)
    add_step(page, "Filter")
    page.get_by_label("Value to check, condition 1").fill("{{ trigger.total }}")
    page.get_by_label("How to compare, condition 1").select_option("greater_than")
    page.get_by_label("Value to compare with, condition 1").fill("10")
    apply_panel(page)
    add_step(page, "Log")
    message = page.get_by_label(re.compile(r"^Message"))
    message.fill("New order from ")

    # And map a trigger field into the log message with the data picker
    page.get_by_role("button", name="Insert data into Message").click()
    picker = page.locator("#picker")
    expect(picker).to_have_attribute("open", "")
    picker.locator('[data-insert="{{ trigger.customer }}"]').click()
    expect(message).to_have_value("New order from {{ trigger.customer }}")
    expect(message).to_be_focused()
    apply_panel(page)
    expect_order(page, ["transform", "filter", "log"])
    expect(page.locator("#step-log .card-summary")).to_have_text(
        "Log “New order from Trigger \u203a customer”"
    )

    # When they drag the log card above the filter
    drag(
        page, page.locator("#step-log .drag-handle"), page.locator("#step-filter .flow-card"), True
    )

    # Then the order changes on the page and on the server
    expect_order(page, ["transform", "log", "filter"])

    # When they move it back down with the keyboard, from the card's menu
    page.locator("#menu-log summary").focus()
    page.keyboard.press("Enter")
    page.locator("#move-down-log").focus()
    page.keyboard.press("Enter")

    # Then it moves, focus stays on the button, and the move is announced
    expect_order(page, ["transform", "filter", "log"])
    expect(page.locator("#move-down-log")).to_be_focused()
    expect(page.locator("#announce")).to_have_text("Moved “Log” to position 3 of 3.")
    page.screenshot(path=str(artifacts / f"editor-built-{backend}.png"), full_page=True)

    # When they test the transform step
    page.locator("#step-transform").get_by_role("link", name="Transform").click()
    expect(page.locator("#panel h2")).to_have_text("Step 1: Transform")
    page.locator("#panel").get_by_role("button", name="Test this step").click()

    # Then the panel shows the rendered input and the output, and the card is marked tested
    trial = page.locator("#trial")
    expect(trial).to_contain_text("Succeeded")
    expect(trial.locator("#trial-output .dt-leaf", has_text="who")).to_contain_text("Ada Lovelace")
    expect(page.locator("#step-transform")).to_contain_text("Tested")
    page.screenshot(path=str(artifacts / f"editor-tested-{backend}.png"), full_page=True)

    # When they save
    expect(page.locator("#editor-toolbar")).to_contain_text("Unsaved changes")
    click_settled(page.get_by_role("button", name="Save", exact=True))

    # Then a version is saved
    expect(page.locator("#editor-toolbar")).to_contain_text("Saved as version 2.")
    expect(page.locator("#editor-toolbar")).to_contain_text("All changes saved")

    # When they run it now with the saved sample data
    payload = page.get_by_label("Trigger data (JSON, optional)")
    expect(payload).to_have_value(re.compile(r'"customer": "Ada Lovelace"'))
    page.locator("#run-now summary").click()
    expect(payload).to_be_visible()
    page.locator("#run-submit").click()

    # Then they land on the execution, which completes
    page.wait_for_url(re.compile(r"/executions/\d+$"))
    execution_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".execution-status[data-status='completed']")).to_be_visible(timeout=20_000)
    page.screenshot(path=str(artifacts / f"editor-execution-{backend}.png"), full_page=True)
    execution = wait_for_final(app, execution_id)
    assert execution.status == "completed"
    with app.app_context():
        outputs: dict[str, Any] = dict(
            db.session.execute(
                select(ExecutionStep.action_key, ExecutionStep.output).where(
                    ExecutionStep.execution_id == execution_id
                )
            ).all()
        )
    assert outputs["log"] == {"message": "New order from Ada Lovelace", "level": "info"}

    # And the Workflows page shows the run
    page.goto(live_server + "/workflows")
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Order intake")
    expect(row).to_contain_text("Completed")


def test_the_editor_reads_well_at_phone_width(
    page: Page, live_server: str, artifacts: Path, backend: str
) -> None:
    # Given a phone-sized screen and a workflow with two steps
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/register")
    page.get_by_label("Email").fill("phone@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("link", name="Create your first workflow").click()
    page.get_by_label("Name").fill("On the go")
    page.get_by_role("button", name="Create and open the editor").click()
    page.locator("#panel .palette").get_by_role("button", name=re.compile(r"^Transform")).click()
    expect(page.locator("#flow .flow-step")).to_have_count(1)
    page.locator("#panel .panel-close").click()  # the drawer covers the flow: close it
    add_step(page, "Log")

    # Then nothing is wider than the screen, and the open panel is a full-height drawer
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    panel = page.locator("#panel").bounding_box()
    assert panel and panel["y"] <= 1 and panel["height"] >= 843 and panel["width"] <= 390
    page.screenshot(path=str(artifacts / f"editor-phone-{backend}.png"), full_page=True)
    page.goto(live_server + "/workflows")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / f"workflows-phone-{backend}.png"), full_page=True)


def test_a_loop_holding_a_paths_step_with_two_branches_is_built_by_clicking(
    page: Page, live_server: str, artifacts: Path, backend: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    register_and_create(page, live_server, "loops@example.com")
    panel = page.locator("#panel")
    clicks = 0

    # Given trigger sample data with a list of orders
    page.locator("#trigger-card .card-title a").click()
    panel.get_by_label("Sample data").fill('{"orders": [{"id": 7, "total": 120}]}')
    panel.get_by_role("button", name="Apply", exact=True).click()
    expect(panel.locator(".status")).to_contain_text("applied")

    # When the user adds a loop over the orders (palette, "Flow" group)
    page.locator("#flow .add-step-button").last.click()
    expect(panel.locator(".palette-category", has_text="Flow")).to_be_visible()
    pick(page, "Loop")
    clicks += 2
    panel.get_by_label(re.compile(r"^Items")).fill("{{ trigger.orders }}")
    apply_panel(page)
    loop_body = page.locator("#step-loop .loop-body")
    expect(loop_body.locator(".loop-head")).to_contain_text("For each item in {{ trigger.orders }}")

    # And a paths step inside the loop's body ("Add step here")
    loop_body.get_by_role("link", name=re.compile("Add step here")).click()
    expect(panel.get_by_text("in the loop “Loop”")).to_be_visible()
    pick(page, "Paths")
    clicks += 2
    lanes = page.locator("#step-paths .lanes")
    expect(lanes.locator(".lane")).to_have_count(3)  # Path A, Path B, Otherwise

    # And gives branch A a condition on the item, picked from `loop.item` in the picker
    lanes.get_by_role("link", name="Path A").click()
    clicks += 1
    expect(panel.locator("#panel-title")).to_have_text("Branch: Path A")
    panel.get_by_label("Branch name").fill("Big order")
    left = panel.get_by_label("Value to check, branch condition, condition 1")
    left.click()
    panel.locator(".picker-toggle").first.click()
    picker = page.locator("#picker")
    expect(picker).to_contain_text("Loop: Loop")
    picker.locator(".picker-item", has_text="item.total").click()
    expect(left).to_have_value("{{ loop.item.total }}")
    panel.get_by_label("How to compare, branch condition, condition 1").select_option(
        "greater_than"
    )
    panel.get_by_label("Value to compare with, branch condition, condition 1").fill("100")
    panel.get_by_role("button", name="Apply", exact=True).click()
    clicks += 4
    expect(panel.locator(".status")).to_contain_text("Branch applied")
    expect(lanes.locator(".lane-title").first).to_have_text("Big order")
    expect(lanes.locator(".lane-condition").first).to_contain_text("is greater than 100")

    # And adds a log step in branch B
    page.locator("#lane-paths-b").get_by_role("link", name=re.compile("Add step here")).click()
    expect(panel.get_by_text("in branch “Path B” of “Paths”")).to_be_visible()
    pick(page, "Log")
    clicks += 2
    expect(page.locator("#lane-paths-b #step-log")).to_be_visible()

    # Then the tree reads loop → paths → two branches and "Otherwise", with no serious
    # accessibility violation, in about a dozen clicks
    expect(page.locator("#step-loop .loop-body #step-paths")).to_be_visible()
    assert clicks <= 14
    assert blocking_violations(page) == []
    page.locator("#flow").screenshot(path=str(artifacts / f"flow-loop-paths-1366-{backend}.png"))
    page.screenshot(path=str(artifacts / f"editor-loop-paths-1366-{backend}.png"), full_page=True)

    # When, by keyboard only, the log moves out of branch B (its card menu, "Move out of …")
    menu = page.locator("#step-log .card-menu summary")
    menu.focus()
    page.keyboard.press("Enter")
    out = page.locator("#move-out-log")
    expect(out).to_be_visible()
    out.focus()
    page.keyboard.press("Enter")

    # Then it runs before the paths step, in the loop's body; the focus stays on the control
    expect(page.locator("#step-loop .loop-body > .flow-steps > #step-log")).to_be_visible()
    expect(page.locator("#lane-paths-b #step-log")).to_have_count(0)
    expect(out).to_be_focused()  # the menu stays open on it: one more Enter goes out again
    expect(out).to_contain_text("Move out of “Loop”")
    expect(page.locator("#announce")).to_contain_text("Moved “Log” to position 1 of 2")

    # And the paths step's panel offers its mode in words and lists its branches
    page.locator("#step-paths .card-title a").click()
    expect(panel.locator("#panel-title")).to_have_text("Step 1.2: Paths")
    expect(panel.get_by_label(re.compile("^Mode"))).to_contain_text(
        "The first branch whose condition holds"
    )
    expect(panel.locator(".branch-list")).to_contain_text("Big order")
    panel.screenshot(path=str(artifacts / f"panel-paths-1366-{backend}.png"))

    # And on a phone the lanes stack under each other
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.url.split("?")[0])
    first, second = (
        page.locator("#step-paths .lane").nth(0),
        page.locator("#step-paths .lane").nth(1),
    )
    one, two = first.bounding_box(), second.bounding_box()
    assert one and two and two["y"] > one["y"] + one["height"] - 1
    page.screenshot(path=str(artifacts / f"editor-loop-paths-390-{backend}.png"), full_page=True)
    # And the branch panel is a drawer there, with the condition builder
    page.locator("#step-paths .lane-title a").first.click()
    expect(panel.locator("#panel-title")).to_have_text("Branch: Big order")
    page.screenshot(path=str(artifacts / f"panel-branch-390-{backend}.png"))
