"""Publishing from the editor's header: the Active switch (and why it cannot switch on), the
webhook URL from the moment a workflow has a webhook trigger, Save with a note; History's
changes, and Restore that asks first."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Workflow, WorkflowVersion
from tests.api_client import Api, issue_token
from tests.integration.editor_support import Editor


def enabled(app: Flask, workflow_id: int) -> bool:
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        return workflow.enabled


def test_the_active_switch_turns_the_workflow_on_and_off_in_place(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow, off
    editor = Editor(user_client)
    workflow_id = editor.build()
    page = editor.get(f"/workflows/{workflow_id}").get_data(as_text=True)
    assert re.search(r'id="active-switch"[^>]*role="switch"\s+aria-checked="false"', page)

    # When the user switches it on, then off, from the header
    on = editor.post(f"/workflows/{workflow_id}/active", {"active": "1"})
    on_html = on.get_data(as_text=True)
    assert enabled(app, workflow_id)
    off = editor.post(f"/workflows/{workflow_id}/active", {"active": "0"})

    # Then each answer is the header, saying what happened
    assert on.status_code == 200 and on_html.strip().startswith('<header id="editor-toolbar"')
    assert re.search(r'id="active-switch"[^>]*aria-checked="true"', on_html)
    assert "The workflow is active" in on_html
    assert "The workflow is off" in off.get_data(as_text=True)
    assert not enabled(app, workflow_id)
    # And without JavaScript the form posts and lands back on the editor
    plain = editor.post(f"/workflows/{workflow_id}/active", {"active": "1"}, htmx=False)
    assert plain.status_code == 303 and plain.headers["Location"] == f"/workflows/{workflow_id}"
    assert enabled(app, workflow_id)


def test_the_switch_says_why_it_cannot_switch_on(app: Flask, user_client: FlaskClient) -> None:
    # Given a workflow whose third step reads a step that runs after it
    editor = Editor(user_client)
    workflow_id = editor.build()
    editor.post(f"/workflows/{workflow_id}/steps/log/move", {"to": 0})
    editor.post(f"/workflows/{workflow_id}/steps/transform/move", {"to": 2})

    # Then the header names the step, and switching on is refused with the reason
    header = editor.get(f"/workflows/{workflow_id}/toolbar", htmx=True).get_data(as_text=True)
    refused = editor.post(f"/workflows/{workflow_id}/active", {"active": "1"})

    assert "Cannot switch on: Step 1 has errors" in header
    assert 'aria-disabled="true"' in header and 'aria-describedby="active-reason"' in header
    assert refused.status_code == 422
    assert "Cannot switch on: Step 1 has errors." in refused.get_data(as_text=True)
    assert not enabled(app, workflow_id)


def test_a_webhook_workflow_created_through_the_api_has_its_url_at_once(
    app: Flask, client: FlaskClient
) -> None:
    api = Api(client, issue_token(app, "hooks@example.com"))

    created = api.post("/workflows", {"name": "Inbound", "trigger": {"type": "webhook"}})

    body = created.get_json()
    assert created.status_code == 201 and body["enabled"] is False
    assert body["webhook_url"].startswith("http://localhost/hooks/")
    # It answers once the workflow is switched on
    path = body["webhook_url"].removeprefix("http://localhost")
    assert client.post(path, json={}).status_code == 404
    assert api.post(f"/workflows/{body['id']}/enable").status_code == 200
    assert client.post(path, json={}).status_code == 202


def test_a_save_note_is_kept_with_its_version_and_shown_in_history(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow (version 2), the user changes the log and saves with a note
    editor = Editor(user_client)
    workflow_id = editor.build()
    editor.apply(workflow_id, "log", {"message": "Paid: {{ trigger.customer }}", "level": "info"})
    saved = editor.post(f"/workflows/{workflow_id}/save", {"note": "  Say who paid  "})
    assert "Saved as version 3." in saved.get_data(as_text=True)
    # And then saves again (the note travels with version 3 into History)
    editor.apply(workflow_id, "log", {"message": "Paid", "level": "info"})
    editor.save(workflow_id)

    with app.app_context():
        note = db.session.scalar(
            select(WorkflowVersion.note).where(
                WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == 3
            )
        )
    history = editor.get(f"/workflows/{workflow_id}/history").get_data(as_text=True)

    assert note == "Say who paid"
    assert "“Say who paid”" in history
    # And version 3 lists what it changed, before → after
    block = history[history.index('id="version-3"') : history.index('id="version-2"')]
    assert "Step “Log” (log)" in block and "<code>config.message</code>" in block
    assert "&#34;Order from {{ steps.transform.who }}&#34;" in block
    assert "&#34;Paid: {{ trigger.customer }}&#34;" in block


def test_restore_asks_first_and_says_what_it_will_do(app: Flask, user_client: FlaskClient) -> None:
    # Given version 2 (three steps) and version 3 (the log step deleted)
    editor = Editor(user_client)
    workflow_id = editor.build()
    editor.post(f"/workflows/{workflow_id}/steps/log/delete")
    editor.save(workflow_id)

    # When the user asks to restore version 2 without JavaScript
    asked = editor.get(f"/workflows/{workflow_id}/versions/2/restore")
    unconfirmed = editor.post(f"/workflows/{workflow_id}/versions/2/restore", htmx=False)
    inline = editor.get(f"/workflows/{workflow_id}/versions/2/restore", htmx=True)

    # Then a page says what restoring does, and an unconfirmed post restores nothing
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "<h1>Restore a version</h1>" in html
    assert "saves version 2 again as version 4" in html
    assert "Step “Log” (log)" in html and "Added" in html
    assert 'name="confirm" value="yes"' in html
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["Location"] == f"/workflows/{workflow_id}/versions/2/restore"
    with app.app_context():
        assert db.session.get(Workflow, workflow_id).version == 3  # type: ignore[union-attr]
    # And htmx gets the same question inline, inside History
    assert inline.get_data(as_text=True).strip().startswith('<div class="restore-confirm"')

    # When the user confirms
    done = editor.post(
        f"/workflows/{workflow_id}/versions/2/restore", {"confirm": "yes"}, htmx=False
    )

    # Then version 4 is saved, noted as a restore
    assert done.status_code == 303
    history = editor.get(f"/workflows/{workflow_id}/history").get_data(as_text=True)
    assert "“Restored version 2.”" in history
