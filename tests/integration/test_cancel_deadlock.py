"""A cancel that meets a worker's record in a deadlock is tried again (PostgreSQL).

The cancel locks the execution, then its steps; the worker's record of a step locks that step,
then the execution. Here a second connection plays the worker: it holds the running step's
lock, the cancel waits for it, then the "worker" asks for the execution the cancel holds.
PostgreSQL ends the cancel (the first to wait, the first to look for a deadlock: the worker's
connection looks only after 10 s). Once tried again, the cancel is done (CI met it: a 500)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from app.config import settings_of
from app.extensions import container, db
from app.models import Execution, ExecutionStep, Workflow
from app.services.executions import lifecycle
from tests.hooks_support import make_workflow, wait_until

STEPS: list[dict[str, Any]] = [
    {"key": "a", "type": "transform", "config": {"fields": {"n": 1}}},
    {"key": "b", "type": "transform", "config": {"fields": {"n": 2}}},
]


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "EMBEDDED_WORKER": False}  # the test plays the worker


def _running(app: Flask) -> tuple[int, int]:
    """An execution whose first step a worker has claimed: (execution id, that step's id)."""
    workflow_id = make_workflow(app, {"type": "manual", "config": {}}, STEPS)
    with app.app_context():
        session = db.session()
        workflow = session.get(Workflow, workflow_id)
        assert workflow is not None
        execution = lifecycle.start(
            session, workflow, {}, send=lambda *args: None, settings=settings_of(app)
        )
        step = session.scalars(
            select(ExecutionStep).where(
                ExecutionStep.execution_id == execution.id, ExecutionStep.position == 0
            )
        ).one()
        session.execute(update(Execution).values(status="running").filter_by(id=execution.id))
        session.execute(
            update(ExecutionStep).values(status="running", attempts=1).filter_by(id=step.id)
        )
        session.commit()
        return execution.id, step.id


def _waiting_for_a_lock(app: Flask, pid: int) -> bool:
    with container(app).engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database() AND pid <> :pid"
            ),
            {"pid": pid},
        ).scalar_one()
        return bool(found)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_cancel_that_meets_a_worker_in_a_deadlock_is_tried_again(
    app: Flask, backend: str
) -> None:
    execution_id, step_id = _running(app)
    outcome: dict[str, Any] = {}

    def cancel() -> None:
        with app.app_context():
            try:
                found = db.session.get(Execution, execution_id)
                assert found is not None
                outcome["status"] = lifecycle.cancel(db.session(), found).status
            except Exception as exc:  # the test reads it below
                outcome["error"] = exc

    with container(app).engine.connect() as worker:
        worker.execute(text("SET deadlock_timeout = '10s'"))  # the cancel looks first
        pid = worker.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # Given a worker recording the running step (its lock held)
        worker.execute(update(ExecutionStep).values(status="running").filter_by(id=step_id))
        # When the cancel comes, it locks the execution and waits for the step
        canceller = threading.Thread(target=cancel)
        canceller.start()
        wait_until(lambda: _waiting_for_a_lock(app, pid), 10, "the cancel waiting for the step")
        # And the worker asks for the execution (as its record's next part does)
        worker.execute(
            update(Execution)
            .where(Execution.id == execution_id, Execution.status == "running")
            .values(position=0)
        )
        worker.commit()
    canceller.join(30)

    # Then PostgreSQL ended the cancel's first try, and the second one cancelled the run
    assert "error" not in outcome, outcome.get("error")
    assert outcome["status"] == "cancelled"
    with app.app_context():
        steps = db.session.scalars(
            select(ExecutionStep.status)
            .where(ExecutionStep.execution_id == execution_id)
            .order_by(ExecutionStep.position)
        ).all()
    assert steps == ["failed", "skipped"]  # the step that ran ended by the cancel
