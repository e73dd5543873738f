"""The executions list: newest first, filters, keyset pages, live rows, new rows, figures."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from app.models.base import utcnow
from tests.dashboard_support import HTMX, force, force_failed, make_workflow, start, user_id

ORDERS = {
    "name": "Orders",
    "run_key_template": "{{ trigger.customer.email }}",
    "steps": [{"key": "note", "type": "log", "config": {"message": "order"}}],
}
REFUNDS = {"name": "Refunds", "steps": [{"key": "note", "type": "log", "config": {"message": "r"}}]}
ROW_ID = re.compile(r'<tr id="execution-(\d+)"')


def row_ids(html: str) -> list[int]:
    return [int(n) for n in ROW_ID.findall(html)]


def live_url(page: str) -> str:
    """The URL of the list's live region, as the page names it."""
    found = re.search(r'<div id="execution-live" hidden data-live-url="([^"]+)"', page)
    assert found, "the list has no live region"
    return found.group(1).replace("&amp;", "&")


def test_the_list_shows_only_the_users_executions_newest_first(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given executions of alice's two workflows (never run: they stay pending) and mallory's
    alice, mallory = user_id(app, "alice@example.com"), user_id(app, "mallory@example.com")
    orders, refunds = make_workflow(app, alice, ORDERS), make_workflow(app, alice, REFUNDS)
    first = start(app, orders, {"customer": {"email": "a@x"}}, run=False)
    second = start(app, refunds, run=False)
    theirs = start(app, make_workflow(app, mallory, REFUNDS), run=False)
    force_failed(app, first)

    # When alice opens the executions page
    response = user_client.get("/executions")

    # Then she sees her two executions, newest first, and nothing of mallory's
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'aria-current="page">Executions</a>' in html
    assert row_ids(html) == [second, first]
    assert theirs not in row_ids(html)
    # and the live row is marked for the list's one poll (no row polls by itself)
    live = re.search(rf'<tr id="execution-{second}"[^>]*>', html)
    done = re.search(rf'<tr id="execution-{first}"[^>]*>', html)
    assert live and " data-live" in live.group(0) and "hx-trigger" not in live.group(0)
    assert done and " data-live" not in done.group(0) and "hx-trigger" not in done.group(0)
    assert f'data-rerun="/executions/{first}/rerun"' in done.group(0)
    assert '<code class="run-key">a@x</code>' in html


def test_filters_by_workflow_status_time_range_and_run_key(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given orders for three customers (one failed three days ago) and a refund
    alice = user_id(app, "alice@example.com")
    orders, refunds = make_workflow(app, alice, ORDERS), make_workflow(app, alice, REFUNDS)
    ann = start(app, orders, {"customer": {"email": "ann@example.com"}}, run=False)
    bob = start(app, orders, {"customer": {"email": "bob@example.com"}}, run=False)
    old = start(app, orders, {"customer": {"email": "ann@example.com"}}, run=False)
    refund = start(app, refunds, run=False)
    force_failed(app, old, created_at=utcnow() - timedelta(days=3))

    def ids(query: str) -> list[int]:
        response = user_client.get(f"/executions?{query}", headers=HTMX)
        assert response.status_code == 200, response.get_data(as_text=True)
        return row_ids(response.get_data(as_text=True))

    # Then each filter narrows the list, and filters combine
    assert ids(f"workflow={refunds}") == [refund]
    assert ids("run_key=ann@example.com") == [ann, old]
    assert ids(f"workflow={orders}&run_key=bob@example.com") == [bob]
    assert ids("status=failed") == [old]
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert ids(f"since={since}") == [refund, bob, ann]
    assert ids(f"until={since}&run_key=ann@example.com") == [old]
    assert ids("run_key=nobody@example.com") == []


def test_a_bad_filter_is_answered_422_inside_the_form(user_client: FlaskClient) -> None:
    response = user_client.get("/executions?since=yesterday&status=failed", headers=HTMX)

    html = response.get_data(as_text=True).strip()
    assert response.status_code == 422
    assert html.startswith('<section id="execution-list"')
    assert "Use a date and time such as" in html
    assert 'value="yesterday"' in html


def test_crafted_ids_in_the_query_string_are_refused_or_ignored(
    user_client: FlaskClient,
) -> None:
    # "²" passes str.isdigit() but int() refuses it; huge numbers overflow a BIGINT
    assert user_client.get("/executions?workflow=%C2%B2", headers=HTMX).status_code == 422
    assert user_client.get("/executions?workflow=" + "9" * 30, headers=HTMX).status_code == 422
    assert user_client.get("/executions?before=%C2%B2", headers=HTMX).status_code == 200
    assert user_client.get("/executions?before=" + "9" * 30, headers=HTMX).status_code == 200
    assert user_client.get("/executions/live?top=1&after=%C2%B2", headers=HTMX).status_code == 200
    assert user_client.get("/executions/live?live=%C2%B2,-1,x", headers=HTMX).status_code == 200


def test_keyset_pages_hold_every_execution_once(app: Flask, user_client: FlaskClient) -> None:
    # Given 30 executions
    alice = user_id(app, "alice@example.com")
    workflow = make_workflow(app, alice, REFUNDS)
    created = [start(app, workflow, run=False) for _ in range(30)]

    # When alice reads the first page, then follows "Older"
    first = user_client.get("/executions").get_data(as_text=True)
    older = re.search(r'href="(/executions\?before=\d+)"', first)
    assert older, "no link to the older page"
    second = user_client.get(older.group(1)).get_data(as_text=True)

    # Then the pages hold 25 and 5 executions, newest first, none twice, and page 2 ends
    assert row_ids(first) + row_ids(second) == sorted(created, reverse=True)
    assert len(row_ids(first)) == 25
    assert "before=" not in second.split('<nav class="pager"')[1].split("</nav>")[0]
    # and only the first page shows new executions above its own
    assert 'id="execution-newer"' in first and 'id="execution-newer"' not in second
    assert "top=1" in live_url(first) and "top=1" not in live_url(second)


def test_the_per_workflow_view_and_another_users_workflow(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    alice = user_id(app, "alice@example.com")
    orders, refunds = make_workflow(app, alice, ORDERS), make_workflow(app, alice, REFUNDS)
    order = start(app, orders, {"customer": {"email": "a@x"}}, run=False)
    start(app, refunds, run=False)

    mine = user_client.get(f"/workflows/{orders}/executions")
    theirs = other_client.get(f"/workflows/{orders}/executions")
    their_stats = other_client.get(f"/workflows/{orders}/executions/stats", headers=HTMX)

    assert mine.status_code == 200
    assert "Executions of “Orders”" in mine.get_data(as_text=True)
    assert row_ids(mine.get_data(as_text=True)) == [order]
    assert theirs.status_code == 404 and their_stats.status_code == 404
    assert user_client.get(f"/workflows/{orders}/executions/stats").status_code == 200


def test_counts_by_status_and_the_hourly_chart(app: Flask, user_client: FlaskClient) -> None:
    # Given two executions today (one failed) and a failure four days ago
    alice = user_id(app, "alice@example.com")
    workflow = make_workflow(app, alice, REFUNDS)
    start(app, workflow, run=False)
    force_failed(app, start(app, workflow, run=False))
    force_failed(app, start(app, workflow, run=False), created_at=utcnow() - timedelta(days=4))
    done = start(app, workflow, run=False)
    force(app, done, status="completed", created_at=utcnow() - timedelta(days=30))

    # When alice opens the executions page
    page = user_client.get("/executions").get_data(as_text=True)

    # Then the page loads the figures after its first paint, from their own fragment
    assert '<section id="execution-stats"' in page and 'hx-get="/executions/stats"' in page
    response = user_client.get("/executions/stats", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.strip().startswith('<section id="execution-stats"')
    # and the last 24 hours count 1 pending + 1 failed, the last 7 days 1 pending + 2 failed
    stats = html.split('<section id="execution-stats"')[1].split("</section>")[0]
    day, week = stats.split("<tbody>")[1].split("</tr>")[:2]
    cells = [
        re.findall(r"<td>(?:<a [^>]+>)?(?:<span class=\"muted\">)?(\d+)", r) for r in (day, week)
    ]
    # columns: completed, failed, cancelled, running, waiting, pending, all
    assert cells == [["0", "1", "0", "0", "0", "1", "2"], ["0", "2", "0", "0", "0", "1", "3"]]
    # and the chart draws the current hour as a pending and a failed bar, stacked, no inline style
    assert stats.count('<rect class="bar bar-failed"') == 1
    assert stats.count('<rect class="bar bar-pending"') == 1
    assert "style=" not in stats
    # and without JavaScript the page's link leads to the same figures on a page of their own
    plain = user_client.get("/executions/stats").get_data(as_text=True)
    assert "<h1>Recent activity</h1>" in plain and '<rect class="bar bar-failed"' in plain
