"""Helpers for the dashboard tests: users, workflows and executions made through the services,
and a deadline-bound wait for executions that the embedded worker runs."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from app.config import settings_of
from app.extensions import container, db
from app.models import Execution, ExecutionStep, User
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec

FINAL = ("completed", "failed", "cancelled")
HTMX = {"HX-Request": "true"}


def user_id(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.scalars(select(User.id).where(User.email == email)).one()


def make_workflow(app: Flask, owner_id: int, spec: dict[str, Any]) -> int:
    """Create a workflow through the service, as the editor would."""
    with app.app_context():
        secrets = container(app).secrets
        workflow = crud.create_workflow(
            db.session(), owner_id, WorkflowSpec.model_validate(spec), secrets, container().handlers
        )
        return workflow.id


def _no_doorbell(*message: object) -> None:
    """A send that rings nothing: the execution stays pending (for list and filter tests)."""


def start(
    app: Flask, workflow_id: int, data: dict[str, Any] | None = None, run: bool = True
) -> int:
    """Trigger the workflow through the service; with run=False nobody runs it."""
    with app.app_context():
        workflow = db.session.get(crud.Workflow, workflow_id)
        assert workflow is not None
        execution = lifecycle.start(
            db.session(),
            workflow,
            data or {},
            send=container(app).doorbell.send if run else _no_doorbell,
            settings=settings_of(app),
        )
        return execution.id


def force(app: Flask, execution_id: int, **values: Any) -> None:
    """Put an execution in a given state (status, created_at, …) without running it."""
    with app.app_context():
        db.session.execute(update(Execution).where(Execution.id == execution_id).values(**values))
        db.session.commit()


def force_failed(app: Flask, execution_id: int, created_at: datetime | None = None) -> None:
    values: dict[str, Any] = {"status": "failed", "error": "planned", "lease_expires_at": None}
    if created_at is not None:
        values["created_at"] = created_at
    force(app, execution_id, **values)


def status(app: Flask, execution_id: int) -> str:
    with app.app_context():
        return db.session.scalars(
            select(Execution.status).where(Execution.id == execution_id)
        ).one()


def execution(app: Flask, execution_id: int) -> Execution:
    with app.app_context():
        found = db.session.get(Execution, execution_id)
        assert found is not None
        db.session.expunge(found)
        return found


def steps(app: Flask, execution_id: int) -> list[ExecutionStep]:
    with app.app_context():
        rows = db.session.scalars(
            select(ExecutionStep)
            .where(ExecutionStep.execution_id == execution_id)
            .order_by(ExecutionStep.position)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def executions_of(app: Flask, workflow_id: int) -> list[Execution]:
    with app.app_context():
        rows = db.session.scalars(
            select(Execution).where(Execution.workflow_id == workflow_id).order_by(Execution.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def wait_final(app: Flask, ids: Iterable[int], timeout: float = 20.0) -> list[str]:
    """Poll the rows until every execution is final (or the deadline passes)."""
    wanted = list(ids)
    deadline = time.monotonic() + timeout
    while True:
        statuses = [status(app, i) for i in wanted]
        if all(s in FINAL for s in statuses) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.05)
