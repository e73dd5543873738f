"""A webhook changed after a delivery answers as it is now, never as it was read before.

On PostgreSQL each process keeps what a token named at an earlier request, and the insert
checks it is still current (app.services.webhooks.token_lookup.Targets); these tests warm that
read with a first delivery, change the webhook (through the services, and behind their back
with plain SQL, as a change that makes no new version), then deliver again. On SQLite every
delivery reads afresh: the same answers are expected."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from app.extensions import container, db
from app.models import Workflow
from app.services.webhooks import receiver
from app.services.workflows import crud
from tests.hooks_support import executions_of, make_hook, wait_final


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    # An hour's window: the deliveries below must not straddle two windows
    return {**app_config, "WEBHOOK_RATE_LIMIT": "4/hour"}


def _set_config(app: Flask, workflow_id: int, patch: str) -> None:
    """Merge `patch` (JSON) into the trigger's config with plain SQL: no new version."""
    with app.app_context():
        cast = "CAST(:patch AS jsonb)" if db.engine.dialect.name == "postgresql" else "json(:patch)"
        merge = (
            f"config || {cast}"
            if db.engine.dialect.name == "postgresql"
            else f"json_patch(config, {cast})"
        )
        db.session.execute(
            text(f"UPDATE triggers SET config = {merge} WHERE workflow_id = :id"),
            {"patch": patch, "id": workflow_id},
        )
        db.session.commit()


def test_methods_enabling_and_the_token_are_read_as_they_are_now(app: Flask) -> None:
    hook = make_hook(app)
    client = app.test_client()
    assert client.post(hook.url, json={"n": 1}).status_code == 202

    # When the accepted methods change without a new version: POST is refused, PUT goes in
    _set_config(app, hook.workflow_id, '{"methods": ["PUT"]}')
    refused = client.post(hook.url, json={"n": 2})
    assert refused.status_code == 405 and refused.headers["Allow"] == "PUT"
    assert client.put(hook.url, json={"n": 3}).status_code == 202
    _set_config(app, hook.workflow_id, '{"methods": ["POST"]}')

    # When the workflow is switched off, then on, then its URL rotated
    with app.app_context():
        workflow = db.session.get(Workflow, hook.workflow_id)
        assert workflow is not None
        crud.set_enabled(db.session(), workflow, False, container().handlers)
    assert client.post(hook.url, json={"n": 4}).status_code == 404
    with app.app_context():
        workflow = db.session.get(Workflow, hook.workflow_id)
        assert workflow is not None
        crud.set_enabled(db.session(), workflow, True, container().handlers)
        new_token = receiver.rotate_token(db.session(), workflow)
    assert client.post(hook.url, json={"n": 5}).status_code == 404
    assert client.post(f"/hooks/{new_token}", json={"n": 6}).status_code == 202

    # Then exactly the accepted deliveries were stored, and they ran
    runs = wait_final(app, hook.workflow_id, 3)
    assert sorted(run.trigger_data["body"]["n"] for run in runs) == [1, 3, 6]
    assert {run.status for run in runs} == {"completed"}


def test_a_new_definition_and_a_new_secret_apply_from_the_next_delivery(app: Flask) -> None:
    hook = make_hook(app, {"auth": "header", "header": "X-Secret", "secret": "first"})
    client = app.test_client()
    assert client.post(hook.url, json={}, headers={"X-Secret": "first"}).status_code == 202

    # When the workflow is saved with a new secret and a new step
    with app.app_context():
        stepline = container()
        workflow = db.session.get(Workflow, hook.workflow_id)
        assert workflow is not None
        spec = crud.to_spec(workflow, stepline.handlers)
        spec.trigger.config["secret"] = "second"
        spec.steps.append(
            spec.steps[0].model_copy(update={"key": "again", "config": {"fields": {"x": "1"}}})
        )
        crud.update_workflow(db.session(), workflow, spec, stepline.secrets, stepline.handlers)

    # Then the old secret is refused and the new one runs the new definition
    assert client.post(hook.url, json={}, headers={"X-Secret": "first"}).status_code == 401
    assert client.post(hook.url, json={}, headers={"X-Secret": "second"}).status_code == 202
    first, second = wait_final(app, hook.workflow_id, 2)
    assert [len(first.snapshot["actions"]), len(second.snapshot["actions"])] == [1, 2]
    assert second.workflow_version == first.workflow_version + 1


def test_a_delivery_checked_again_on_a_fresh_read_counts_once(app: Flask) -> None:
    # Given a webhook allowed 4 deliveries an hour, with one delivered (its read is kept)
    hook = make_hook(app)
    client = app.test_client()
    assert client.post(hook.url, json={}).status_code == 202

    # When its config changes behind the kept read, and three more deliveries come
    _set_config(app, hook.workflow_id, '{"methods": ["POST", "PUT"]}')
    answers = [client.post(hook.url, json={}).status_code for _ in range(4)]

    # Then the one checked twice (kept read, then fresh) counted once: 3 more fit, the 5th not
    assert answers == [202, 202, 202, 429]
    assert len(executions_of(app, hook.workflow_id)) == 4
