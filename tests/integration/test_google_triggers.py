"""The Google triggers against the fake Google, polled by the scheduler's job: each new item
fires exactly one execution, nothing older than enabling fires, a scheduler killed mid-poll
loses and repeats nothing, and a poll that keeps failing shows in trigger health."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import container, db
from app.models import Trigger
from app.services.errors import InvalidInputError
from app.services.workflows import crud, trigger_health
from app.services.workflows.specs import WorkflowSpec
from app.triggers.google.polling import STALL_AFTER
from tests.fakes.google import FakeGoogle
from tests.fakes.google_apis import google_error, rate_limited
from tests.fakes.http import FakeServer
from tests.google_support import (
    connect,
    connections_of,
    executions_of,
    gmail_spec,
    make_workflow,
    poll_now,
    user_id,
)

DAY_AGO = datetime.now(UTC) - timedelta(days=1)


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeServer() as server:
        yield FakeGoogle(server)


@pytest.fixture
def app_config(app_config: dict[str, object], google: FakeGoogle) -> dict[str, object]:
    return {**app_config, **google.settings()}


@dataclass(frozen=True)
class Kind:
    """How to drive one Google trigger: its config, an item from before, a new item."""

    type: str
    config: dict[str, Any]
    old: Callable[[FakeGoogle], object]
    new: Callable[[FakeGoogle, str], object]
    label: Callable[[dict[str, Any]], str]  # the test's name for an item, from trigger data


def _sheet(google: FakeGoogle) -> None:
    google.sheets.add_sheet("s1", "Leads", [["Name", "Email"], ["Old", "old@example.com"]])


KINDS = [
    Kind(
        "google.gmail_new_message",
        {"query": "from:shop@example.com"},
        lambda g: g.gmail.deliver("shop@example.com", "old", at=DAY_AGO),
        lambda g, name: g.gmail.deliver("shop@example.com", name, "body"),
        lambda data: data["subject"],
    ),
    Kind(
        "google.sheets_new_row",
        {"spreadsheet_id": "s1", "sheet": "Leads"},
        _sheet,
        lambda g, name: g.sheets.add_row("s1", "Leads", [name, f"{name}@example.com"]),
        lambda data: data["fields"]["Name"],
    ),
    Kind(
        "google.drive_new_file",
        {"folder_id": "folder1"},
        lambda g: g.drive.add_file("folder1", "old.txt", at=DAY_AGO),
        lambda g, name: g.drive.add_file("folder1", name),
        lambda data: data["name"],
    ),
    Kind(
        "google.calendar_new_event",
        {"calendar_id": "primary"},
        lambda g: g.calendar.add_event("old", at=DAY_AGO),
        lambda g, name: g.calendar.add_event(name),
        lambda data: data["summary"],
    ),
]


def enable(app: Flask, client: FlaskClient, trigger_type: str, config: dict[str, Any]) -> int:
    connect(client)
    (connection,) = connections_of(app, "alice@example.com")
    spec = {
        "name": trigger_type,
        "trigger": {"type": trigger_type, "config": {"connection_id": connection.id, **config}},
        "steps": [{"key": "note", "type": "log", "config": {"message": "new"}}],
    }
    return make_workflow(app, user_id(app, "alice@example.com"), spec)


def fired(app: Flask, workflow_id: int, kind: Kind) -> list[str]:
    return [kind.label(e.trigger_data) for e in executions_of(app, workflow_id)]


@pytest.mark.parametrize("kind", KINDS, ids=[k.type.split(".")[1] for k in KINDS])
def test_each_new_item_fires_once_and_old_items_never(
    app: Flask, user_client: FlaskClient, google: FakeGoogle, kind: Kind
) -> None:
    # Given an item from before the workflow is enabled
    kind.old(google)
    workflow_id = enable(app, user_client, kind.type, kind.config)

    # When the scheduler polls (a first poll takes the baseline)
    assert poll_now(app) == 0

    # And two new items arrive, then the scheduler polls twice
    kind.new(google, "first")
    kind.new(google, "second")
    assert poll_now(app) == 2
    assert poll_now(app) == 0

    # And one more arrives
    kind.new(google, "third")
    assert poll_now(app) == 1

    # Then each new item started exactly one execution, in order; the old one none
    assert fired(app, workflow_id, kind) == ["first", "second", "third"]
    assert {e.trigger_type for e in executions_of(app, workflow_id)} == {kind.type}


class SchedulerKilled(BaseException):
    """The scheduler process dies (not an error anything may catch)."""


def test_a_scheduler_killed_mid_poll_loses_and_repeats_nothing(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a Gmail trigger and four new messages
    connect(user_client)
    (connection,) = connections_of(app, "alice@example.com")
    workflow_id = make_workflow(app, user_id(app, "alice@example.com"), gmail_spec(connection.id))
    poll_now(app)
    for n in range(4):
        google.gmail.deliver("bob@example.com", f"message {n}")

    # When the scheduler dies right after committing the second execution of its poll
    sent: list[int] = []

    def die_on_second(execution_id: int, *_: Any) -> None:
        sent.append(execution_id)
        if len(sent) == 2:
            raise SchedulerKilled

    with pytest.raises(SchedulerKilled):
        poll_now(app, send=die_on_second)
    assert len(executions_of(app, workflow_id)) == 2

    # And a new scheduler polls after it
    assert poll_now(app) == 2
    assert poll_now(app) == 0

    # Then every message fired exactly once
    subjects = [e.trigger_data["subject"] for e in executions_of(app, workflow_id)]
    assert subjects == [f"message {n}" for n in range(4)]


def test_a_poll_that_keeps_failing_shows_in_trigger_health(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a Gmail trigger, and Google failing every call for a while
    connect(user_client)
    (connection,) = connections_of(app, "alice@example.com")
    owner = user_id(app, "alice@example.com")
    workflow_id = make_workflow(app, owner, gmail_spec(connection.id))
    google.gmail.fail_next(*[google_error(500, "Backend Error", "backendError")] * STALL_AFTER)

    def assessed() -> trigger_health.Health:
        with app.app_context():
            workflow = crud.get_workflow(db.session(), workflow_id, owner)
            return trigger_health.health(db.session(), workflow, container().handlers.triggers)

    # When the scheduler polls fewer times than the stall threshold, then once more
    for _ in range(STALL_AFTER - 1):
        poll_now(app)
    assert not assessed().overdue
    poll_now(app)

    # Then trigger health shows the trigger as stalled, with Google's error
    stalled = assessed()
    assert stalled.overdue
    assert f"failed {STALL_AFTER} times in a row" in stalled.message
    assert "Backend Error" in stalled.message
    with app.app_context():
        assert [
            w.id for w in trigger_health.overdue(db.session(), owner, container().handlers.triggers)
        ] == [workflow_id]
    # And a message that arrives meanwhile fires once Google answers again; health recovers
    google.gmail.deliver("bob@example.com", "while stalled")
    assert poll_now(app) == 1
    assert not assessed().overdue


def test_a_rate_limited_poll_waits_for_retry_after_without_counting_as_a_failure(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a Gmail trigger
    connect(user_client)
    (connection,) = connections_of(app, "alice@example.com")
    workflow_id = make_workflow(app, user_id(app, "alice@example.com"), gmail_spec(connection.id))

    # When Google answers its poll with 429 and Retry-After: 600
    google.gmail.fail_next(rate_limited(retry_after=600))
    poll_now(app)

    # Then the next poll is not before Google's 10 minutes, and health does not count it
    with app.app_context():
        trigger = db.session.query(Trigger).filter_by(workflow_id=workflow_id).one()
        assert trigger.next_run_at is not None
        assert trigger.next_run_at - datetime.now(UTC) > timedelta(minutes=9)
        assert trigger.state["health"].get("failures", 0) == 0
    # And the whole connection waits: a poll now calls nothing
    calls = len(google.gmail.calls)
    poll_now(app)
    assert len(google.gmail.calls) == calls


def test_disabling_and_enabling_again_starts_from_that_moment(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given an enabled Gmail trigger
    connect(user_client)
    (connection,) = connections_of(app, "alice@example.com")
    owner = user_id(app, "alice@example.com")
    workflow_id = make_workflow(app, owner, gmail_spec(connection.id))
    poll_now(app)

    # When it is disabled, a message arrives, and it is enabled again
    with app.app_context():
        workflow = crud.get_workflow(db.session(), workflow_id, owner)
        crud.set_enabled(db.session(), workflow, False, container().handlers)
    google.gmail.deliver("bob@example.com", "while disabled", at=datetime.now(UTC))
    with app.app_context():
        workflow = crud.get_workflow(db.session(), workflow_id, owner)
        crud.set_enabled(db.session(), workflow, True, container().handlers)
    google.gmail.deliver("bob@example.com", "after enabling")

    # Then only the message after enabling fires
    assert poll_now(app) == 1
    assert [e.trigger_data["subject"] for e in executions_of(app, workflow_id)] == [
        "after enabling"
    ]


def test_a_connection_without_the_needed_access_is_reported(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a connection granted Sheets only, used by a Gmail trigger
    connect(user_client, ["sheets"])
    (connection,) = connections_of(app, "alice@example.com")
    workflow_id = make_workflow(app, user_id(app, "alice@example.com"), gmail_spec(connection.id))

    # When the scheduler polls
    poll_now(app)

    # Then nothing was asked of Gmail, and the poll's error says what is missing
    assert google.gmail.calls == []
    with app.app_context():
        trigger = db.session.query(Trigger).filter_by(workflow_id=workflow_id).one()
        assert "lacks the permission “Gmail: read messages”" in trigger.state["health"]["error"]


def test_naming_another_users_connection_in_the_trigger_is_refused_on_save(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given alice's connection
    connect(user_client)
    (connection,) = connections_of(app, "alice@example.com")

    # When mallory saves a Gmail trigger that polls with it
    spec = WorkflowSpec.model_validate(gmail_spec(connection.id))
    with app.app_context(), pytest.raises(InvalidInputError) as refused:
        crud.create_workflow(
            db.session(),
            user_id(app, "mallory@example.com"),
            spec,
            container(app).secrets,
            container().handlers,
        )

    # Then it is refused, naming the field
    assert refused.value.field == "trigger.config.connection_id"
    assert google.gmail.calls == []
