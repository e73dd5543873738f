"""The list's live region: one poll answers the new rows, the live rows' current state and the
figures (all out of band), and the figures stay exact while their settled hours are cached."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models.base import utcnow
from app.services.executions import stats
from tests.dashboard_support import HTMX, force, force_failed, make_workflow, start, user_id

REFUNDS = {"name": "Refunds", "steps": [{"key": "note", "type": "log", "config": {"message": "r"}}]}
COLUMNS = ("completed", "failed", "cancelled", "running", "waiting", "pending", "all")


def live_url(page: str) -> str:
    found = re.search(r'<div id="execution-live" hidden data-live-url="([^"]+)"', page)
    assert found, "the list has no live region"
    return found.group(1).replace("&amp;", "&")


def counts(html: str) -> list[dict[str, int]]:
    """The counts table of a figures section: {status: n} for the day, then the week."""
    table = html.split('<section id="execution-stats"')[1].split("</table>")[0]
    rows = table.split("<tbody>")[1].split("</tr>")[:2]
    pattern = r"<td>(?:<a [^>]+>)?(?:<span class=\"muted\">)?(\d+)"
    return [dict(zip(COLUMNS, map(int, re.findall(pattern, row)), strict=True)) for row in rows]


def test_one_poll_answers_new_rows_live_rows_and_the_figures(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given the list showing one pending execution
    alice = user_id(app, "alice@example.com")
    workflow = make_workflow(app, alice, REFUNDS)
    shown = start(app, workflow, run=False)
    page = user_client.get("/executions").get_data(as_text=True)
    url = live_url(page)
    assert url == f"/executions/live?top=1&after={shown}"

    # When two executions start, the shown one completes, and the list polls with its live row
    later = [start(app, workflow, run=False), start(app, workflow, run=False)]
    force(app, shown, status="completed", lease_expires_at=None)
    response = user_client.get(f"{url}&live={shown}", headers=HTMX)

    # Then one answer holds every part, each swapped out of band
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    newer = html.split('<tbody id="execution-newer" hx-swap-oob="true">')[1].split("</tbody>")[0]
    assert re.findall(r'<tr id="execution-(\d+)"', newer) == [str(later[1]), str(later[0])]
    row = re.search(rf'<tr id="execution-{shown}"[^>]*>', html)
    assert row and 'hx-swap-oob="true"' in row.group(0) and "data-live" not in row.group(0)
    assert 'data-status="completed"' in row.group(0) and "hx-trigger" not in html
    # and the figures count what the list shows: 1 completed and 2 pending today
    stats_tag = re.search(r'<section id="execution-stats"[^>]*>', html)
    assert stats_tag and 'hx-swap-oob="true"' in stats_tag.group(0)
    day, week = counts(html)
    assert day == week == {**dict.fromkeys(COLUMNS, 0), "completed": 1, "pending": 2, "all": 3}
    assert "3 in all" in html  # the chart's summary

    # And a poll that sends the digest of the figures it shows gets them only once they change
    digest = re.search(r'data-digest="([0-9a-f]+)"', html)
    assert digest
    same = user_client.get(f"{url}&figures={digest.group(1)}", headers=HTMX)
    assert same.status_code == 200 and "execution-stats" not in same.get_data(as_text=True)
    force(app, later[0], status="failed", error="planned", lease_expires_at=None)
    changed = user_client.get(f"{url}&figures={digest.group(1)}", headers=HTMX)
    assert counts(changed.get_data(as_text=True))[0]["failed"] == 1

    # And another user's poll naming alice's execution gets nothing of hers
    theirs = other_client.get(f"/executions/live?top=1&live={shown}", headers=HTMX)
    assert theirs.status_code == 200
    assert f"execution-{shown}" not in theirs.get_data(as_text=True)
    assert counts(theirs.get_data(as_text=True))[0]["all"] == 0


def test_an_older_page_and_a_workflows_page_poll_their_own_region(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    alice = user_id(app, "alice@example.com")
    refunds = make_workflow(app, alice, REFUNDS)
    orders = make_workflow(app, alice, {**REFUNDS, "name": "Orders"})
    created = [start(app, refunds, run=False) for _ in range(26)]
    start(app, orders, run=False)

    # An older page has no rows above its own: its poll refreshes live rows and figures only
    older = user_client.get(f"/executions?before={created[1]}").get_data(as_text=True)
    assert live_url(older) == "/executions/live"
    answer = user_client.get(f"/executions/live?live={created[0]}", headers=HTMX)
    html = answer.get_data(as_text=True)
    assert "execution-newer" not in html and f'<tr id="execution-{created[0]}"' in html

    # A workflow's page counts that workflow's executions only, and is alice's alone
    page = user_client.get(f"/workflows/{orders}/executions").get_data(as_text=True)
    assert live_url(page).startswith(f"/workflows/{orders}/executions/live?top=1")
    html = user_client.get(live_url(page), headers=HTMX).get_data(as_text=True)
    assert counts(html)[0]["all"] == 1
    assert other_client.get(live_url(page), headers=HTMX).status_code == 404

    # A bad filter is refused with nothing to swap
    bad = user_client.get("/executions/live?since=yesterday", headers=HTMX)
    assert bad.status_code == 422 and "<tr" not in bad.get_data(as_text=True)


def test_the_figures_stay_exact_while_their_settled_hours_are_cached(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given executions in earlier hours: one still pending, one completed, one failed 2 days ago
    alice = user_id(app, "alice@example.com")
    workflow = make_workflow(app, alice, REFUNDS)
    now = utcnow()
    waiting = start(app, workflow, run=False)
    force(app, waiting, created_at=now - timedelta(hours=3))
    done = start(app, workflow, run=False)
    force(app, done, status="completed", created_at=now - timedelta(hours=3), lease_expires_at=None)
    force_failed(app, start(app, workflow, run=False), created_at=now - timedelta(days=2))
    cache = stats.FiguresCache()

    def figures(cached: bool) -> tuple[dict[str, int], dict[str, int], list[int]]:
        with app.app_context():
            found = stats.activity(db.session(), alice, cache=cache if cached else None)
            return found.day.by_status, found.week.by_status, [h.total for h in found.hours]

    first = figures(cached=True)
    assert first[0] == {**dict.fromkeys(stats.STATUSES, 0), "pending": 1, "completed": 1}
    assert first[1]["failed"] == 1 and sum(first[2]) == 2

    # When the pending one completes, a new one starts and another fails this hour
    force(app, waiting, status="completed", lease_expires_at=None)
    start(app, workflow, run=False)
    force_failed(app, start(app, workflow, run=False))

    # Then the cached figures (the settled hours not counted again) equal a full count
    cached = figures(cached=True)
    assert cached == figures(cached=False)
    assert cached[0] == {
        **dict.fromkeys(stats.STATUSES, 0),
        "completed": 2,
        "pending": 1,
        "failed": 1,
    }
    assert cached[1]["failed"] == 2 and sum(cached[2]) == 4
    with app.app_context():
        assert cache.get((alice, None), stats.activity(db.session(), alice).hours[-1].start)
