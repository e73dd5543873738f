"""`settings.on_failure` where people and scripts set it: the JSON API (read back, round trip,
422 naming the field for what is not the owner's, the OpenAPI document), export and import
(kept in the same account, refused in another with a clear message), the editor's "When a
run fails" section (choices, Apply, errors beside the fields, Save), the credential delete
check, and the error run's page linking to the failed run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import settings_of
from app.extensions import db
from app.models import Workflow
from app.services.executions import lifecycle
from tests.api_client import Api, error_of, issue_token
from tests.conftest import register
from tests.failure_support import ERROR_WORKFLOW, add_credential, failing
from tests.google_support import user_id
from tests.integration.editor_support import Editor

ALICE, MALLORY = "alice@example.com", "mallory@example.com"


@pytest.fixture
def alice(app: Flask, user_client: FlaskClient) -> Api:
    return Api(user_client, issue_token(app, ALICE))


@pytest.fixture
def mallory(app: Flask) -> Api:
    return Api(app.test_client(), issue_token(app, MALLORY))


def credential(app: Flask, email: str, kind: str) -> int:
    kinds: dict[str, dict[str, Any]] = {
        "smtp": {"host": "smtp.example.com", "port": 587, "from_address": "robot@example.com"},
        "slack": {"webhook_url": "https://hooks.slack.com/services/T/B/x"},
    }
    fields = kinds[kind]
    return add_credential(app, user_id(app, email), kind, fields)


def test_the_api_reads_back_and_round_trips_on_failure(app: Flask, alice: Api) -> None:
    # Given an error workflow, an SMTP and a Slack credential of alice's
    handler = alice.create(ERROR_WORKFLOW)
    smtp, slack = credential(app, ALICE, "smtp"), credential(app, ALICE, "slack")
    on_failure = {
        "workflow_id": handler["id"],
        "email": {"to": "ops@example.com", "credential_id": smtp},
        "slack": {"credential_id": slack, "channel": "#alerts"},
        "notify_every_minutes": 30,
    }
    # When a workflow is created with them
    created = alice.create(failing("Orders", on_failure))
    # Then it reads back as given (defaults filled in)
    assert created["settings"]["on_failure"] == {
        **on_failure,
        "email": {**on_failure["email"], "connection_id": None},
    }
    # And a PUT of what GET answered keeps it
    response = alice.put(f"/workflows/{created['id']}", created)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["settings"]["on_failure"] == created["settings"]["on_failure"]


OPS = "ops@example.com"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"workflow_id": "mallory"}, "workflow_id"),
        ({"workflow_id": 999_999}, "workflow_id"),
        ({"workflow_id": 2**40}, "workflow_id"),
        ({"slack": {"credential_id": 2**63}}, "slack.credential_id"),
        ({"email": {"to": OPS, "credential_id": "slack"}}, "email.credential_id"),
        ({"email": {"to": OPS, "credential_id": "mallory_smtp"}}, "email.credential_id"),
        ({"email": {"to": OPS, "connection_id": 999}}, "email.connection_id"),
        ({"email": {"to": OPS}}, "email"),
        ({"email": {"to": "not an address", "credential_id": "smtp"}}, "email.to"),
        ({"email": {"to": "a@x.org\r\nBcc: b@y.org", "credential_id": "smtp"}}, "email.to"),
        ({"slack": {"credential_id": "smtp"}}, "slack.credential_id"),
        ({"slack": {"channel": "#alerts"}}, "slack.credential_id"),
        ({"workflow_id": "own", "notify_every_minutes": 0}, "notify_every_minutes"),
        ({}, ""),
    ],
)
def test_what_is_not_the_owners_or_not_valid_is_422_naming_the_field(
    app: Flask, alice: Api, mallory: Api, change: dict[str, Any], field: str
) -> None:
    ids = {
        "own": alice.create(ERROR_WORKFLOW)["id"],
        "mallory": mallory.create(ERROR_WORKFLOW)["id"],
        "smtp": credential(app, ALICE, "smtp"),
        "slack": credential(app, ALICE, "slack"),
        "mallory_smtp": credential(app, MALLORY, "smtp"),
    }

    def resolved(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolved(v) for k, v in value.items()}
        return ids.get(value, value) if isinstance(value, str) else value

    response = alice.post("/workflows", failing("Orders", resolved(change)))

    assert response.status_code == 422, response.get_json()
    assert error_of(response)["field"] == f"settings.on_failure.{field}".rstrip(".")


def test_export_import_keeps_it_at_home_and_refuses_it_elsewhere(
    app: Flask, alice: Api, mallory: Api
) -> None:
    # Given alice's workflow whose error workflow is another of hers
    handler = alice.create(ERROR_WORKFLOW)
    created = alice.create(failing("Orders", {"workflow_id": handler["id"]}))
    document = alice.get(f"/workflows/{created['id']}/export").get_json()
    assert document["workflow"]["settings"]["on_failure"]["workflow_id"] == handler["id"]
    # When alice imports it again, the copy keeps its error workflow
    copy = alice.post("/workflows/import", document)
    assert copy.status_code == 201
    assert copy.get_json()["settings"]["on_failure"]["workflow_id"] == handler["id"]
    # When mallory imports it, the import is refused, naming the field and saying why
    refused = mallory.post("/workflows/import", document)
    assert refused.status_code == 422
    error = error_of(refused)
    assert error["field"] == "workflow.settings.on_failure.workflow_id"
    assert "must be one of your workflows" in error["message"]
    # And the import page refuses it for another user the same way
    page = app.test_client()
    register(page, "eve@example.com")
    response = Editor(page).post("/workflows/import", {"json": json.dumps(document)}, htmx=False)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "settings.on_failure.workflow_id: Workflow" in html
    assert "must be one of your workflows" in html


def test_the_openapi_document_describes_on_failure(alice: Api) -> None:
    document = alice.client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    on_failure = schemas["OnFailure"]
    assert set(on_failure["properties"]) == {
        "workflow_id",
        "email",
        "slack",
        "notify_every_minutes",
    }
    assert all(p.get("description") for p in on_failure["properties"].values())
    assert "4 more failures" in on_failure["properties"]["notify_every_minutes"]["description"]


def test_a_credential_the_failure_notice_uses_asks_before_it_is_deleted(
    app: Flask, alice: Api
) -> None:
    slack = credential(app, ALICE, "slack")
    alice.create(failing("Orders", {"slack": {"credential_id": slack}}))

    response = alice.delete(f"/connections/credentials/{slack}")

    assert response.status_code == 409
    assert "Orders" in error_of(response)["message"]


def test_the_error_runs_page_links_to_the_failed_run(app: Flask, user_client: FlaskClient) -> None:
    # Given a run that failure handling started for run #7 of “Orders”
    with app.app_context():
        owner = user_id(app, ALICE)
        workflow = Workflow(user_id=owner, name="Tell the team", enabled=False, version=1)
        db.session.add(workflow)
        db.session.commit()
        data = {"workflow": {"id": 3, "name": "Orders <b>"}, "execution": {"id": 7, "url": "x"}}
        run = lifecycle.start(
            db.session(),
            workflow,
            data,
            send=lambda *a: None,
            settings=settings_of(app),
            trigger_type="failure",
        ).id
    # When its page is read
    html = user_client.get(f"/executions/{run}").get_data(as_text=True)
    # Then it links to the failed run, the workflow's name escaped
    assert '<a href="/executions/7">run #7</a> of “Orders &lt;b&gt;”' in html
