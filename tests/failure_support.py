"""Helpers of the failure handling tests: workflows that fail, error workflows, the fakes'
credentials, and a delivery pass run by the test at a chosen time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.config import settings_of
from app.credentials.store import seal
from app.extensions import container, db
from app.models import Credential, Execution, FailureNotice
from app.services.executions import failure_notices
from app.services.executions.failure_channels import Senders

FAILING_STEP = {
    "key": "charge",
    "name": "Charge the card",
    "type": "test_flaky",
    "config": {"succeed_on_attempt": 99, "retryable": False},
    "retry": {"attempts": 1},
}


def failing(name: str, on_failure: dict[str, Any] | None = None) -> dict[str, Any]:
    """A workflow whose second step always fails, with `on_failure` in its settings."""
    settings = {"on_failure": on_failure} if on_failure is not None else {}
    return {
        "name": name,
        "steps": [
            {"key": "shape", "type": "transform", "config": {"fields": {"n": "1"}}},
            FAILING_STEP,
        ],
        "settings": settings,
    }


ERROR_WORKFLOW = {
    "name": "Tell the team",
    "steps": [
        {
            "key": "note",
            "type": "log",
            "config": {"message": "{{ trigger.workflow.name }} failed: {{ trigger.error }}"},
        }
    ],
}


def add_credential(app: Flask, user_id: int, kind: str, fields: dict[str, Any]) -> int:
    """A credential of `kind` stored (encrypted) for the user; its id."""
    with app.app_context():
        row = Credential(
            user_id=user_id,
            kind=kind,
            name=f"{kind} {len(fields)}",
            data_encrypted=seal(container(app).secrets, fields),
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def runs_of(app: Flask, workflow_id: int) -> list[Execution]:
    with app.app_context():
        rows = db.session.scalars(
            select(Execution).where(Execution.workflow_id == workflow_id).order_by(Execution.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def notices_of(app: Flask, workflow_id: int) -> dict[str, FailureNotice]:
    with app.app_context():
        rows = db.session.scalars(
            select(FailureNotice).where(FailureNotice.workflow_id == workflow_id)
        ).all()
        db.session.expunge_all()
        return {row.channel: row for row in rows}


def handled(app: Flask, execution_id: int) -> bool:
    with app.app_context():
        row = db.session.get(Execution, execution_id)
        return row is not None and row.failure_handled_at is not None


def deliver(app: Flask, now: datetime) -> int:
    """A delivery pass at `now`, as the scheduler's courier runs one."""
    stepline = container(app)
    senders = Senders(stepline.session_factory, settings_of(app), stepline.secrets)
    return failure_notices.deliver_due(stepline.session_factory, senders, now)
