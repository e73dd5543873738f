"""The trigger panel's webhook section: get the URL, listen for a test request, use what arrived
as sample data, issue a new URL."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import WorkflowDraft
from tests.integration.editor_support import Editor


def webhook_workflow(editor: Editor) -> int:
    """A saved workflow whose trigger is a webhook (disabled: the test URL still listens)."""
    workflow_id = editor.create("Hooked")
    applied = editor.post(f"/workflows/{workflow_id}/trigger", {"type": "webhook"})
    assert applied.status_code == 200, applied.get_data(as_text=True)
    assert editor.save(workflow_id).status_code == 200
    return workflow_id


def test_a_webhook_trigger_shows_its_urls_and_captures_a_test_request(
    app: Flask, user_client: FlaskClient, client: FlaskClient
) -> None:
    # Given a saved webhook workflow, its trigger panel open
    editor = Editor(user_client)
    workflow_id = webhook_workflow(editor)
    panel = editor.get(f"/workflows/{workflow_id}?panel=trigger", htmx=True).get_data(as_text=True)
    assert 'id="webhook"' in panel and "Get the URL" in panel

    # When the user gets the URL and starts listening
    ready = editor.post(f"/workflows/{workflow_id}/webhook/url").get_data(as_text=True)
    listening = editor.post(f"/workflows/{workflow_id}/webhook/listen")

    # Then the section shows both URLs, and polls itself while it listens
    match = re.search(
        r'id="webhook-test-url" class="code" type="text" readonly value="([^"]+)"', ready
    )
    assert match and "/hooks/test/" in match.group(1)
    assert re.search(r'id="webhook-url" [^>]*value="http://localhost/hooks/[A-Za-z0-9_-]+"', ready)
    html = listening.get_data(as_text=True).strip()
    assert html.startswith('<section id="webhook"') and 'hx-trigger="every 1s"' in html
    assert "Listening until" in html

    # When a sender posts to the test URL
    test_path = match.group(1).removeprefix("http://localhost")
    sent = client.post(test_path, json={"order": 7})

    # Then the next poll answers 286 (polling stops) with the whole trigger panel, whose
    # sample data is what arrived
    assert sent.status_code == 200
    polled = editor.get(f"/workflows/{workflow_id}/webhook", htmx=True)
    arrived = polled.get_data(as_text=True)
    assert polled.status_code == 286
    assert polled.headers["HX-Retarget"] == "#panel"
    assert arrived.strip().startswith('<section id="panel"') and "every 1s" not in arrived
    assert "A test request arrived." in arrived
    assert "&#34;order&#34;: 7" in arrived


def test_a_request_captured_while_editing_is_offered_as_sample_data(
    app: Flask, user_client: FlaskClient, client: FlaskClient
) -> None:
    # Given a webhook workflow with unsaved sample data, listening on its test URL
    editor = Editor(user_client)
    workflow_id = webhook_workflow(editor)
    ready = editor.post(f"/workflows/{workflow_id}/webhook/url").get_data(as_text=True)
    editor.post(f"/workflows/{workflow_id}/trigger", {"type": "webhook", "sample_data": '{"a": 1}'})
    editor.post(f"/workflows/{workflow_id}/webhook/listen")
    match = re.search(r'value="http://localhost(/hooks/test/[^"]+)"', ready)
    assert match

    # When a request arrives, the poll ends, and the user takes it
    client.post(match.group(1), json={"order": 8})
    polled = editor.get(f"/workflows/{workflow_id}/webhook", htmx=True).get_data(as_text=True)
    used = editor.post(f"/workflows/{workflow_id}/webhook/sample")

    # Then it was offered beside the unsaved sample, and taking it puts it in the draft
    assert "A test request arrived:" in polled and 'id="webhook-use-sample"' in polled
    assert used.status_code == 200
    assert "The captured request is now the sample data." in used.get_data(as_text=True)
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        assert draft.spec["trigger"]["sample_data"]["body"] == {"order": 8}


def test_a_new_url_replaces_the_old_one(user_client: FlaskClient, client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = webhook_workflow(editor)
    first = editor.post(f"/workflows/{workflow_id}/webhook/url").get_data(as_text=True)
    editor.post(f"/workflows/{workflow_id}/webhook/listen")

    rotated = editor.post(f"/workflows/{workflow_id}/webhook/rotate").get_data(as_text=True)

    old = re.search(r'value="http://localhost(/hooks/test/[^"]+)"', first)
    new = re.search(r'value="http://localhost(/hooks/test/[^"]+)"', rotated)
    assert old and new and old.group(1) != new.group(1)
    assert "the old one no longer works" in rotated
    assert client.post(old.group(1), json={}).status_code == 404


def test_a_workflow_without_a_webhook_has_no_url(user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()

    response = editor.post(f"/workflows/{workflow_id}/webhook/url")
    unsaved = editor.post(f"/workflows/{workflow_id}/trigger", {"type": "webhook"})

    assert response.status_code == 404
    assert "Save the workflow with this trigger to get its URL." in unsaved.get_data(as_text=True)
