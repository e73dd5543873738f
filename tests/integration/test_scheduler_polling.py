"""The scheduler's hook for polling triggers: each due trigger is claimed, polled once per pass,
and each event becomes one execution; a poll that raises does not stop the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.config import settings_of
from app.engine.registry import TriggerRegistry
from app.extensions import container, db
from app.models import Trigger, Workflow
from app.services.scheduling import polls
from app.triggers.base import BaseTriggerHandler, PollContext, TriggerConfig
from tests.hooks_support import executions_of, make_user, trigger_row

NOW = datetime(2099, 5, 1, 10, 0, tzinfo=UTC)


class CounterTrigger(BaseTriggerHandler):
    """Two new numbered events per poll (a stand-in for a provider's new items)."""

    type = "test_counter"
    name = "Counter (test)"
    description = "Two new events per poll."
    Config = TriggerConfig
    polling = True
    poll_every = 30.0

    def poll(
        self, session: Session, trigger: Trigger, context: PollContext
    ) -> list[dict[str, Any]]:
        start = int(trigger.state.get("cursor", 0))
        trigger.state = {"cursor": start + 2}
        return [{"n": start}, {"n": start + 1}]


class BrokenTrigger(CounterTrigger):
    """A provider that fails."""

    type = "test_broken"

    def poll(
        self, session: Session, trigger: Trigger, context: PollContext
    ) -> list[dict[str, Any]]:
        raise RuntimeError("provider down")


REGISTRY = TriggerRegistry([CounterTrigger, BrokenTrigger])


def _polling_workflow(app: Flask, type_: str, enabled: bool = True) -> int:
    with app.app_context():
        workflow = Workflow(user_id=make_user(app), name=type_, enabled=enabled, version=1)
        workflow.trigger = Trigger(type=type_, config={}, state={}, next_run_at=NOW)
        db.session.add(workflow)
        db.session.commit()
        return workflow.id


def _poll(app: Flask, now: datetime) -> int:
    stepline = container(app)
    return polls.poll_due(
        stepline.session_factory,
        triggers=REGISTRY,
        send=lambda *message: None,
        settings=settings_of(app),
        secrets=stepline.secrets,
        now=now,
    )


def test_each_event_of_a_due_poll_becomes_one_execution(app: Flask) -> None:
    # Given a due polling trigger
    workflow_id = _polling_workflow(app, "test_counter")

    # When the scheduler passes, then passes again before the next poll is due, then after
    first = _poll(app, NOW + timedelta(seconds=1))
    early = _poll(app, NOW + timedelta(seconds=10))
    later = _poll(app, NOW + timedelta(seconds=32))

    # Then two executions per poll, numbered on from the cursor the trigger kept
    assert (first, early, later) == (2, 0, 2)
    executions = executions_of(app, workflow_id)
    assert [e.trigger_data for e in executions] == [{"n": n} for n in range(4)]
    assert {e.trigger_type for e in executions} == {"test_counter"}
    trigger = trigger_row(app, workflow_id)
    assert trigger.state == {"cursor": 4}
    assert trigger.next_run_at == NOW + timedelta(seconds=32 + 30)


def test_a_failing_poll_waits_for_its_next_turn_and_others_still_run(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    broken = _polling_workflow(app, "test_broken")
    healthy = _polling_workflow(app, "test_counter")
    disabled = _polling_workflow(app, "test_counter", enabled=False)

    started = _poll(app, NOW + timedelta(seconds=1))

    assert started == 2
    assert len(executions_of(app, healthy)) == 2
    assert executions_of(app, broken) == [] and executions_of(app, disabled) == []
    assert trigger_row(app, broken).next_run_at == NOW + timedelta(seconds=31)
    assert trigger_row(app, disabled).next_run_at == NOW
    assert "provider down" in caplog.text
