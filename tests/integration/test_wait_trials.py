"""Test this step on a step that waits (app.engine.trial): it says the run would pause there,
and its sample output is what the step gives once resumed, so later steps can map its fields."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import WorkflowDraft
from tests.integration.editor_support import Editor


def _sample(app: Flask, workflow_id: int, key: str) -> object:
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        return draft.samples.get(key)


def test_testing_a_wait_for_call_says_it_would_pause_and_keeps_a_call_as_sample(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "wait_for_call")

    response = editor.post(
        f"/workflows/{workflow_id}/steps/wait_for_call/test",
        {"key": "wait_for_call", "config.timeout_amount": "2", "config.timeout_unit": "hours"},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "A run would pause here until its resume URL is called." in html
    sample = _sample(app, workflow_id, "wait_for_call")
    assert isinstance(sample, dict)
    assert sample["method"] == "POST" and sample["body"] == {}


def test_testing_an_approval_keeps_a_sample_decision(app: Flask, user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "approval")

    response = editor.post(
        f"/workflows/{workflow_id}/steps/approval/test",
        {"key": "approval", "config.title": "Refund?"},
    )

    html = response.get_data(as_text=True)
    assert "A run would pause here until someone approves or rejects." in html
    sample = _sample(app, workflow_id, "approval")
    assert isinstance(sample, dict)
    assert sample["approved"] is True and sample["decision"] == "approved"
