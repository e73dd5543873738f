"""Waiting runs for the tests of what shows them (list, figures, metrics, API, CLI): a run put
in the state the engine leaves a waiting run in (contract of issue 21), without running it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import update

from app.extensions import db
from app.models import Execution, ExecutionStep
from app.models.base import utcnow

TWO_STEPS: dict[str, Any] = {
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


CALL_THEN_LOG: dict[str, Any] = {
    "name": "Waits for a reply",
    "steps": [
        {
            "key": "hold",
            "type": "wait_for_call",
            "name": "Wait for the reply",
            "config": {"timeout_amount": 1, "timeout_unit": "days"},
        },
        {"key": "after", "type": "log", "config": {"message": "got {{ steps.hold.body }}"}},
    ],
}


def wait_status(app: Flask, execution_id: int, wanted: str, timeout: float = 20.0) -> None:
    """Poll the row until the execution's status is `wanted` (the embedded worker runs it)."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            found = db.session.get(Execution, execution_id)
            status = found.status if found is not None else None
            db.session.rollback()
        if status == wanted:
            return
        assert time.monotonic() < deadline, f"execution {execution_id} is {status}, not {wanted}"
        time.sleep(0.02)
