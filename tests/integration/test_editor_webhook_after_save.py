"""The trigger panel's webhook box, open while the webhook trigger is not saved yet, asks to
be refreshed by Save (`stepline:saved`), and then offers "Listen for a test request" without
reopening the panel."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.integration.editor_support import Editor


def test_the_webhook_box_refreshes_itself_when_the_workflow_is_saved(
    user_client: FlaskClient,
) -> None:
    # Given a new workflow whose trigger was just made a webhook, not saved yet
    editor = Editor(user_client)
    workflow_id = editor.create()
    applied = editor.post(f"/workflows/{workflow_id}/trigger", {"type": "webhook"})
    html = applied.get_data(as_text=True)
    box = html[html.index('<section id="webhook"') :]
    box = box[: box.index(">")]
    assert f'hx-get="/workflows/{workflow_id}/webhook?after=save"' in box
    assert 'hx-trigger="stepline:saved from:body"' in box
    assert "webhook-listen" not in html

    # When it is saved, the box asks again
    assert editor.save(workflow_id).status_code == 200
    again = editor.get(f"/workflows/{workflow_id}/webhook?after=save", htmx=True)

    # Then it offers to listen, and no longer waits for a save
    section = again.get_data(as_text=True)
    assert again.status_code == 200
    assert section.lstrip().startswith('<section id="webhook"')
    assert 'id="webhook-listen"' in section
    assert "stepline:saved" not in section.split(">", 1)[0]
