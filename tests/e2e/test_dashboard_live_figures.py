"""The executions list in Chromium: live figures that follow the list from one poll, a poll that
rests in a hidden tab and slows on an idle page; keys; small screens; axe at 1366 and 390 px."""

from __future__ import annotations

import itertools
import json
import re
import urllib.request
from pathlib import Path

from flask import Flask
from playwright.sync_api import Dialog, Page, Request, expect

from tests.dashboard_support import force_failed, make_workflow, start
from tests.e2e.test_dashboard_live import log_in
from tests.e2e.test_editor_accessibility import blocking_violations
from tests.hooks_support import make_hook

LIVE = "/executions/live"
LOG = [{"key": "note", "type": "log", "config": {"message": "order {{ trigger.body.n }}"}}]
STARTS = f"""() => performance.getEntriesByType("resource")
  .filter(entry => entry.name.includes("{LIVE}")).map(entry => entry.startTime)"""
HIDE = """hidden => {
  Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
  Object.defineProperty(document, "visibilityState",
                        {value: hidden ? "hidden" : "visible", configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def deliver(live_server: str, path: str, body: dict[str, object]) -> None:
    request = urllib.request.Request(
        live_server + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status < 300, response.status


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width} px wide"  # type: ignore[index]


def test_live_figures_follow_the_list_and_the_poll_rests_when_hidden_or_idle(
    page: Page, live_server: str, app: Flask, artifacts: Path, backend: str
) -> None:
    # Given a logged-in user with a webhook workflow, on the empty executions list
    user_id = log_in(page, live_server, app)
    hook = make_hook(app, steps=LOG, user_id=user_id)
    polls: list[str] = []
    others: list[str] = []

    def on_request(request: Request) -> None:
        if LIVE in request.url:
            polls.append(request.url)
        elif re.search(r"/executions/\d+/row", request.url):
            others.append(request.url)

    page.on("request", on_request)
    page.goto(live_server + "/executions")
    day = page.locator("#execution-stats .counts-wide tbody tr").first
    expect(day.locator("td").last).to_have_text("0")
    page.evaluate("window.loadedOnce = true")  # gone if the page ever reloads

    # When five webhook deliveries arrive
    for n in range(5):
        deliver(live_server, hook.url, {"n": n})

    # Then five rows appear and complete, and the counts and the chart reach 5, no reload
    rows = page.locator("tr.execution-row")
    expect(rows).to_have_count(5, timeout=15_000)
    expect(rows.locator(".status-badge")).to_have_text(["Completed"] * 5, timeout=15_000)
    expect(day.locator("td").first).to_have_text("5")  # the Completed column
    expect(day.locator("td").last).to_have_text("5")  # All
    expect(page.locator("#chart-summary")).to_contain_text("5 in all")
    expect(page.locator("#execution-stats rect.bar-completed").first).to_be_attached()
    assert page.evaluate("window.loadedOnce") is True
    # and one request per poll brought it all: no row asked for itself
    assert others == [], others
    page.screenshot(path=str(artifacts / f"executions-live-1366-{backend}.png"), full_page=True)

    # When nothing is live any more, the poll slows down: 2 s, then 4, 8, up to 10
    # (the page's own clock: when the browser sent each poll, from the one that found all done)
    idle = len(page.evaluate(STARTS)) - 1
    page.wait_for_function(f"() => ({STARTS})().length >= {idle + 4}", timeout=30_000)
    starts = page.evaluate(STARTS)[idle : idle + 4]
    gaps = [(b - a) / 1000 for a, b in itertools.pairwise(starts)]
    assert all(later >= earlier - 0.5 for earlier, later in itertools.pairwise(gaps)), gaps
    assert gaps[-1] > gaps[0] + 2 and 1.5 < gaps[0] and gaps[-1] < 11, gaps

    # When the tab is hidden, no poll is sent for 10 s
    page.evaluate(HIDE, True)
    hidden = len(polls)
    page.wait_for_timeout(10_000)  # proving an absence takes the time itself
    assert len(polls) == hidden, f"{len(polls) - hidden} polls from a hidden tab"

    # When it shows again, the list polls at once
    with page.expect_request(lambda r: LIVE in r.url, timeout=1_000):
        page.evaluate(HIDE, False)


def test_keys_move_open_and_rerun_and_search(page: Page, live_server: str, app: Flask) -> None:
    # Given three executions, the middle one failed
    user_id = log_in(page, live_server, app)
    workflow = make_workflow(app, user_id, {"name": "Keys", "steps": LOG})
    ids = [start(app, workflow, {"body": {"n": n}}, run=False) for n in range(3)]
    for execution_id in ids:
        force_failed(app, execution_id)
    page.goto(live_server + "/executions")
    page.evaluate("window.loadedOnce = true")

    # j and k move the focus through the rows (newest first)
    page.keyboard.press("j")
    expect(page.locator(f"#execution-{ids[2]}-link")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last row
    expect(page.locator(f"#execution-{ids[0]}-link")).to_be_focused()
    page.keyboard.press("k")
    expect(page.locator(f"#execution-{ids[1]}-link")).to_be_focused()

    # r asks first; declined, nothing starts
    questions: list[str] = []

    def answer(accept: bool) -> None:
        def on_dialog(dialog: Dialog) -> None:
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        page.once("dialog", on_dialog)

    answer(False)
    page.keyboard.press("r")
    assert questions and f"#{ids[1]}" in questions[-1], questions
    expect(page.locator("tr.execution-row")).to_have_count(3)

    # accepted, the re-run starts and appears at the top of the list, without leaving it
    answer(True)
    page.keyboard.press("r")
    expect(page.locator("#list-status")).to_contain_text(f"Re-run of #{ids[1]} started as #")
    expect(page.locator("tr.execution-row")).to_have_count(4, timeout=5_000)
    expect(page.locator("tr.execution-row").first).to_contain_text(f"re-run of #{ids[1]}")
    assert page.evaluate("window.loadedOnce") is True

    # / goes to the run-key search, where typing j or r is just text
    page.keyboard.press("/")
    search = page.get_by_label("Run key")
    expect(search).to_be_focused()
    page.keyboard.type("jr/")
    expect(search).to_have_value("jr/")
    assert len(questions) == 2

    # Enter on a focused row opens its execution
    page.locator(f"#execution-{ids[0]}-link").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/executions/{ids[0]}$"))


def test_the_list_and_the_execution_page_at_1366_and_390_px(
    page: Page, live_server: str, app: Flask, artifacts: Path, backend: str
) -> None:
    # Given executions with run keys, one failed
    user_id = log_in(page, live_server, app)
    spec = {"name": "Orders to the warehouse", "run_key_template": "{{ trigger.email }}"}
    workflow = make_workflow(app, user_id, {**spec, "steps": LOG})
    ids = [
        start(app, workflow, {"email": f"customer-{n}@example.com", "body": {"n": n}})
        for n in range(4)
    ]
    force_failed(app, ids[0])
    checked: dict[str, list[dict[str, object]]] = {}

    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server + "/executions")
        expect(page.locator("#execution-stats .counts:visible")).to_be_visible()
        expect(page.locator(f"#execution-{ids[-1]} .status-badge")).to_have_text("Completed")
        checked[f"list {width}"] = blocking_violations(page)
        page.screenshot(
            path=str(artifacts / f"executions-list-{width}-{backend}.png"), full_page=True
        )
        no_sideways_scroll(page)
        page.goto(f"{live_server}/executions/{ids[-1]}")
        expect(page.locator(".execution-status")).to_have_text("Completed")
        checked[f"detail {width}"] = blocking_violations(page)
        page.screenshot(
            path=str(artifacts / f"execution-detail-{width}-{backend}.png"), full_page=True
        )
        no_sideways_scroll(page)

    # At 390 px the rows are cards, the filters wait behind one button, the nav behind a menu
    page.goto(live_server + "/executions")
    card = page.locator(f"#execution-{ids[-1]}")
    assert card.evaluate("row => getComputedStyle(row).display") == "grid"
    expect(card.locator(".run-key")).to_be_visible()
    expect(card.locator("time")).to_be_visible()
    expect(page.get_by_label("Run key")).to_be_hidden()
    filters = page.locator(".filter-fold > summary")
    filters.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Run key")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.locator(".site-menu > summary").focus()
    page.keyboard.press("Enter")
    expect(nav.get_by_role("link", name="Workflows")).to_be_visible()
    checked["list 390, filters and menu open"] = blocking_violations(page)
    page.screenshot(path=str(artifacts / f"executions-list-390-open-{backend}.png"), full_page=True)
    nav.get_by_role("link", name="Workflows").click()
    expect(page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()

    problems = {name: found for name, found in checked.items() if found}
    assert problems == {}, "\n".join(
        f"{name}: {v['id']} ({v['impact']}) {v['help']}: {v['nodes']}"
        for name, found in problems.items()
        for v in found
    )
