"""The execution page: timeline of steps, trigger data, version; live fragments and HTTP 286."""

from __future__ import annotations

import re
from html import unescape

from flask import Flask
from flask.testing import FlaskClient

from tests.dashboard_support import (
    HTMX,
    force,
    make_workflow,
    start,
    user_id,
    wait_final,
)

SHAPE_THEN_LOG = {
    "name": "Greeter",
    "steps": [
        {
            "key": "shape",
            "type": "transform",
            "name": "Shape the greeting",
            "config": {"fields": {"greeting": "Hello {{ trigger.who }}"}},
        },
        {"key": "record", "type": "log", "config": {"message": "{{ steps.shape.greeting }}"}},
    ],
}
FLAKY = {
    "name": "Flaky",
    "steps": [
        {
            "key": "flaky",
            "type": "test_flaky",
            "config": {"succeed_on_attempt": 5},
            "retry": {"attempts": 2, "backoff": {"type": "fixed", "delay": 0.05}},
        }
    ],
}


def test_the_execution_page_shows_the_timeline_the_trigger_data_and_the_version(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a two-step workflow that the embedded worker has run
    workflow = make_workflow(app, user_id(app, "alice@example.com"), SHAPE_THEN_LOG)
    execution = start(app, workflow, {"who": "Ada"})
    assert wait_final(app, [execution]) == ["completed"]

    # When alice opens the execution page
    response = user_client.get(f"/executions/{execution}")

    # Then it shows each step in order with status, attempts, input and pretty output
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert html.index("Shape the greeting") < html.index('<code class="step-type">log</code>')
    assert html.count('<span class="status-badge status-completed">Completed</span>') == 3
    assert html.count("1 attempt") == 2
    assert '"greeting": "Hello Ada"' in html
    assert 'id="step-' in html and "-output" in html and "<summary>Input</summary>" in html
    # the trigger data and the workflow version it ran
    assert '<h2 id="trigger-data-title">Trigger data</h2>' in html
    assert '"who": "Ada"' in html
    assert "version 1" in html
    # a finished execution does not poll, and offers re-runs instead of cancel
    detail = html.split('<section id="execution-detail"')[1].split(">", 1)[0]
    assert "hx-trigger" not in detail
    assert "Re-run from the start" in html and "Cancel execution" not in html


def test_a_live_execution_polls_every_second_until_it_is_final(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a pending execution (nobody runs it)
    workflow = make_workflow(app, user_id(app, "alice@example.com"), SHAPE_THEN_LOG)
    execution = start(app, workflow, {"who": "Ada"}, run=False)

    # When the page and its fragments are fetched while it is live
    page = user_client.get(f"/executions/{execution}").get_data(as_text=True)
    status = user_client.get(f"/executions/{execution}/status", headers=HTMX)
    row = user_client.get(f"/executions/{execution}/row", headers=HTMX)

    # Then each polls every second and answers 200
    poll = f'hx-get="/executions/{execution}/status" hx-trigger="every 1s" hx-swap="outerHTML"'
    assert poll in page
    assert status.status_code == 200 and poll in status.get_data(as_text=True)
    assert row.status_code == 200
    assert (
        row.get_data(as_text=True)
        .strip()
        .startswith(
            f'<tr id="execution-{execution}" class="execution-row" '
            f'hx-get="/executions/{execution}/row" hx-trigger="every 1s"'
        )
    )
    assert "Cancel execution" in page

    # When it becomes final
    force(app, execution, status="completed", lease_expires_at=None)
    status = user_client.get(f"/executions/{execution}/status", headers=HTMX)
    row = user_client.get(f"/executions/{execution}/row", headers=HTMX)

    # Then both fragments answer 286 (htmx stops polling) and carry no trigger any more
    for response in (status, row):
        html = response.get_data(as_text=True).strip()
        assert response.status_code == 286
        assert "hx-trigger" not in html
    assert status.get_data(as_text=True).strip().startswith('<section id="execution-detail"')
    assert "HX-Request" in status.headers["Vary"]


def test_a_failed_step_shows_each_attempt_with_its_time_and_error(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a step that fails on both of its attempts
    workflow = make_workflow(app, user_id(app, "alice@example.com"), FLAKY)
    execution = start(app, workflow)
    assert wait_final(app, [execution]) == ["failed"]

    html = user_client.get(f"/executions/{execution}").get_data(as_text=True)

    # Then the page lists both attempts with their errors, and the execution's error
    assert "<summary>Attempts (2)</summary>" in html
    assert re.search(
        r"Attempt 1: <span class=\"attempt-start\">started <time [^>]+>\d{4}-\d\d-\d\d [\d:]+ UTC"
        r"</time></span>, \d+ ms — <span class=\"attempt-end\">ended by its worker</span>: <span",
        html,
    )
    assert "planned failure on attempt 1" in html and "planned failure on attempt 2" in html
    assert '<p class="execution-error">Step' in html
    assert "Re-run from the failed step" in html


def test_the_page_without_htmx_and_with_history_restore_is_the_full_page(
    app: Flask, user_client: FlaskClient
) -> None:
    workflow = make_workflow(app, user_id(app, "alice@example.com"), SHAPE_THEN_LOG)
    execution = start(app, workflow, run=False)

    restore = user_client.get(
        f"/executions/{execution}", headers={**HTMX, "HX-History-Restore-Request": "true"}
    )
    fragment = user_client.get(f"/executions/{execution}", headers=HTMX)

    assert "<html" in restore.get_data(as_text=True)
    assert fragment.get_data(as_text=True).strip().startswith('<section id="execution-detail"')
