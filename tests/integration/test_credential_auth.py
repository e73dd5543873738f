"""http_request and slack_message with a saved credential instead of inline secrets, in real
executions on both backends: each http_* kind is applied to the request, the Slack credential's
webhook URL or bot token is used, no stored row keeps the secret, a rotation is used by the next
run; inline secrets still work, and an export made before credentials imports and runs."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app.credentials.store import seal
from app.extensions import container, db
from app.models import Credential
from app.services.workflows import versions
from tests.fakes.http import FakeServer, Reply
from tests.fakes.slack import FakeSlack
from tests.google_support import run, steps_of, user_id, wait_final
from tests.service_support import add_credential, run_step, stored

ALICE = "alice@example.com"
SECRET = "k3y-0123456789abcdef"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def slack(server: FakeServer) -> FakeSlack:
    server.requests.clear()
    return FakeSlack(server)


@pytest.fixture
def app_config(app_config: dict[str, object], server: FakeServer) -> dict[str, object]:
    return {
        **app_config,
        "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"],
        "SLACK_API_BASE_URL": server.url("/api"),
    }


BASIC = "Basic " + base64.b64encode(f"ann:{SECRET}".encode()).decode()
KINDS = [
    ("http_header", {"header_name": "X-Api-Key", "value": SECRET}, "x-api-key", SECRET),
    ("http_bearer", {"token": SECRET}, "authorization", f"Bearer {SECRET}"),
    ("http_basic", {"username": "ann", "password": SECRET}, "authorization", BASIC),
]


@pytest.mark.parametrize(("kind", "fields", "header", "expected"), KINDS)
def test_an_http_credential_is_sent_with_the_request(
    app: Flask,
    user_client: FlaskClient,
    server: FakeServer,
    kind: str,
    fields: dict[str, str],
    header: str,
    expected: str,
) -> None:
    server.requests.clear()
    server.on("GET", "/items", Reply.json({"ok": True}))
    credential = add_credential(app, ALICE, kind, fields)
    config = {"url": server.url("/items"), "credential_id": credential}

    execution, step = run_step(app, "http_request", config)

    assert execution.status == "completed", execution.error
    assert server.requests_to("/items")[0].headers[header] == expected
    assert SECRET not in stored(step)


def test_a_query_credential_is_added_to_the_query(
    app: Flask, user_client: FlaskClient, server: FakeServer
) -> None:
    server.requests.clear()
    server.on("GET", "/search", Reply.json({"ok": True}))
    credential = add_credential(
        app, ALICE, "http_query", {"param_name": "api_key", "value": SECRET}
    )
    config = {"url": server.url("/search"), "query": {"q": "x"}, "credential_id": credential}

    execution, step = run_step(app, "http_request", config)

    assert execution.status == "completed", execution.error
    assert server.requests_to("/search")[0].query == {"q": ["x"], "api_key": [SECRET]}
    assert SECRET not in stored(step)


def test_a_credential_and_inline_auth_together_are_refused_on_save(app: Flask) -> None:
    from app.actions.http_request import HttpRequestConfig

    with pytest.raises(ValueError, match="use a credential or auth_type, not both"):
        HttpRequestConfig.model_validate(
            {
                "url": "https://x.example",
                "credential_id": 1,
                "auth_type": "bearer",
                "auth_token": "t",
            }
        )


def test_slack_posts_through_the_credentials_webhook_and_a_rotation_is_used_next_run(
    app: Flask, user_client: FlaskClient, slack: FakeSlack
) -> None:
    credential = add_credential(app, ALICE, "slack", {"webhook_url": slack.webhook_url})

    execution, step = run_step(
        app,
        "slack_message",
        {"credential_id": credential, "text": "Order {{ trigger.n }}"},
        {"n": 1},
    )

    assert execution.status == "completed", execution.error
    assert slack.messages == [{"via": "webhook", "text": "Order 1"}]
    assert slack.webhook_path.rsplit("/", 1)[1] not in stored(step)

    # When the credential is rotated to a bot token (and the step asks for the bot)
    with app.app_context():
        db.session.execute(
            update(Credential)
            .where(Credential.id == credential)
            .values(data_encrypted=seal(container(app).secrets, {"bot_token": slack.token}))
        )
        db.session.commit()
    config = {"credential_id": credential, "via": "bot", "channel": "C0001", "text": "hi"}
    execution, step = run_step(app, "slack_message", config)

    assert execution.status == "completed", execution.error
    assert slack.messages[-1]["via"] == "bot"
    assert slack.token not in stored(step)


def test_a_slack_credential_without_what_the_step_needs_fails_at_once(
    app: Flask, user_client: FlaskClient, slack: FakeSlack
) -> None:
    credential = add_credential(app, ALICE, "slack", {"webhook_url": slack.webhook_url})
    config = {"credential_id": credential, "via": "bot", "channel": "C0001", "text": "hi"}

    execution, step = run_step(app, "slack_message", config, attempts=3)

    assert execution.status == "failed" and step.attempts == 1
    assert step.error == "The Slack credential has no bot token (the step posts via 'bot')."


def old_export(webhook_url: str, url: str) -> dict[str, Any]:
    """A workflow exported before credentials existed: inline secrets in the configs."""
    return {
        "format": "stepline.workflow/1",
        "workflow": {
            "name": "Before credentials",
            "trigger": {"type": "manual", "config": {}},
            "steps": [
                {
                    "key": "notify",
                    "type": "slack_message",
                    "config": {"via": "webhook", "webhook_url": webhook_url, "text": "hi"},
                },
                {
                    "key": "call",
                    "type": "http_request",
                    "config": {
                        "method": "GET",
                        "url": url,
                        "auth_type": "bearer",
                        "auth_token": SECRET,
                    },
                },
            ],
        },
    }


def test_an_export_from_before_credentials_imports_and_runs(
    app: Flask, user_client: FlaskClient, server: FakeServer, slack: FakeSlack
) -> None:
    server.on("GET", "/old", Reply.json({"ok": True}))
    document = json.dumps(old_export(slack.webhook_url, server.url("/old")))

    with app.app_context():
        workflow, complete = versions.import_json(
            db.session(),
            user_id(app, ALICE),
            document,
            container(app).secrets,
            container(app).handlers,
        )
        workflow_id = workflow.id
    execution = wait_final(app, run(app, workflow_id, {}), timeout=30)

    assert complete
    assert execution.status == "completed", execution.error
    assert slack.messages == [{"via": "webhook", "text": "hi"}]
    assert server.requests_to("/old")[0].headers["authorization"] == f"Bearer {SECRET}"
    assert all(SECRET not in stored(step) for step in steps_of(app, execution.id))
