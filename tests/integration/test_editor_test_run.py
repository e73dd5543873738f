"""Test the whole workflow from the editor: a real execution of the draft (unsaved changes
included) with the trigger's sample data, marked as a test run; its progress polls until it is
over (HTTP 286) and fills each card's result slot; a step's output can become its sample."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Execution, WorkflowDraft
from tests.integration.editor_support import Editor, wait_for_final


def _started(editor: Editor, workflow_id: int) -> int:
    response = editor.post(f"/workflows/{workflow_id}/test-run")
    assert response.status_code == 201, response.get_data(as_text=True)
    match = re.search(r'data-execution="(\d+)"', response.get_data(as_text=True))
    assert match
    return int(match.group(1))


def test_a_test_run_runs_the_draft_with_the_sample_data(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow, then an unsaved change to its log step
    editor = Editor(user_client)
    workflow_id = editor.build()
    editor.apply(
        workflow_id, "log", {"message": "Draft says {{ steps.transform.who }}", "level": "info"}
    )

    # When the user tests the whole workflow from the editor
    execution_id = _started(editor, workflow_id)

    # Then a real execution of the draft runs, marked as a test run, with the sample data
    execution = wait_for_final(app, execution_id)
    assert execution.status == "completed"
    assert execution.trigger_type == "test"
    assert execution.trigger_data == {"customer": "Ada", "total": 42}
    with app.app_context():
        stored = db.session.get(Execution, execution_id)
        assert stored is not None
        outputs = {s.action_key: s.output for s in stored.steps}
    assert outputs["log"] == {"message": "Draft says Ada", "level": "info"}

    # And the poll answers 286 (polling stops) with each card's result out of band
    poll = editor.get(f"/workflows/{workflow_id}/test-run/{execution_id}", htmx=True)
    html = poll.get_data(as_text=True)
    assert poll.status_code == 286
    assert "hx-trigger" not in html.split(">", 1)[0]
    assert "Test run completed: 3 of 3 steps done." in html
    for key in ("transform", "filter", "log"):
        assert f'id="run-result-{key}" class="card-run-result" hx-swap-oob="true"' in html
    assert 'dt-key">message</span>' in html and "Draft says Ada" in html

    # And the editor's cards have the slots those results go into
    page = editor.get(f"/workflows/{workflow_id}").get_data(as_text=True)
    assert 'id="run-result-log"' in page and 'id="test-workflow"' in page


def test_a_live_test_run_keeps_polling(app: Flask, user_client: FlaskClient) -> None:
    # Given a workflow whose first step waits an hour
    editor = Editor(user_client)
    workflow_id = editor.build()
    editor.add(workflow_id, "delay", at=0)
    editor.apply(workflow_id, "delay", {"amount": "1", "unit": "hours"})
    execution_id = _started(editor, workflow_id)

    # When its progress is asked for while it waits
    poll = editor.get(f"/workflows/{workflow_id}/test-run/{execution_id}", htmx=True)

    # Then the region polls on, saying how far it got
    html = poll.get_data(as_text=True)
    assert poll.status_code == 200
    assert 'hx-trigger="every 1s"' in html and "steps done…" in html
    assert "Testing…" in html


def test_a_step_output_of_a_test_run_becomes_its_sample(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.build()
    execution_id = _started(editor, workflow_id)
    wait_for_final(app, execution_id)

    used = editor.post(
        f"/workflows/{workflow_id}/test-run/{execution_id}/sample", {"key": "transform"}
    )

    assert used.status_code == 286
    assert "Used as sample: transform." in used.get_data(as_text=True)
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        assert draft.samples["transform"] == {"who": "Ada"}
        assert "log" not in draft.samples
    every = editor.post(f"/workflows/{workflow_id}/test-run/{execution_id}/sample")
    assert "Used as sample: transform, filter, log." in every.get_data(as_text=True)


def test_a_draft_with_errors_is_not_tested_and_says_why(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")
    editor.apply(workflow_id, "log", {"message": "{{ steps.nowhere.x }}", "level": "info"})

    response = editor.post(f"/workflows/{workflow_id}/test-run")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Cannot test yet: Step 1 (Log):" in html
    with app.app_context():
        assert db.session.scalar(select(Execution.id)) is None


def test_another_users_test_run_is_not_found(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.build()
    execution_id = _started(editor, workflow_id)
    other = Editor(other_client)
    own = other.build()

    assert other.get(f"/workflows/{own}/test-run/{execution_id}", htmx=True).status_code == 404
    assert (
        other.get(f"/workflows/{workflow_id}/test-run/{execution_id}", htmx=True).status_code == 404
    )


def test_without_javascript_the_test_run_opens_the_execution_page(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.build()

    response = editor.post(f"/workflows/{workflow_id}/test-run", htmx=False)

    assert response.status_code == 303
    assert re.search(r"/executions/\d+$", response.headers["Location"])
