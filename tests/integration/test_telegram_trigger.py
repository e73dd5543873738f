"""The telegram_message trigger against a fake Bot API (getUpdates), polled by the scheduler's
job on both backends: each new message fires one execution, messages from before enabling
never fire, the offset cursor survives a restart without duplicates, a chat filter, a 429
waited out, and a foreign credential refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.engine.runner import Send
from app.extensions import container, db
from app.models import Trigger
from app.models.base import utcnow
from app.services.errors import InvalidInputError
from app.services.scheduling import polls
from tests.fakes.http import FakeServer
from tests.fakes.telegram_updates import FakeTelegramUpdates, bot_error
from tests.google_support import dump_database, executions_of, make_workflow, user_id
from tests.hooks_support import close_app
from tests.integration.credentials_support import add_credential


@pytest.fixture
def telegram() -> Iterator[FakeTelegramUpdates]:
    with FakeServer() as server:
        yield FakeTelegramUpdates(server)


@pytest.fixture
def app_config(app_config: dict[str, object], telegram: FakeTelegramUpdates) -> dict[str, object]:
    return {**app_config, **telegram.settings()}


def poll_now(app: Flask, send: Send | None = None) -> int:
    current = container(app)
    later = utcnow() + timedelta(seconds=current.settings.poll_interval + 1)
    return polls.poll_due(
        current.session_factory,
        triggers=current.handlers.triggers,
        send=send or (lambda *message: None),
        settings=current.settings,
        secrets=current.secrets,
        now=later,
    )


def watch(
    app: Flask, telegram: FakeTelegramUpdates, email: str = "alice@example.com", **config: Any
) -> int:
    credential_id = add_credential(
        app, email, "telegram", "Shop bot", {"bot_token": telegram.token}
    )
    spec = {
        "name": "Bot",
        "trigger": {
            "type": "telegram_message",
            "config": {"credential_id": credential_id, **config},
        },
        "steps": [{"key": "note", "type": "log", "config": {"message": "{{ trigger.text }}"}}],
    }
    return make_workflow(app, user_id(app, email), spec)


def texts(app: Flask, workflow_id: int) -> list[str]:
    return [e.trigger_data["text"] for e in executions_of(app, workflow_id)]


def test_each_new_message_fires_once_and_earlier_ones_never(
    app: Flask, user_client: FlaskClient, telegram: FakeTelegramUpdates
) -> None:
    # Given a message sent to the bot an hour before the workflow is enabled
    telegram.send("old", at=time.time() - 3600)
    workflow_id = watch(app, telegram)

    # When two messages arrive and the scheduler polls, then one more
    telegram.send("first")
    telegram.send("second", chat_id=-100500, channel="shopnews")
    assert poll_now(app) == 2
    assert poll_now(app) == 0
    third = telegram.send("third")
    assert poll_now(app) == 1

    # Then each new message started one execution, in order; the old one none
    assert texts(app, workflow_id) == ["first", "second", "third"]
    first, second, _ = (e.trigger_data for e in executions_of(app, workflow_id))
    assert (first["kind"], first["chat"]["id"], first["from"]["first_name"]) == (
        "message",
        42,
        "Ada",
    )
    assert (second["kind"], second["chat"]["username"]) == ("channel_post", "shopnews")
    assert datetime.fromisoformat(first["date"]) > datetime.now(UTC) - timedelta(minutes=1)
    # And each poll asked from the offset after the last update fired (confirming it)
    assert telegram.calls[-1]["offset"] == str(third)
    # And the bot token is stored encrypted only, and is in no trigger state or execution
    assert telegram.token not in dump_database(app)


def test_the_offset_survives_a_restart_without_duplicates(
    app: Flask,
    app_config: dict[str, object],
    user_client: FlaskClient,
    telegram: FakeTelegramUpdates,
) -> None:
    workflow_id = watch(app, telegram)
    telegram.send("one")
    assert poll_now(app) == 1

    # When the process restarts (a new app on the same database) and Telegram, whose offset
    # was never confirmed by a later call, still lists the message
    restarted = create_app({**app_config, "EMBEDDED_WORKER": False})
    try:
        telegram.send("two")
        assert poll_now(restarted) == 1
        assert poll_now(restarted) == 0
        # Then each message fired once
        assert texts(restarted, workflow_id) == ["one", "two"]
    finally:
        close_app(restarted)


class SchedulerKilled(BaseException):
    """The scheduler process dies (not an error anything may catch)."""


def test_a_scheduler_killed_mid_poll_loses_and_repeats_nothing(
    app: Flask, user_client: FlaskClient, telegram: FakeTelegramUpdates
) -> None:
    workflow_id = watch(app, telegram)
    for n in range(4):
        telegram.send(f"message {n}")
    sent: list[int] = []

    def die_on_second(execution_id: int, *_: Any) -> None:
        sent.append(execution_id)
        if len(sent) == 2:
            raise SchedulerKilled

    with pytest.raises(SchedulerKilled):
        poll_now(app, send=die_on_second)
    assert poll_now(app) == 2
    assert texts(app, workflow_id) == [f"message {n}" for n in range(4)]


def test_a_chat_filter_fires_for_that_chat_only(
    app: Flask, user_client: FlaskClient, telegram: FakeTelegramUpdates
) -> None:
    workflow_id = watch(app, telegram, chat_id="@shopnews")
    telegram.send("elsewhere")
    telegram.send("news", chat_id=-100500, channel="shopnews")
    assert poll_now(app) == 1
    assert texts(app, workflow_id) == ["news"]


def test_a_429_makes_the_poll_wait_without_counting_as_a_failure(
    app: Flask, user_client: FlaskClient, telegram: FakeTelegramUpdates
) -> None:
    workflow_id = watch(app, telegram)
    telegram.fail_next(
        bot_error(429, "Too Many Requests: retry after 600", parameters={"retry_after": 600})
    )
    telegram.send("later")
    assert poll_now(app) == 0
    with app.app_context():
        trigger = db.session.query(Trigger).filter_by(workflow_id=workflow_id).one()
        assert trigger.next_run_at is not None
        assert trigger.next_run_at - datetime.now(UTC) > timedelta(minutes=9)
        assert (trigger.state.get("health") or {}).get("failures", 0) == 0


def test_a_bot_with_a_webhook_shows_why_in_trigger_health(
    app: Flask, user_client: FlaskClient, telegram: FakeTelegramUpdates
) -> None:
    workflow_id = watch(app, telegram)
    telegram.fail_next(
        bot_error(409, "Conflict: can't use getUpdates method while webhook is active")
    )
    poll_now(app)
    with app.app_context():
        trigger = db.session.query(Trigger).filter_by(workflow_id=workflow_id).one()
        error = trigger.state["health"]["error"]
    assert "webhook is active" in error and "delete it to poll" in error
    assert telegram.token not in error


def test_another_users_credential_is_refused_on_save(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient, telegram: FakeTelegramUpdates
) -> None:
    credential_id = add_credential(
        app, "alice@example.com", "telegram", "Alice's bot", {"bot_token": telegram.token}
    )
    spec = {
        "name": "Borrowed bot",
        "trigger": {"type": "telegram_message", "config": {"credential_id": credential_id}},
        "steps": [{"key": "note", "type": "log", "config": {"message": "x"}}],
    }
    with pytest.raises(InvalidInputError) as refused:
        make_workflow(app, user_id(app, "mallory@example.com"), spec)
    assert refused.value.field == "trigger.config.credential_id"
    assert telegram.calls == []
