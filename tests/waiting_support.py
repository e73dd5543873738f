"""Waiting runs for the tests of what shows them (list, figures, metrics, API, CLI): a run put
in the state the engine leaves a waiting run in (contract of issue 21), without running it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import update

from app.extensions import db
from app.models import Execution, ExecutionStep
from app.models.base import utcnow

TWO_STEPS = {
    "name": "Waits for a call",
    "steps": [
        {"key": "ask", "type": "log", "name": "Ask for it", "config": {"message": "hello"}},
        {"key": "reply", "type": "log", "name": "Wait here", "config": {"message": "waits"}},
    ],
}


def force_waiting(
    app: Flask,
    execution_id: int,
    *,
    position: int = 1,
    kind: str = "call",
    since: datetime | None = None,
    until: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[datetime, datetime]:
    """Make the step at `position` wait (the steps before it completed) and the run waiting,
    as the engine records a wait; returns (since, until)."""
    since = since or utcnow() - timedelta(minutes=5)
    until = until or since + timedelta(days=2)
    output = {"waiting_for": kind, "since": since.isoformat(), "until": until.isoformat()}
    output.update(extra or {})
    with app.app_context():
        session = db.session()
        S = ExecutionStep
        session.execute(
            update(S)
            .where(S.execution_id == execution_id, S.position < position)
            .values(status="completed", output={"done": True}, started_at=since)
        )
        session.execute(
            update(S)
            .where(S.execution_id == execution_id, S.position == position)
            .values(
                status="waiting",
                output=output,
                started_at=since,
                next_retry_at=until,
                attempts=1,
                attempt_log=[
                    {
                        "attempt": 1,
                        "started_at": since.isoformat(),
                        "finished_at": since.isoformat(),
                        "ended_by": "wait",
                    }
                ],
            )
        )
        session.execute(
            update(Execution)
            .where(Execution.id == execution_id)
            .values(
                status="waiting",
                position=position,
                started_at=since,
                lease_expires_at=until + timedelta(minutes=5),
            )
        )
        session.commit()
    return since, until
