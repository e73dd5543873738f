"""The must-show walk of issue 20, in Chromium: a new account builds, by clicking, webhook → loop
over `{{ trigger.body.items }}` → (transform, HTTP request to a local fake server) → paths with
two branches by a condition on the loop's count → a log in each; saves it, switches it on, sends
three items to the webhook URL and reads the run on the execution page: the branch taken and why
(its condition with the value it saw), the loop's "3 items · 3 completed", an iteration unfolded
with its two steps. No JSON is typed but the request the test sends. The fake server got one
request per item with the mapped values. Screenshots at 1366 and 390 px are saved under
test-artifacts/flow-walk/<backend>/; axe finds no serious or critical violation on the run's page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.settling import select_settled
from tests.e2e.test_build_without_json import kept_in_draft, map_field, post_json, row_inputs
from tests.e2e.test_editor_accessibility import blocking_violations
from tests.e2e.test_editor_drafts import add_step as pick
from tests.e2e.test_editor_flow import apply_panel
from tests.fakes.http import FakeServer, Reply
from tests.integration.editor_support import wait_for_final

SAMPLE = {"items": [{"sku": "A-1", "qty": 2}]}
DUPLICATE_IDS = """() => { const ids = Array.from(document.querySelectorAll("[id]"), (e) => e.id);
  return ids.filter((id, i) => ids.indexOf(id) !== i); }"""
ITEMS = [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}, {"sku": "C-3", "qty": 5}]


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    # The HTTP step calls the fake server on 127.0.0.1, which the SSRF guard refuses by default.
    return {**app_config, "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"]}


@pytest.fixture
def stock() -> Iterator[FakeServer]:
    with FakeServer() as server:
        server.on("POST", "/reserve", Reply.json({"reserved": True}, status=201))
        yield server


def add_here(page: Page, where: Locator, kind: str, context: str) -> None:
    """The last "Add step" of a loop's body or a branch's lane ("Add step here" while it is
    empty): the palette says where the step goes (`context`); pick `kind`."""
    where.get_by_role("link", name=re.compile(r"^Add step")).last.click()
    expect(page.locator("#panel").get_by_text(context)).to_be_visible()
    pick(page, kind)


def set_branch(page: Page, lane: str, name: str, operator: str, right: str) -> None:
    """Name a branch and give it a condition on the loop's count, in its panel."""
    panel = page.locator("#panel")
    page.locator("#step-paths .lanes").get_by_role("link", name=lane, exact=True).click()
    expect(panel.locator("#panel-title")).to_have_text(f"Branch: {lane}")
    panel.get_by_label("Branch name").fill(name)
    where = "branch condition, condition 1"
    panel.get_by_label(f"Value to check, {where}").fill("{{ steps.loop.count }}")
    panel.get_by_label(f"How to compare, {where}").select_option(operator)
    panel.get_by_label(f"Value to compare with, {where}").fill(right)
    panel.get_by_role("button", name="Apply", exact=True).click()
    expect(panel.locator(".status")).to_contain_text("Branch applied")


