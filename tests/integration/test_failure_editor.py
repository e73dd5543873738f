"""The editor's "When a run fails" section (settings panel): it offers the user's own
workflows, senders and Slack credentials; Apply puts `settings.on_failure` in the draft and
Save keeps it; a refused field is shown beside its input; a Save refused for a deleted error
workflow opens the section with the message."""

from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import container, db
from app.models import Workflow
from app.services.workflows import crud
from tests.failure_support import add_credential
from tests.google_support import user_id
from tests.integration.editor_support import Editor

ALICE = "alice@example.com"


def settings_of_workflow(app: Flask, workflow_id: int) -> dict[str, object]:
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        return dict(workflow.settings or {})


def form(handler: int | str = "", sender: str = "", to: str = "", **more: str) -> dict[str, str]:
    return {
        "on_failure.workflow_id": str(handler),
        "on_failure.email.sender": sender,
        "on_failure.email.to": to,
        "on_failure.slack.credential_id": more.get("slack", ""),
        "on_failure.slack.channel": more.get("channel", ""),
        "on_failure.notify_every_minutes": more.get("minutes", "10"),
    }


def test_the_section_offers_only_the_users_own_choices(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given alice's workflows and SMTP credential, and mallory's workflow
    alice, mallory = Editor(user_client), Editor(other_client)
    orders, handler = alice.create("Orders"), alice.create("Tell the team")
    theirs = mallory.create("Mallory's")
    smtp = add_credential(app, user_id(app, ALICE), "smtp", {"host": "mail.example.com"})
    # When alice opens the workflow's settings
    html = alice.get(f"/workflows/{orders}?panel=settings").get_data(as_text=True)
    # Then the section says nothing happens yet and offers her choices only
    assert "When a run fails" in html
    assert "Nothing yet: a failed run only shows as failed in Executions." in html
    assert f'<option value="{handler}">Tell the team (#{handler})</option>' in html
    assert f'<option value="{orders}">This workflow (Orders)</option>' in html
    assert f'value="{theirs}"' not in html
    assert f'<option value="credential:{smtp}">SMTP: smtp 1</option>' in html
    assert "Add a Slack credential" in html


def test_apply_then_save_keeps_on_failure(app: Flask, user_client: FlaskClient) -> None:
    # Given a workflow, an error workflow, an SMTP and a Slack credential of alice's
    alice = Editor(user_client)
    orders, handler = alice.create("Orders"), alice.create("Tell the team")
    owner = user_id(app, ALICE)
    smtp = add_credential(app, owner, "smtp", {"host": "mail.example.com"})
    slack = add_credential(app, owner, "slack", {"webhook_url": "https://hooks.example/x"})
    # When the section is applied with all three
    posted = form(
        handler, f"credential:{smtp}", "ops@example.com", slack=str(slack), channel="#alerts"
    )
    response = alice.post(f"/workflows/{orders}/settings/on-failure", posted)
    # Then the section answers in words, and the toolbar is told of the unsaved change
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="on-failure"')
    assert (
        f"Runs Tell the team (#{handler}) · emails ops@example.com · posts to Slack #alerts · "
        "at most one notice every 10 min."
    ) in html
    assert "Failure handling applied. Save to keep it." in html
    assert json.loads(response.headers["HX-Trigger"])["stepline:changed"] is True
    assert "on_failure" not in settings_of_workflow(app, orders)  # only the draft so far
    # And Save keeps it in the workflow's settings
    assert alice.save(orders).status_code == 200
    assert settings_of_workflow(app, orders)["on_failure"] == {
        "workflow_id": handler,
        "email": {"to": "ops@example.com", "credential_id": smtp},
        "slack": {"credential_id": slack, "channel": "#alerts"},
    }
    # When everything is cleared and saved, on_failure is gone
    cleared = alice.post(f"/workflows/{orders}/settings/on-failure", form())
    assert "Nothing yet" in cleared.get_data(as_text=True)
    alice.save(orders)
    assert "on_failure" not in settings_of_workflow(app, orders)


def test_refused_fields_are_shown_beside_their_inputs(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    alice = Editor(user_client)
    orders = alice.create("Orders")
    theirs = Editor(other_client).create("Mallory's")
    smtp = add_credential(app, user_id(app, ALICE), "smtp", {"host": "mail.example.com"})

    # An address that is none, and no sender for another
    bad_to = alice.post(
        f"/workflows/{orders}/settings/on-failure",
        form("", f"credential:{smtp}", "ops at example", minutes="0"),
    )
    assert bad_to.status_code == 422
    html = bad_to.get_data(as_text=True)
    assert 'data-field="settings.on_failure.email.to"' in html
    assert "Check the addresses: &#39;ops&#39; is not an email address." in html
    assert 'value="ops at example"' in html  # what was typed is kept
    assert 'data-field="settings.on_failure.notify_every_minutes"' in html
    no_sender = alice.post(
        f"/workflows/{orders}/settings/on-failure", form("", "", "ops@example.com")
    )
    assert 'data-field="settings.on_failure.email"' in no_sender.get_data(as_text=True)
    assert "Choose how to send" in no_sender.get_data(as_text=True)

    # Another user's workflow, posted by hand
    foreign = alice.post(f"/workflows/{orders}/settings/on-failure", form(theirs))
    assert foreign.status_code == 422
    html = foreign.get_data(as_text=True)
    assert 'data-field="settings.on_failure.workflow_id"' in html
    assert f"Workflow {theirs} does not exist or is not yours" in html
    assert "Mallory" not in html

    # Without JavaScript the page comes back whole, the section's errors in place
    plain = alice.post(f"/workflows/{orders}/settings/on-failure", form(theirs), htmx=False)
    assert plain.status_code == 422
    assert "<html" in plain.get_data(as_text=True)


def test_a_save_refused_for_a_deleted_error_workflow_opens_the_section(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a workflow whose error workflow was deleted after it was saved
    alice = Editor(user_client)
    orders, handler = alice.create("Orders"), alice.create("Tell the team")
    alice.post(f"/workflows/{orders}/settings/on-failure", form(handler))
    assert alice.save(orders).status_code == 200
    with app.app_context():
        gone = db.session.get(Workflow, handler)
        assert gone is not None
        crud.delete_workflow(db.session(), gone, container(app).handlers)
    # When it is changed and saved again
    alice.post(f"/workflows/{orders}/settings", {"name": "Orders v2", "description": ""})
    response = alice.save(orders)
    # Then the save is refused and the section says why, the deleted workflow still selected
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-field="settings.on_failure.workflow_id"' in html
    assert re.search(rf'<option value="{handler}" selected>Workflow #{handler} \(deleted', html)
    assert json.loads(json.dumps(settings_of_workflow(app, orders)))["on_failure"] == {
        "workflow_id": handler
    }
