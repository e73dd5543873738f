"""A cancel, or the time-limit pass, that meets a worker's record in a deadlock is tried again
(PostgreSQL).

Both lock the execution, then its steps; the worker's record of a step locks that step, then
the execution. Here a second connection plays the worker: it holds the running step's lock,
the other side waits for it, then the "worker" asks for the execution the other side holds.
PostgreSQL ends the other side (the first to wait, the first to look for a deadlock: the
worker's connection looks only after 10 s). Tried again, it is done (CI met it: a 500)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from app.config import settings_of
from app.engine import run_deadlines
from app.extensions import container, db
from app.models import Execution, ExecutionStep, Workflow
from app.models.base import utcnow
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


def _meet_in_a_deadlock(app: Flask, execution_id: int, step_id: int, act: Callable[[], Any]) -> Any:
    """Run `act` in a thread while a "worker" holds the running step, then asks for the
    execution `act` holds; what `act` returned (or raised)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        with app.app_context():
            try:
                outcome["value"] = act()
            except Exception as exc:  # the test reads it below
                outcome["error"] = exc

    with container(app).engine.connect() as worker:
        worker.execute(text("SET deadlock_timeout = '10s'"))  # the other side looks first
        pid = worker.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # Given a worker recording the running step (its lock held)
        worker.execute(update(ExecutionStep).values(status="running").filter_by(id=step_id))
        # When the other side comes, it locks the execution and waits for the step
        other = threading.Thread(target=run)
        other.start()
        wait_until(lambda: _waiting_for_a_lock(app, pid), 10, "the other side waiting")
        # And the worker asks for the execution (as its record's next part does)
        worker.execute(
            update(Execution)
            .where(Execution.id == execution_id, Execution.status == "running")
            .values(position=0)
        )
        worker.commit()
    other.join(30)
    assert "error" not in outcome, outcome.get("error")
    return outcome["value"]


def _step_statuses(app: Flask, execution_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(ExecutionStep.status)
                .where(ExecutionStep.execution_id == execution_id)
                .order_by(ExecutionStep.position)
            )
        )


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_cancel_that_meets_a_worker_in_a_deadlock_is_tried_again(
    app: Flask, backend: str
) -> None:
    execution_id, step_id = _running(app)

    def cancel() -> str:
        found = db.session.get(Execution, execution_id)
        assert found is not None
        return lifecycle.cancel(db.session(), found).status

    # Then PostgreSQL ended the cancel's first try, and the second one cancelled the run
    assert _meet_in_a_deadlock(app, execution_id, step_id, cancel) == "cancelled"
    assert _step_statuses(app, execution_id) == ["failed", "skipped"]  # the one running ended


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_time_limit_that_meets_a_worker_in_a_deadlock_is_tried_again(
    app: Flask, backend: str
) -> None:
    execution_id, step_id = _running(app)
    now = utcnow()
    with app.app_context():
        db.session.execute(
            update(Execution)
            .values(deadline_at=now - timedelta(seconds=1))
            .filter_by(id=execution_id)
        )
        db.session.commit()

    def time_limits_pass() -> int:
        return run_deadlines.fail_overdue(container(app).engine, now)

    # Then PostgreSQL ended the pass's first try, and the second one failed the run
    assert _meet_in_a_deadlock(app, execution_id, step_id, time_limits_pass) == 1
    with app.app_context():
        found = db.session.get(Execution, execution_id)
        assert found is not None
        assert found.status == "failed"
        assert found.error is not None and "time limit" in found.error
    assert _step_statuses(app, execution_id) == ["failed", "skipped"]