def test_a_loop_and_paths_are_built_run_and_read_on_the_execution_page(
    page: Page, live_server: str, app: Flask, stock: FakeServer, artifacts: Path, backend: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    folder = artifacts / "flow-walk" / backend
    folder.mkdir(parents=True, exist_ok=True)
    panel = page.locator("#panel")

    # Given a new account and a new workflow
    page.goto(live_server + "/register")
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("link", name="Create your first workflow").click()
    page.get_by_label("Name").fill("Reserve stock")
    page.get_by_role("button", name="Create and open the editor").click()
    expect(page.get_by_role("heading", name="Reserve stock", level=1)).to_be_visible()

    # And a webhook trigger whose test request (one item) becomes the sample data
    page.locator("#trigger-card").get_by_role("link", name="Manual").click()
    expect(panel.locator("h2")).to_have_text("Trigger")
    select_settled(panel.get_by_label("Kind", exact=True), "webhook")
    expect(panel.locator("#webhook")).to_be_visible()
    apply_panel(page)
    page.locator("#save-workflow").click()
    expect(page.locator("#editor-toolbar")).to_contain_text("All changes saved")
    expect(panel.locator("#webhook-listen")).to_be_visible()  # the saved trigger's panel
    panel.locator("#webhook-listen").click()
    expect(panel.locator("#webhook .listening")).to_be_visible()
    assert post_json(panel.locator("#webhook-test-url").input_value(), SAMPLE) in (200, 202)
    expect(panel.locator(".status")).to_contain_text("A test request arrived.")
    expect(page.locator("#trigger-card")).to_contain_text(re.compile(r"Sample data: \d+ fields"))

    # When they add a loop over the request's items, picked with the data picker
    page.locator("#flow .add-step-button").last.click()
    pick(page, "Loop")
    items = panel.get_by_label(re.compile(r"^Items"))
    # (the field takes JSON, so `{{` does not open the picker: its button does, and inserts
    # the template as a JSON string)
    items.click()
    panel.get_by_role("button", name="Insert data into Items").click()
    page.locator('#picker [data-insert="{{ trigger.body.items }}"]').click()
    expect(items).to_have_value('"{{ trigger.body.items }}"')  # a JSON string
    apply_panel(page)
    body = page.locator("#step-loop .loop-body")
    expect(body.locator(".loop-head")).to_contain_text("For each item in {{ trigger.body.items }}")

    # And, in its body, a transform mapping the item's fields (`loop.item` in the picker)
    add_here(page, body, "Transform", "in the loop “Loop”")
    for n, (name, search) in enumerate((("sku", "item sku"), ("qty", "item qty"))):
        row_inputs(panel, "keyvalue", n).nth(0).fill(name)
        map_field(row_inputs(panel, "keyvalue", n).nth(1), search, page)
    expect(row_inputs(panel, "keyvalue", 0).nth(1)).to_have_value("{{ loop.item.sku }}")
    expect(row_inputs(panel, "keyvalue", 1).nth(1)).to_have_value("{{ loop.item.qty }}")
    apply_panel(page)
    # (tested on the sample's first item, its output's fields are offered to later steps)
    panel.get_by_role("button", name="Test this step").click()
    expect(page.locator("#trial-output")).to_contain_text("A-1")

    # And an HTTP request after it, posting the transform's fields and the item's index
    add_here(page, body, "HTTP", "in the loop “Loop”")
    panel.get_by_label("Method").select_option("POST")
    panel.get_by_label(re.compile(r"^URL")).fill(stock.url("/reserve"))
    panel.locator("[data-body-type][value='json']").click()
    fields = panel.locator("[data-widget='body'] [data-body-pane='form'] [data-row]")
    for n, (name, search, value) in enumerate(
        (
            ("sku", "transform sku", "{{ steps.transform.sku }}"),
            ("qty", "transform qty", "{{ steps.transform.qty }}"),
            ("index", "loop index", "{{ loop.index }}"),
        )
    ):
        fields.nth(n).locator("input").nth(0).fill(name)
        with page.expect_response(kept_in_draft):
            map_field(fields.nth(n).locator("input").nth(1), search, page)
        expect(fields.nth(n).locator("input").nth(1)).to_have_value(value)
    # (rows added by the widget have ids of their own: the picker fills the row it was opened on)
    assert page.evaluate(DUPLICATE_IDS) == []
    apply_panel(page)
    expect(body.locator(".flow-step")).to_have_count(2)

    # And, after the loop, paths with two branches on the loop's count, a log in each
    page.locator("#flow .add-step-button").last.click()
    pick(page, "Paths")
    lanes = page.locator("#step-paths .lanes")
    expect(lanes.locator(".lane")).to_have_count(3)  # Path A, Path B, Otherwise
    set_branch(page, "Path A", "Big batch", "greater_than", "2")
    set_branch(page, "Path B", "Small batch", "less_than", "3")
    expect(lanes.locator(".lane-condition").first).to_contain_text("is greater than 2")
    for lane, name in (("a", "Big batch"), ("b", "Small batch")):
        where = f"in branch “{name}” of “Paths”"
        add_here(page, page.locator(f"#lane-paths-{lane}"), "Log", where)
        message = panel.get_by_label(re.compile(r"^Message"))
        message.fill(name + " of {{ steps.loop.count }} items")
        apply_panel(page)
    expect(page.locator("#lane-paths-a #step-log")).to_be_visible()
    expect(page.locator("#lane-paths-b #step-log_2")).to_be_visible()
    page.screenshot(path=str(folder / "01-built-1366.png"), full_page=True)

    # And save it and switch it on
    page.locator("#save-workflow").click()
    expect(page.locator("#editor-toolbar")).to_contain_text("All changes saved")
    page.locator("#active-switch").click()
    expect(page.locator("#active-switch")).to_have_attribute("aria-checked", "true")

    # When three items are sent to the webhook URL
    webhook_url = page.locator("#header-webhook-url").input_value()
    assert post_json(webhook_url, {"items": ITEMS}) in (200, 202)

    # Then the run completes
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Executions").click()
    row = page.locator("tr.execution-row").first
    expect(row).to_contain_text("Reserve stock")
    expect(row).to_contain_text(re.compile("completed", re.I), timeout=20_000)
    href = row.get_by_role("link").first.get_attribute("href")
    assert href and re.search(r"/executions/\d+$", href)
    assert wait_for_final(app, int(href.rsplit("/", 1)[1])).status == "completed"

    # And the fake server got one request per item, in order, with the mapped values
    sent = [request.json() for request in stock.requests]
    assert sent == [
        {"sku": item["sku"], "qty": item["qty"], "index": index} for index, item in enumerate(ITEMS)
    ]

    # When they open the run
    page.goto(live_server + href)
    expect(page.locator(".execution-status[data-status='completed']")).to_be_visible()

    # Then the paths step says which branch it took, and why: its condition with the value seen
    expect(page.locator(".branch-taken")).to_have_text(
        "Took “Big batch” (a): steps.loop.count (= 3) is greater than 2"
    )
    expect(page.locator(".branch-not-taken[data-branch='b']")).to_contain_text("Small batch")
    branch = page.get_by_role("region", name="Branch Big batch")
    expect(branch.locator('[data-address="2/a/1"]')).to_contain_text("Completed")
    expect(page.locator('[data-address="2/b/1"]')).to_have_count(0)

    # And the loop counts its items; the iterations are folded, one unfolds on a click
    expect(page.locator(".loop-summary")).to_have_text("3 items · 3 completed")
    iterations = page.get_by_role("list", name="Iterations of Loop")
    expect(iterations.locator("> li.iteration")).to_have_count(3)
    second = page.locator("#iteration-0-1-fold")
    expect(second).not_to_have_attribute("open", "")
    second.locator("> summary").click()
    for address in ("1/1", "1/2"):
        expect(second.locator(f'[data-address="{address}"]')).to_be_visible()
        expect(second.locator(f'[data-address="{address}"]')).to_contain_text("Completed")
    expect(second).to_contain_text("B-2")
    assert blocking_violations(page) == []
    page.screenshot(path=str(folder / "02-run-1366.png"), full_page=True)

    # And at 390 px the page reads top to bottom, nothing wider than the screen
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + href)
    expect(page.locator(".branch-taken")).to_be_visible()
    page.locator("#iteration-0-1-fold > summary").click()
    expect(page.locator('#iteration-0-1-fold [data-address="1/2"]')).to_be_visible()
    assert blocking_violations(page) == []
    page.screenshot(path=str(folder / "03-run-390.png"), full_page=True)
    for address, part in (("1", "loop"), ("2", "paths")):
        step = page.locator(f'.timeline > [data-address="{address}"]')
        step.screenshot(path=str(folder / f"04-run-390-{part}.png"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
