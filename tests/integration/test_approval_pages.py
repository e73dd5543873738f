"""The owner's side of approval steps, on both backends: Approve / Reject on the execution page
(CSRF, owner only: another user's step is 404), the approval link shown to pass on, and the
editor's preview of the approval page with the sample data (owner only, no run needed)."""

from __future__ import annotations

import re
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token
from tests.dashboard_support import HTMX, make_workflow, start, steps, user_id
from tests.integration.editor_support import Editor, wait_for_final

ASK = {
    "key": "ask",
    "type": "approval",
    "name": "Ask the boss",
    "config": {
        "title": "Refund order {{ trigger.order }}?",
        "fields": {"Amount": "{{ trigger.amount }}"},
        "timeout_amount": 1,
        "timeout_unit": "days",
    },
}
SPEC = {
    "name": "Refunds",
    "steps": [ASK, {"key": "after", "type": "log", "config": {"message": "{{ steps.ask.by }}"}}],
}


def waiting_run(app: Flask, owner: str = "alice@example.com") -> tuple[int, Any]:
    """A run of SPEC waiting at its approval step: its id and the step's row."""
    workflow_id = make_workflow(app, user_id(app, owner), SPEC)
    execution_id = start(app, workflow_id, {"order": 7, "amount": 12})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [s for s in steps(app, execution_id) if s.action_key == "ask"]
        if found and found[0].status == "waiting":
            return execution_id, found[0]
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} did not wait")


def test_the_owner_approves_from_the_execution_page(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given a run waiting at an approval step
    execution_id, ask = waiting_run(app)
    page_url = f"/executions/{execution_id}"

    # Then its page shows the owner the approval link and Approve / Reject
    page = user_client.get(page_url).get_data(as_text=True)
    assert "Approval link" in page
    link = re.search(r'value="(http[^"]*/resume/[^"]+)"', page)
    assert link and link.group(1) == ask.output["resume_url"]
    decide_url = f"/executions/{execution_id}/steps/{ask.id}/decision"
    assert f'action="{decide_url}"' in page

    # When another user, or a form without its CSRF token, posts a decision: nothing happens
    token = csrf_token(other_client, "/workflows")
    theirs = other_client.post(decide_url, data={"decision": "approve", "csrf_token": token})
    assert theirs.status_code == 404
    assert user_client.post(decide_url, data={"decision": "approve"}).status_code == 400

    # When the owner approves (htmx)
    token = csrf_token(user_client, page_url)
    answer = user_client.post(
        decide_url,
        data={"decision": "approve", "comment": "ok", "csrf_token": token},
        headers=HTMX,
    )

    # Then the page's live part comes back saying so, and the run goes on with the decision
    assert answer.status_code == 200
    assert "You approved it." in answer.get_data(as_text=True)
    done = wait_for_final(app, execution_id)
    assert done.status == "completed", done.error
    output = next(s for s in steps(app, execution_id) if s.action_key == "ask").output or {}
    assert output["by_owner"] == "alice@example.com"
    assert output["by"] == "alice@example.com"
    assert output["comment"] == "ok"

    # And a second decision is refused, in words
    again = user_client.post(
        decide_url, data={"decision": "reject", "csrf_token": token}, headers=HTMX
    )
    assert "already decided (approved by alice@example.com" in again.get_data(as_text=True)


def test_a_step_of_another_kind_is_not_decided(app: Flask, user_client: FlaskClient) -> None:
    execution_id, _ask = waiting_run(app)
    after = next(s for s in steps(app, execution_id) if s.action_key == "after")
    token = csrf_token(user_client, "/workflows")
    url = f"/executions/{execution_id}/steps/{after.id}/decision"
    answer = user_client.post(url, data={"decision": "approve", "csrf_token": token})
    assert answer.status_code == 404


def test_the_editor_previews_the_approval_page_with_the_sample_data(
    user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given a workflow whose trigger has sample data, with an approval step
    editor = Editor(user_client)
    workflow_id = editor.create("Refunds")
    editor.sample(workflow_id, '{"order": 1042, "amount": 40}')
    key = editor.add(workflow_id, "approval")
    applied = editor.apply(
        workflow_id,
        key,
        {
            "title": "Refund order {{ trigger.order }}?",
            "message": "Asked by {{ trigger.nobody }}",
            "fields": '{"Amount": "{{ trigger.amount }}"}',
            "timeout_amount": "2",
            "timeout_unit": "days",
            "on_timeout": "fail",
            "timeout_decision": "rejected",
            "on_reject": "fail",
        },
    )
    assert applied.status_code == 200, applied.get_data(as_text=True)

    # Then its panel offers the preview
    panel = editor.get(f"/workflows/{workflow_id}?step={key}").get_data(as_text=True)
    preview_url = f"/workflows/{workflow_id}/steps/{key}/approval-preview"
    assert f'href="{preview_url}"' in panel
    assert "Preview the approval page" in panel
    # and its help names this step's key, ready to copy, not a placeholder
    assert f"steps.{key}.approved" in panel and "steps.&lt;key&gt;" not in panel

    # When the owner opens it
    preview = user_client.get(preview_url)

    # Then it is the approval page with the sample values (a template that cannot render yet
    # shown as written), its buttons inert
    assert preview.status_code == 200
    body = preview.get_data(as_text=True)
    assert "Refund order 1042?" in body
    assert "<dt>Amount</dt><dd>40</dd>" in body
    assert "Asked by {{ trigger.nobody }}" in body
    assert "Preview with the sample data" in body
    assert "<form" in body and " action=" not in body.split("<form", 1)[1].split(">", 1)[0]
    assert body.count(" disabled") >= 4

    # And another user, or a step of another kind, gets 404
    assert other_client.get(preview_url).status_code == 404
    log_key = editor.add(workflow_id, "log")
    for key in (log_key, "nope"):
        url = f"/workflows/{workflow_id}/steps/{key}/approval-preview"
        assert user_client.get(url).status_code == 404
