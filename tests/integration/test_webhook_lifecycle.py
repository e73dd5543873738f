"""Webhook configuration through the services: the URL's life, secrets at rest, validation."""

from __future__ import annotations

import pytest
from flask import Flask

from app.engine.redaction import REDACTED
from app.extensions import container, db
from app.models import Workflow
from app.services.errors import InvalidInputError
from app.services.webhooks import receiver
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.hooks_support import make_hook, make_user, make_workflow, trigger_row, wait_final


def _workflow(app: Flask, workflow_id: int) -> Workflow:
    workflow = db.session.get(Workflow, workflow_id)
    assert workflow is not None
    return workflow


def test_the_url_exists_before_enabling_and_survives_disable_enable(app: Flask) -> None:
    # Given a webhook workflow being built (disabled)
    workflow_id = make_workflow(app, {"type": "webhook", "config": {}}, enabled=False)
    with app.app_context():
        workflow = _workflow(app, workflow_id)
        # When the editor shows its URL, then the workflow is enabled, disabled, enabled
        token = receiver.ensure_token(db.session(), workflow)
        crud.set_enabled(db.session(), workflow, True, container().handlers)
        crud.set_enabled(db.session(), workflow, False, container().handlers)
        crud.set_enabled(db.session(), workflow, True, container().handlers)

    # Then the URL stayed the same
    assert trigger_row(app, workflow_id).webhook_token == token
    assert receiver.paths(token) == (f"/hooks/{token}", f"/hooks/test/{token}")


def test_the_signing_secret_is_encrypted_at_rest_and_left_out_of_exports(app: Flask) -> None:
    hook = make_hook(app, {"auth": "github", "secret": "gh-secret-1"})
    stored = trigger_row(app, hook.workflow_id).config["secret"]
    assert stored.startswith("enc:v1:") and "gh-secret-1" not in stored

    with app.app_context():
        workflow = _workflow(app, hook.workflow_id)
        spec = crud.to_spec(workflow, container().handlers)
        assert "secret" not in spec.trigger.config
        # Saving the mask back (the editor shows it) keeps the stored secret
        masked = spec.model_copy(deep=True)
        masked.trigger.config["secret"] = REDACTED
        stepline = container(app)
        crud.update_workflow(db.session(), workflow, masked, stepline.secrets, stepline.handlers)
    assert trigger_row(app, hook.workflow_id).config["secret"] == stored

    # and a new secret replaces it: deliveries signed with the old one fail from then on
    from tests.webhook_senders import github

    client = app.test_client()
    with app.app_context():
        workflow = _workflow(app, hook.workflow_id)
        changed = crud.to_spec(workflow, container().handlers)
        changed.trigger.config["secret"] = "gh-secret-2"
        crud.update_workflow(db.session(), workflow, changed, stepline.secrets, stepline.handlers)
    old = client.post(
        hook.url, data=b"{}", content_type="application/json", headers=github("gh-secret-1", b"{}")
    )
    new = client.post(
        hook.url, data=b"{}", content_type="application/json", headers=github("gh-secret-2", b"{}")
    )
    assert (old.status_code, new.status_code) == (401, 202)


@pytest.mark.parametrize(
    ("trigger", "field", "message"),
    [
        ({"type": "webhook", "config": {"auth": "stripe"}}, "trigger.config.secret", "secret"),
        (
            {"type": "webhook", "config": {"auth": "hmac", "secret": "s"}},
            "trigger.config.header",
            "header",
        ),
        (
            {"type": "webhook", "config": {"idempotency_key": "{{ trigger.body.id"}},
            "trigger.config.idempotency_key",
            "syntax",
        ),
        ({"type": "webhook", "config": {"methods": ["BREW"]}}, "trigger.config.methods.0", ""),
        ({"type": "schedule", "config": {"cron": "every day"}}, "trigger.config.cron", "5 fields"),
        (
            {"type": "schedule", "config": {"cron": "0 9 * * *", "timezone": "CEST"}},
            "trigger.config.timezone",
            "IANA",
        ),
    ],
)
def test_bad_trigger_configs_are_refused_naming_the_field(
    app: Flask, trigger: dict[str, object], field: str, message: str
) -> None:
    spec = WorkflowSpec.model_validate({"name": "bad", "trigger": trigger})
    with app.app_context():
        stepline = container(app)
        with pytest.raises(InvalidInputError) as refused:
            crud.create_workflow(
                db.session(), make_user(app), spec, stepline.secrets, stepline.handlers
            )
    assert refused.value.field == field
    assert message in refused.value.message


def test_a_saved_change_is_what_the_next_delivery_runs(app: Flask) -> None:
    # Given a webhook that has run once (its definition is now cached by this process)
    hook = make_hook(app)
    client = app.test_client()
    assert client.post(hook.url, json={"v": 1}).status_code == 202

    # When its step is changed and saved, and a delivery follows at once
    with app.app_context():
        workflow = _workflow(app, hook.workflow_id)
        spec = crud.to_spec(workflow, container().handlers)
        spec.steps[0].config = {"fields": {"changed": "yes"}}
        stepline = container(app)
        crud.update_workflow(db.session(), workflow, spec, stepline.secrets, stepline.handlers)
    assert client.post(hook.url, json={"v": 2}).status_code == 202

    # Then that delivery ran the new definition
    first, second = wait_final(app, hook.workflow_id, 2)
    assert first.snapshot["actions"][0]["config"]["fields"] != {"changed": "yes"}
    assert second.snapshot["actions"][0]["config"]["fields"] == {"changed": "yes"}
    assert second.workflow_version == first.workflow_version + 1


def test_a_workflow_deleted_then_replaced_never_runs_the_old_definition(app: Flask) -> None:
    # Given a webhook that ran, then was deleted (SQLite may hand its id to the next workflow)
    old = make_hook(app, steps=[{"key": "old", "type": "log", "config": {"message": "old"}}])
    client = app.test_client()
    assert client.post(old.url, json={}).status_code == 202
    wait_final(app, old.workflow_id)
    with app.app_context():
        crud.delete_workflow(db.session(), _workflow(app, old.workflow_id), container().handlers)

    # When a new webhook workflow is made and called
    new = make_hook(app, steps=[{"key": "new", "type": "log", "config": {"message": "new"}}])
    assert client.post(old.url, json={}).status_code == 404
    assert client.post(new.url, json={}).status_code == 202

    # Then it runs its own steps
    (execution,) = wait_final(app, new.workflow_id)
    assert [a["key"] for a in execution.snapshot["actions"]] == ["new"]
