"""Trigger health: a webhook expected to run at least every N minutes is overdue when it has
not, and is listed in the user's health section."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import update

from app.extensions import container, db
from app.models import Workflow
from app.models.base import utcnow
from app.services.workflows import crud, trigger_health
from tests.hooks_support import make_hook, wait_final


def _health(app: Flask, workflow_id: int, later: timedelta) -> trigger_health.Health:
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        return trigger_health.health(
            db.session(), workflow, container().handlers.triggers, utcnow() + later
        )


def test_a_quiet_webhook_becomes_overdue_and_a_delivery_clears_it(app: Flask) -> None:
    # Given a webhook expected at least every 60 minutes, enabled just now
    hook = make_hook(app, {"expect_every_minutes": 60})
    make_hook(app, user_id=hook.user_id)  # no expectation: never overdue

    # Then it is fine for an hour, and overdue after it
    assert not _health(app, hook.workflow_id, timedelta(minutes=59)).overdue
    late = _health(app, hook.workflow_id, timedelta(minutes=61))
    assert late.overdue and late.message == "No run; expected at least every 60 min."

    # When it was enabled two hours ago, alongside another one that stays quiet
    watched = make_hook(app, {"expect_every_minutes": 60}, user_id=hook.user_id)
    with app.app_context():
        two_hours_ago = utcnow() - timedelta(hours=2)
        db.session.execute(update(Workflow).values(updated_at=two_hours_ago))
        db.session.commit()
        listed = trigger_health.overdue(db.session(), hook.user_id, container().handlers.triggers)
        assert [w.id for w in listed] == [hook.workflow_id, watched.workflow_id]

    # and a delivery runs it
    assert app.test_client().post(hook.url, json={}).status_code == 202
    wait_final(app, hook.workflow_id)

    # Then it is healthy again; the quiet one is still listed as overdue
    assert not _health(app, hook.workflow_id, timedelta(minutes=59)).overdue
    with app.app_context():
        listed = trigger_health.overdue(db.session(), hook.user_id, container().handlers.triggers)
        assert [w.id for w in listed] == [watched.workflow_id]


def test_the_message_names_the_quiet_time(app: Flask) -> None:
    hook = make_hook(app, {"expect_every_minutes": 24 * 60})
    assert app.test_client().post(hook.url, json={}).status_code == 202
    wait_final(app, hook.workflow_id)
    with app.app_context():  # the last run and the last change were three days ago
        earlier = utcnow() - timedelta(days=3)
        db.session.execute(update(Workflow).values(updated_at=earlier))
        from app.models import Execution

        db.session.execute(update(Execution).values(created_at=earlier))
        db.session.commit()

    assert _health(app, hook.workflow_id, timedelta(0)).message == (
        "No run for 3 days; expected at least every 24 h."
    )


def test_a_disabled_workflow_is_not_overdue(app: Flask) -> None:
    hook = make_hook(app, {"expect_every_minutes": 5})
    with app.app_context():
        workflow = db.session.get(Workflow, hook.workflow_id)
        assert workflow is not None
        crud.set_enabled(db.session(), workflow, False, container().handlers)
        assert workflow.trigger is not None and workflow.trigger.expect_every_seconds is None

    assert not _health(app, hook.workflow_id, timedelta(days=1)).overdue
