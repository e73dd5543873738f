"""Connection tokens under load and failure: one refresh for twenty concurrent steps,
invalid_grant, Google's rate limits per connection, and no token ever stored in clear text."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import ExecutionStep
from app.models.base import utcnow
from app.services.connections import store
from app.services.workflows.crud import get_workflow
from tests.fakes.google import FakeGoogle
from tests.fakes.google_apis import rate_limited
from tests.fakes.http import FakeServer
from tests.google_support import (
    connect,
    connections_of,
    dump_database,
    make_workflow,
    run,
    set_connection,
    steps_of,
    user_id,
    wait_final,
    wait_for,
)

STEPS = 20


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeServer() as server:
        yield FakeGoogle(server)


@pytest.fixture
def app_config(app_config: dict[str, object], google: FakeGoogle) -> dict[str, object]:
    return {**app_config, **google.settings(), "WORKER_THREADS": STEPS}


def send_workflow(app: Flask, connection_id: int, attempts: int = 3) -> int:
    spec: dict[str, Any] = {
        "name": "Mail",
        "trigger": {"type": "manual"},
        "steps": [
            {
                "key": "mail",
                "type": "gmail_send",
                "config": {
                    "connection_id": connection_id,
                    "to": "ann@example.org",
                    "subject": "Run {{ trigger.n }}",
                    "body_text": "hello",
                },
                "retry": {"attempts": attempts, "backoff": {"type": "fixed", "delay": 0.1}},
            }
        ],
    }
    return make_workflow(app, user_id(app, "alice@example.com"), spec, enable=False)


def expire(app: Flask, connection_id: int) -> None:
    set_connection(app, connection_id, expires_at=utcnow() - timedelta(minutes=1))


def running_steps(app: Flask) -> int:
    with app.app_context():
        return int(
            db.session.scalar(select(func.count()).where(ExecutionStep.status == "running")) or 0
        )


def test_twenty_concurrent_steps_refresh_the_token_once(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a connection whose access token has expired, and Google slow to refresh it
    connect(user_client, ["gmail_send"])
    (connection,) = connections_of(app, "alice@example.com")
    workflow_id = send_workflow(app, connection.id)
    expire(app, connection.id)
    google.refresh_gate = threading.Event()

    # When twenty executions run at once, all of their steps inside the action
    started = [run(app, workflow_id, {"n": n}) for n in range(STEPS)]
    wait_for(lambda: running_steps(app) == STEPS, what="20 steps running at once")
    google.refresh_gate.set()
    finished = [wait_final(app, execution_id) for execution_id in started]

    # Then every step sent its message, and Google saw one refresh
    assert [e.status for e in finished] == ["completed"] * STEPS
    assert google.refresh_calls == 1
    assert len(google.gmail.sent) == STEPS
    # And all sends used the one refreshed token
    tokens = {call.headers["authorization"] for call in google.gmail.calls}
    assert len(tokens) == 1


def test_invalid_grant_marks_the_connection_and_fails_the_step_without_retry(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given an expired token, and Google refusing the refresh token (access revoked there)
    connect(user_client, ["gmail_send"])
    (connection,) = connections_of(app, "alice@example.com")
    workflow_id = send_workflow(app, connection.id, attempts=5)
    expire(app, connection.id)
    google.invalid_grant = True

    # When the workflow runs
    execution = wait_final(app, run(app, workflow_id, {"n": 1}))

    # Then the step failed once, telling the user to reconnect; nothing was sent
    assert execution.status == "failed"
    (step,) = steps_of(app, execution.id)
    assert step.attempts == 1 and "reconnect it on the Connections page" in (step.error or "")
    assert google.gmail.sent == []
    # And the connection needs reconnecting, its tokens deleted
    (after,) = connections_of(app, "alice@example.com")
    assert after.status == "needs_reconnect"
    assert after.access_token_encrypted is None and after.refresh_token_encrypted is None
    # And the next run fails at once, without asking Google again
    again = wait_final(app, run(app, workflow_id, {"n": 2}))
    assert again.status == "failed" and google.refresh_calls == 1
    # And the workflow's page warns about the connection, linking to Reconnect on Connections
    with app.app_context():
        workflow = get_workflow(db.session(), workflow_id, user_id(app, "alice@example.com"))
        assert [c.id for c in store.needing_attention(db.session(), workflow)] == [connection.id]
    editor = user_client.get(f"/workflows/{workflow_id}").get_data(as_text=True)
    assert 'id="connection-warning"' in editor and "Google no longer accepts" in editor
    assert f'href="/connections#connection-{connection.id}"' in editor
    page = user_client.get("/connections").get_data(as_text=True)
    assert "Needs reconnect" in page and "Reconnect" in page


def test_a_rate_limit_holds_back_that_connection_only(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given two connected accounts, each used by a workflow
    connect(user_client, ["gmail_send"])
    google.account = "work.google@example.com"
    connect(user_client, ["gmail_send"])
    first, second = connections_of(app, "alice@example.com")
    limited, other = send_workflow(app, first.id), send_workflow(app, second.id)

    # When Google answers the first account's send with 429, Retry-After 30 s
    google.gmail.fail_next(rate_limited(retry_after=30))
    execution = run(app, limited, {"n": 1})
    wait_for(lambda: steps_of(app, execution)[0].error, what="the first attempt's error")

    # Then that step waits for Google's 30 s (a retry, not a failure)
    (step,) = steps_of(app, execution)
    assert step.status == "pending" and "rate limit" in (step.error or "")
    assert step.next_retry_at is not None
    assert step.next_retry_at - utcnow() > timedelta(seconds=25)
    (backing_off, _) = connections_of(app, "alice@example.com")
    assert backing_off.backoff_until is not None
    # And another step on that connection waits too, without calling Google
    calls = len(google.gmail.calls)
    waiting = run(app, limited, {"n": 2})
    wait_for(lambda: steps_of(app, waiting)[0].error, what="the second step's attempt")
    assert len(google.gmail.calls) == calls
    assert steps_of(app, waiting)[0].status == "pending"
    # And the other account's workflow runs at once
    assert wait_final(app, run(app, other, {"n": 3})).status == "completed"
    assert len(google.gmail.sent) == 1


def test_tokens_are_never_stored_in_clear_text(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a connection that was used, refreshed, used again and then revoked elsewhere
    connect(user_client)
    google.account = "second.google@example.com"
    connect(user_client)
    first, _ = connections_of(app, "alice@example.com")
    workflow_id = send_workflow(app, first.id)
    assert wait_final(app, run(app, workflow_id, {"n": 1})).status == "completed"
    expire(app, first.id)
    assert wait_final(app, run(app, workflow_id, {"n": 2})).status == "completed"
    assert google.refresh_calls == 1

    # When the whole database is dumped
    dump = dump_database(app)

    # Then none of the access or refresh tokens Google issued appears in it
    issued = google.issued_tokens()
    assert len(issued) == 5  # two refresh tokens, three access tokens
    assert [token for token in issued if token in dump] == []
    assert "enc:v1:" in dump  # they are there, encrypted
