"""A run's page in Chromium: its data is a tree to unfold, each value has a copy button that
puts it on the clipboard, "Copy JSON" copies the whole; the page reads at 1366 and 390 px
(screenshots in test-artifacts/) with no serious or critical axe violation; the step panel in
the editor loads the step's last runs by itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from tests.dashboard_support import make_workflow, start, wait_final
from tests.e2e.test_dashboard_live import log_in
from tests.e2e.test_editor_accessibility import blocking_violations
from tests.integration.test_dashboard_explain import BIG_ORDERS

ORDER = {
    "who": "Ada Lovelace",
    "body": {"amount": 12, "currency": "EUR", "lines": [{"sku": "A1", "qty": 2}]},
}
SETTLED = "() => !document.querySelector('.htmx-request, .htmx-settling')"


def test_unfold_the_trigger_data_and_copy_a_value_and_the_whole(
    page: Page, live_server: str, app: Flask, artifacts: Path, backend: str
) -> None:
    # Given a run whose filter stopped it (the amount is too small)
    user_id = log_in(page, live_server, app)
    workflow = make_workflow(app, user_id, BIG_ORDERS)
    execution = start(app, workflow, ORDER)
    assert wait_final(app, [execution]) == ["completed"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.set_viewport_size({"width": 1366, "height": 900})

    # When the user opens the run's page
    page.goto(f"{live_server}/executions/{execution}")

    # Then the skipped step says why, with the value the filter saw
    expect(page.locator(".step-skip-reason")).to_have_text(
        "Skipped: the filter “Only big orders” (step 2) stopped the run: "
        "trigger.body.amount (= 12) is greater than 100 was false."
    )
    # and the trigger data is a tree whose deeper levels start folded
    tree = page.locator("#trigger-data-view-tree")
    lines = tree.locator("details.dt-node", has=page.locator("> summary", has_text="lines"))
    expect(lines).not_to_have_attribute("open", "")
    expect(tree.get_by_text("A1")).to_be_hidden()

    # When they unfold "lines", then its first item
    lines.locator("> summary").click()
    lines.locator("details.dt-node > summary").first.click()

    # Then the value shows with its type
    sku = tree.locator(".dt-leaf", has_text="sku")
    expect(sku).to_be_visible()
    expect(sku.locator(".dt-type")).to_have_text("string")

    # When they copy that one value
    copy = tree.get_by_role("button", name="Copy body.lines[0].sku")
    copy.hover()
    copy.click()

    # Then the clipboard holds it as text, and the button and a live region say so
    assert page.evaluate("navigator.clipboard.readText()") == "A1"
    expect(copy).to_have_class(re.compile(r"\bis-copied\b"))
    expect(page.locator("#announce")).to_have_text("Copied to the clipboard: body.lines[0].sku.")

    # When they copy the whole trigger data
    whole = page.locator("#trigger-data-view .dv-copy-all")
    whole.click()
    expect(whole).to_contain_text("Copied")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == ORDER

    # And the raw JSON is one click away
    raw = page.locator("#trigger-data-view .dv-raw")
    raw.locator("summary").click()
    expect(raw.locator("pre")).to_contain_text('"sku": "A1"')

    # The page at 1366 and 390 px: nothing blocking for axe, and looked at (screenshots)
    assert blocking_violations(page) == []
    page.screenshot(path=str(artifacts / f"execution-explained-1366-{backend}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator(f"#step-{_output_step(page)}-output > summary").click()
    assert blocking_violations(page) == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    page.screenshot(path=str(artifacts / f"execution-explained-390-{backend}.png"), full_page=True)

    # In the editor, the step's panel lists its last runs, loaded after the panel
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("link", name=re.compile(r"^Open in the editor\s*: step 3")).click()
    runs = page.locator("#step-runs")
    run_link = runs.get_by_role("link", name=re.compile(rf"^#{execution}\s*, skipped"))
    expect(run_link).to_be_visible()
    page.wait_for_function(SETTLED)
    page.screenshot(path=str(artifacts / f"editor-step-runs-{backend}.png"), full_page=True)

    # and one of them leads back to the run, at that step
    run_link.click()
    expect(page).to_have_url(re.compile(rf"/executions/{execution}#step-\d+$"))

    # A version read-only, with one step open (where a run of an earlier version leads)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/workflows/{workflow}/versions/1?step=big_only#step-big_only")
        expect(page.locator("#step-big_only > details")).to_have_attribute("open", "")
        expect(page.locator("#step-shape > details")).not_to_have_attribute("open", "")
        assert blocking_violations(page) == []
        shot = artifacts / f"version-readonly-{width}-{backend}.png"
        page.screenshot(path=str(shot), full_page=True)


def _output_step(page: Page) -> str:
    """The id of the first step with an output on the page."""
    found = page.locator("details[id$='-output']").first.get_attribute("id") or ""
    return found.removeprefix("step-").removesuffix("-output")
