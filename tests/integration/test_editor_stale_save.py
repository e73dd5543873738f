"""The editor's Save checks the version the page began from, as the API's If-Match does: when
someone saved in between, it says who and when, and offers to load their version or save over it."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Action, Workflow
from tests.api_client import Api, issue_token
from tests.integration.editor_support import Editor

BASE_VERSION = re.compile(r'name="base_version" value="(\d+)"')


def _opened_version(editor: Editor, workflow_id: int) -> str:
    """The version the editor page says it works from (the Save form carries it)."""
    match = BASE_VERSION.search(editor.get(f"/workflows/{workflow_id}").get_data(as_text=True))
    assert match
    return match.group(1)


def _log_message(app: Flask, workflow_id: int) -> str:
    with app.app_context():
        config = db.session.scalar(
            select(Action.config).where(Action.workflow_id == workflow_id, Action.key == "log")
        )
        assert config is not None
        return str(config["message"])


def _saved_elsewhere(app: Flask, client: FlaskClient, workflow_id: int) -> None:
    """A script (alice's token "deploy") renames the workflow through the API."""
    api = Api(client, issue_token(app, "alice@example.com", name="deploy"))
    shown = api.get(f"/workflows/{workflow_id}")
    body = {k: shown.get_json()[k] for k in ("name", "description", "trigger", "steps")}
    saved = api.client.put(
        f"/api/v1/workflows/{workflow_id}",
        json={**body, "name": "Renamed by the script"},
        headers=api.headers({"If-Match": shown.headers["ETag"]}),
    )
    assert saved.status_code == 200, saved.get_json()


def test_a_save_over_someone_elses_says_who_saved_first_and_offers_the_ways_out(
    app: Flask, client: FlaskClient, user_client: FlaskClient
) -> None:
    # Given alice's editor open on version 2, with a change of hers not saved yet
    editor = Editor(user_client)
    workflow_id = editor.build()
    opened = _opened_version(editor, workflow_id)
    assert opened == "2"
    editor.apply(workflow_id, "log", {"message": "Mine", "level": "info"})
    # And a script that saves version 3 meanwhile
    _saved_elsewhere(app, client, workflow_id)

    # When she saves
    refused = editor.post(f"/workflows/{workflow_id}/save", {"base_version": opened, "note": "n"})

    # Then the save is refused in the header, saying who saved first, when, and which version
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert html.strip().startswith('<header id="editor-toolbar"')
    assert re.search(
        r"This workflow was changed by the API \(token “deploy”\) at \d{4}-\d\d-\d\d \d\d:\d\d UTC "
        r"\(version 3\) since you opened it at version 2\. Your changes are not saved yet\.",
        html,
    ), html
    # And it offers to load version 3 (dropping her changes) or to save hers over it
    assert "Reload version 3 (drop my changes)" in html
    assert f'action="/workflows/{workflow_id}/discard"' in html
    assert 'name="base_version" value="3"' in html and 'name="note" value="n"' in html
    # And nothing was overwritten
    assert _log_message(app, workflow_id) == "Order from {{ steps.transform.who }}"

    # When she chooses to save hers over it
    over = editor.post(f"/workflows/{workflow_id}/save", {"base_version": "3", "note": "n"})

    # Then it is saved as version 4 (version 3 stays in History)
    assert over.status_code == 200
    assert "Saved as version 4." in over.get_data(as_text=True)
    assert _log_message(app, workflow_id) == "Mine"
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None and workflow.saved_by == "the editor"
    history = editor.get(f"/workflows/{workflow_id}/history").get_data(as_text=True)
    assert 'id="version-3"' in history


def test_reload_drops_the_changes_and_shows_the_other_version(
    app: Flask, client: FlaskClient, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.build()
    opened = _opened_version(editor, workflow_id)
    editor.apply(workflow_id, "log", {"message": "Mine", "level": "info"})
    _saved_elsewhere(app, client, workflow_id)
    assert (
        editor.post(f"/workflows/{workflow_id}/save", {"base_version": opened}).status_code == 422
    )

    # When she takes the script's version instead
    editor.post(f"/workflows/{workflow_id}/discard")

    # Then the editor shows version 3, which the next save starts from
    page = editor.get(f"/workflows/{workflow_id}").get_data(as_text=True)
    assert "Renamed by the script" in page and "Version 3" in page
    assert _opened_version(editor, workflow_id) == "3"
    assert _log_message(app, workflow_id) == "Order from {{ steps.transform.who }}"


def test_without_javascript_the_refusal_comes_back_as_a_message_on_the_editor(
    app: Flask, client: FlaskClient, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.build()
    opened = _opened_version(editor, workflow_id)
    editor.apply(workflow_id, "log", {"message": "Mine", "level": "info"})
    _saved_elsewhere(app, client, workflow_id)

    refused = editor.post(f"/workflows/{workflow_id}/save", {"base_version": opened}, htmx=False)

    assert refused.status_code == 303
    page = editor.get(refused.headers["Location"]).get_data(as_text=True)
    assert "changed by the API (token “deploy”)" in page
    assert "Your changes are not saved yet." in page
    assert _log_message(app, workflow_id) == "Order from {{ steps.transform.who }}"
