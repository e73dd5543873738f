"""The editor's header, flow and History in Chromium: History shows what a save changed (a
field, before → after, with the save's note); the Active switch and Ctrl+S work from the
keyboard; no page scrolls sideways at 390 px; axe finds no serious or critical violation; and
screenshots at 1366 and 390 px of the list, the editor (panel open and closed) and History."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import container, db
from app.models import User
from app.services.workflows.crud import create_workflow, update_workflow
from app.services.workflows.specs import WorkflowSpec
from tests.conftest import PASSWORD
from tests.e2e.test_editor_accessibility import blocking_violations

STEPS: list[dict[str, Any]] = [
    {"key": "shape", "type": "transform", "name": "Shape", "config": {"fields": {"who": "x"}}},
    {
        "key": "paid",
        "type": "filter",
        "name": "Only paid",
        "config": {
            "conditions": [{"left": "{{ trigger.total }}", "operator": "greater_than", "right": 10}]
        },
    },
    {"key": "log", "type": "log", "name": "Log", "config": {"message": "Order from Ada"}},
]


def register(page: Page, live_server: str, email: str) -> None:
    page.goto(live_server + "/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("No workflows yet")).to_be_visible()


def saved_twice(app: Flask, email: str) -> int:
    """A webhook workflow saved as version 1, then as version 2 with the log message changed
    (note "Friendlier log line")."""
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == email))
        assert owner is not None
        stepline = container(app)
        secrets, handlers = stepline.secrets, stepline.handlers
        spec = WorkflowSpec.model_validate(
            {
                "name": "Orders",
                "trigger": {"type": "webhook", "sample_data": {"customer": "Ada", "total": 42}},
                "steps": STEPS,
            }
        )
        workflow = create_workflow(db.session(), owner.id, spec, secrets, handlers)
        changed = spec.model_copy(deep=True)
        changed.steps[2].config["message"] = "New order from {{ steps.shape.who }}"
        update_workflow(
            db.session(), workflow, changed, secrets, handlers, note="Friendlier log line"
        )
        return workflow.id


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width} px wide"  # type: ignore[index]


def test_history_shows_what_a_save_changed_and_every_page_fits(
    page: Page, live_server: str, app: Flask, artifacts: Path, backend: str
) -> None:
    checked: dict[str, list[dict[str, Any]]] = {}
    page.set_viewport_size({"width": 1366, "height": 900})
    register(page, live_server, "history@example.com")
    workflow_id = saved_twice(app, "history@example.com")
    editor = f"{live_server}/workflows/{workflow_id}"

    # The list
    page.goto(live_server + "/workflows")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.screenshot(path=str(artifacts / f"g-list-1366-{backend}.png"), full_page=True)

    # The editor, panel closed: the trigger in words, pills, connectors, the URL with Copy
    page.goto(editor)
    expect(page.locator("#trigger-card")).to_contain_text("POST · answers at once · no auth")
    expect(page.locator("#step-log .pill")).to_have_text("Shape \u203a who")
    expect(page.locator("#flow .connector-data").first).to_contain_text("2 fields")
    expect(page.locator("#header-webhook-url")).to_have_value(re.compile(r"/hooks/"))
    expect(page.get_by_role("button", name="Copy the webhook URL")).to_be_visible()
    page.screenshot(path=str(artifacts / f"g-editor-closed-1366-{backend}.png"), full_page=True)
    checked["editor (panel closed)"] = blocking_violations(page)

    # The editor, a step open: focus moves into the panel; closing it returns to the card
    page.locator("#step-log").get_by_role("link", name="Log").click()
    expect(page.locator("#panel h2")).to_contain_text("Log")
    expect(page.locator("#panel")).to_be_focused()
    page.screenshot(path=str(artifacts / f"g-editor-open-1366-{backend}.png"), full_page=True)
    checked["editor (panel open)"] = blocking_violations(page)
    page.locator("#panel .panel-close").click()
    expect(page.locator("#step-log .card-title a")).to_be_focused()

    # The trigger panel: the webhook's URLs with Copy buttons
    page.locator("#trigger-card").get_by_role("link", name="Webhook").click()
    expect(page.locator("#webhook-url")).to_have_value(re.compile(r"/hooks/"))
    expect(page.get_by_role("button", name="Copy the production URL")).to_be_visible()
    page.screenshot(path=str(artifacts / f"g-editor-trigger-1366-{backend}.png"), full_page=True)
    checked["editor (trigger panel)"] = blocking_violations(page)

    # The skip link leads from the top of the flow to the open panel
    page.locator("#flow .skip-link").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#panel")).to_be_focused()

    # The palette: a search narrows the kinds, shown by category with a description each
    page.locator("#add-step-3").click()
    expect(page.get_by_role("heading", name="Add a step")).to_be_visible()
    expect(page.get_by_label("Search the kinds of step")).to_be_focused()
    expect(page.locator(".palette-category")).to_contain_text(["Flow", "Messaging", "Developer"])
    page.get_by_label("Search the kinds of step").fill("slack")
    expect(page.locator(".palette-group:visible .palette-category")).to_have_text(["Messaging"])
    expect(page.locator("#palette-count")).to_have_text("1 kind matches.")
    page.screenshot(path=str(artifacts / f"g-palette-1366-{backend}.png"), full_page=True)
    checked["editor (palette, searched)"] = blocking_violations(page)
    page.get_by_role("link", name="Close the palette").click()
    expect(page.locator("#add-step-3")).to_be_focused()

    # Active from the keyboard (Alt+Shift+A), then Ctrl+S saves with the browser's dialog held
    page.locator("#save-note").fill("Nothing new")
    page.keyboard.press("Alt+Shift+A")
    expect(page.locator("#active-switch")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#editor-toolbar .url-state").first).to_have_text("Live")
    expect(page.locator("#save-note")).to_have_value("Nothing new")  # kept across the swap
    # the toolbar's refresh after the switch settles before the shortcut (a person is slower)
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling')")
    page.keyboard.press("Control+s")
    expect(page.locator("#editor-toolbar")).to_contain_text("Nothing to save.")
    expect(page.locator("#save-note")).to_have_value("")

    # History: version 2 lists the changed message, before → after, with its note
    page.goto(editor + "/history")
    version = page.locator("#version-2")
    expect(version).to_contain_text("Friendlier log line")
    change = version.locator(".change-changed")
    expect(change).to_contain_text("Step “Log” (log)")
    expect(change.locator("code")).to_have_text("config.message")
    expect(change.locator("del")).to_have_text('"Order from Ada"')
    expect(change.locator("ins")).to_have_text('"New order from {{ steps.shape.who }}"')
    expect(page.locator("#version-1")).to_contain_text("The first version.")
    page.screenshot(path=str(artifacts / f"g-history-1366-{backend}.png"), full_page=True)
    checked["history"] = blocking_violations(page)

    # Restore asks first, and says what it would change
    page.get_by_role("link", name="Restore version 1…").click()
    confirm = page.locator("#restore-confirm-1")
    expect(confirm.get_by_role("heading", name="Restore version 1?")).to_be_focused()
    expect(confirm).to_contain_text("saves version 1 again as version 3")
    expect(confirm.locator("del")).to_have_text('"New order from {{ steps.shape.who }}"')
    checked["history (restore asks)"] = blocking_violations(page)

    # At 390 px: nothing scrolls sideways; the open panel is a full-height drawer
    page.set_viewport_size({"width": 390, "height": 844})
    for name, url in (("list", "/workflows"), ("history", f"/workflows/{workflow_id}/history")):
        page.goto(live_server + url)
        no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / f"g-{name}-390-{backend}.png"), full_page=True)
    page.goto(editor)
    no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / f"g-editor-closed-390-{backend}.png"), full_page=True)
    checked["editor at 390 px"] = blocking_violations(page)
    page.locator("#step-shape").get_by_role("link", name="Shape").click()
    expect(page.locator("#panel h2")).to_contain_text("Shape")
    box = page.locator("#panel").bounding_box()
    assert box and box["height"] >= 844 - 1 and box["y"] <= 1
    no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / f"g-editor-open-390-{backend}.png"))
    checked["editor at 390 px (drawer)"] = blocking_violations(page)

    problems = {name: found for name, found in checked.items() if found}
    assert problems == {}, "\n".join(
        f"{name}: {v['id']} ({v['impact']}) {v['help']}: {v['nodes']}"
        for name, found in problems.items()
        for v in found
    )
