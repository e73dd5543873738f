"""axe-core (npm, injected by the test, never served by the app) finds no serious or critical
violation on the Workflows page and the editor, in each of the editor's panels."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
REPORT = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " " + n.failureSummary),
  }));
}"""


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe on the page as it is now; return its serious and critical violations."""
    assert AXE.exists(), "axe-core is missing: run `make setup` (npm ci)"
    # Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') stays on.
    page.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = page.evaluate(REPORT)
    return [v for v in found if v["impact"] in BLOCKING]


def test_the_workflows_page_and_the_editor_have_no_serious_violations(
    page: Page, live_server: str
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    checked: dict[str, list[dict[str, Any]]] = {}

    # The empty Workflows page, and the New workflow page
    page.goto(live_server + "/register")
    page.get_by_label("Email").fill("axe@example.com")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("No workflows yet")).to_be_visible()
    checked["workflows (empty)"] = blocking_violations(page)
    page.get_by_role("link", name="Create your first workflow").click()
    checked["new workflow"] = blocking_violations(page)

    # The editor: palette, a step panel with its picker open and a refused field, the trigger
    page.get_by_label("Name").fill("Accessible")
    page.get_by_role("button", name="Create and open the editor").click()
    expect(page.get_by_role("heading", name="Add a step")).to_be_visible()
    checked["editor (palette)"] = blocking_violations(page)
    page.locator("#panel .palette").get_by_role("button", name=re.compile(r"^Log")).click()
    expect(page.locator("#panel h2")).to_contain_text("Log")
    page.get_by_role("button", name="Insert data into Message").click()
    checked["editor (step panel, picker)"] = blocking_violations(page)
    page.locator("#panel").get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator("#panel .error").first).to_be_visible()
    checked["editor (refused field)"] = blocking_violations(page)
    page.locator("#trigger-card").get_by_role("link", name="Manual").click()
    expect(page.locator("#panel h2")).to_have_text("Trigger")
    checked["editor (trigger)"] = blocking_violations(page)
    page.locator("#run-now summary").click()
    checked["editor (run now)"] = blocking_violations(page)

    # The Workflows page with a row, and the History page
    page.goto(live_server + "/workflows")
    expect(page.locator("tbody tr")).to_have_count(1)
    checked["workflows (list)"] = blocking_violations(page)
    page.get_by_role("link", name="Accessible").click()
    page.locator("#editor-toolbar .toolbar-menu summary").click()
    page.get_by_role("link", name="History").click()
    checked["history"] = blocking_violations(page)

    problems = {name: found for name, found in checked.items() if found}
    assert problems == {}, "\n".join(
        f"{name}: {v['id']} ({v['impact']}) {v['help']}: {v['nodes']}"
        for name, found in problems.items()
        for v in found
    )
