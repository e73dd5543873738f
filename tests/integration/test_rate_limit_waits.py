"""A step that meets a rate limit waits for it without using up its attempts, and the
execution page says what it waits for and until when (both backends, the embedded worker)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import embedded_worker
from tests.dashboard_support import make_workflow, start, user_id, wait_final
from tests.fakes.http import FakeServer, Reply
from tests.fakes.slack import FakeSlack
from tests.google_support import steps_of
from tests.hooks_support import wait_until


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeServer() as server:
        yield FakeSlack(server)


@pytest.fixture
def app_config(app_config: dict[str, object], slack: FakeSlack) -> dict[str, object]:
    return {**app_config, "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"]}


def _workflow(app: Flask, slack: FakeSlack) -> int:
    step = {
        "key": "tell",
        "name": "Tell the team",
        "type": "slack_message",
        "config": {"webhook_url": slack.webhook_url, "text": "new order"},
        "retry": {"attempts": 1},  # a single attempt: any counted retry would fail the run
    }
    spec = {"name": "Tell", "trigger": {"type": "manual", "config": {}}, "steps": [step]}
    return make_workflow(app, user_id(app, "alice@example.com"), spec)


def test_a_429_waits_for_retry_after_without_using_the_steps_only_attempt(
    app: Flask, user_client: FlaskClient, slack: FakeSlack
) -> None:
    # Given a step allowed one attempt, and Slack answering its first call 429 for 1 second
    slack.fail_next(Reply.text("rate limited", 429, {"Retry-After": "1"}))
    workflow_id = _workflow(app, slack)

    # When the workflow runs
    embedded_worker(app).start()
    execution_id = start(app, workflow_id)

    # Then it completes: the wait was not its attempt, and Slack got the message once
    assert wait_final(app, [execution_id]) == ["completed"]
    assert [m["text"] for m in slack.messages] == ["new order"]
    (step,) = steps_of(app, execution_id)
    first, second = step.attempt_log
    assert first["waiting"]["service"] == "Slack"
    assert "waiting" not in second and "error" not in second

    # And its page shows the wait as such
    page = user_client.get(f"/executions/{execution_id}").get_data(as_text=True)
    assert "waited for Slack&#39;s rate limit (not counted as an attempt)" in page


def test_the_execution_page_says_until_when_a_step_waits_for_a_rate_limit(
    app: Flask, user_client: FlaskClient, slack: FakeSlack
) -> None:
    # Given Slack answering 429 with Retry-After: 600
    slack.fail_next(Reply.text("rate limited", 429, {"Retry-After": "600"}))
    workflow_id = _workflow(app, slack)

    # When the workflow runs and meets it
    embedded_worker(app).start()
    execution_id = start(app, workflow_id)

    def waiting() -> bool:
        steps = steps_of(app, execution_id)
        return bool(steps and steps[0].status == "pending" and steps[0].attempt_log)

    wait_until(waiting, what="the wait after the 429")
    asked = datetime.now(UTC)

    # Then the step is pending, and its page says it waits for Slack until about ten minutes on
    (step,) = steps_of(app, execution_id)
    assert step.status == "pending"
    until = datetime.fromisoformat(step.attempt_log[-1]["waiting"]["until"])
    assert timedelta(minutes=9) < until - asked <= timedelta(minutes=10)
    page = user_client.get(f"/executions/{execution_id}").get_data(as_text=True)
    assert "Waiting for Slack&#39;s rate limit until <time" in page
    assert f">{until.astimezone(UTC):%H:%M:%S}</time> UTC." in page
    assert slack.messages == []
