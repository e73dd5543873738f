"""The trigger panel's webhook section: the URL from the moment the trigger becomes a webhook,
listen for a test request, use what arrived as sample data, issue a new URL."""

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
    # Given a saved webhook workflow, its trigger panel open: the URL is there already
    editor = Editor(user_client)
    workflow_id = webhook_workflow(editor)
    panel = editor.get(f"/workflows/{workflow_id}?panel=trigger", htmx=True).get_data(as_text=True)
    assert 'id="webhook"' in panel and "Get the URL" not in panel
    assert 'data-copy="webhook-url"' in panel and 'data-copy="webhook-test-url"' in panel

    # When the user asks for the URL again (nothing changes) and starts listening
    ready = editor.post(f"/workflows/{workflow_id}/webhook/url").get_data(as_text=True)
    assert re.search(r'value="(http://localhost/hooks/[^"]+)"', panel).group(1) in ready  # type: ignore[union-attr]
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
    page = editor.get(f"/workflows/{workflow_id}").get_data(as_text=True)

    assert response.status_code == 404
    assert "/hooks/" not in page and "header-webhook-url" not in page


def test_the_url_shows_as_soon_as_the_trigger_becomes_a_webhook(
    user_client: FlaskClient, client: FlaskClient
) -> None:
    # Given a new workflow whose trigger the user turns into a webhook, without saving
    editor = Editor(user_client)
    workflow_id = editor.create()
    unsaved = editor.post(f"/workflows/{workflow_id}/trigger", {"type": "webhook"})
    html = unsaved.get_data(as_text=True)

    # Then the panel shows both URLs with Copy buttons, and says they answer once saved
    match = re.search(r'id="webhook-url" class="code" type="text" readonly value="([^"]+)"', html)
    assert match and match.group(1).startswith("http://localhost/hooks/")
    assert 'data-copy="webhook-url"' in html and 'data-copy="webhook-test-url"' in html
    assert "Save the workflow to listen for a test request" in html
    # And the editor's header shows the same URL, not live yet
    header = editor.get(f"/workflows/{workflow_id}/toolbar", htmx=True).get_data(as_text=True)
    assert f'value="{match.group(1)}"' in header and "Answers once saved and active" in header
    path = match.group(1).removeprefix("http://localhost")
    assert client.post(path, json={"a": 1}).status_code == 404  # not saved, not active

    # When the user saves and switches the workflow on
    assert editor.save(workflow_id).status_code == 200
    switched = editor.post(f"/workflows/{workflow_id}/active", {"active": "1"})

    # Then the same URL is live and starts a run
    assert switched.status_code == 200
    assert f'value="{match.group(1)}"' in switched.get_data(as_text=True)
    assert ">Live<" in switched.get_data(as_text=True)
    assert client.post(path, json={"a": 1}).status_code == 202
