"""Helpers of the webhook and schedule tests: workflows built through the services, rows read
back, and waiting on rows with a deadline."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import container, db, embedded_worker
from app.models import Execution, Trigger, User, Workflow
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.conftest import TEST_PASSWORD_HASH

FINAL = ("completed", "failed", "cancelled")
ECHO_STEPS: list[dict[str, Any]] = [
    {
        "key": "echo",
        "type": "transform",
        "config": {"fields": {"got": "{{ trigger.body }}", "path": "{{ trigger.path }}"}},
    }
]


@dataclass(frozen=True)
class Hook:
    workflow_id: int
    user_id: int
    token: str

    @property
    def url(self) -> str:
        return f"/hooks/{self.token}"

    @property
    def test_url(self) -> str:
        return f"/hooks/test/{self.token}"


def close_app(app: Flask) -> None:
    """Stop an app a test created itself: its worker, its connections, its rows."""
    from tests.conftest import empty_database

    embedded_worker(app).stop()
    container(app).finish_watch.stop()
    container(app).engine.dispose()
    empty_database(app)


def make_user(app: Flask, email: str | None = None) -> int:
    with app.app_context():
        user = User(email=email or f"{uuid.uuid4().hex[:10]}@example.com", name="")
        user.set_password("x" * 12, TEST_PASSWORD_HASH)
        db.session.add(user)
        db.session.commit()
        return user.id


def make_workflow(
    app: Flask,
    trigger: dict[str, Any],
    steps: list[dict[str, Any]] | None = None,
    *,
    enabled: bool = True,
    user_id: int | None = None,
) -> int:
    """A workflow saved and enabled through the services, as the pages and the API do."""
    owner = user_id or make_user(app)
    spec = WorkflowSpec.model_validate(
        {"name": "hooked", "trigger": trigger, "steps": ECHO_STEPS if steps is None else steps}
    )
    with app.app_context():
        stepline = container(app)
        workflow = crud.create_workflow(
            db.session(), owner, spec, stepline.secrets, stepline.handlers
        )
        if enabled:
            crud.set_enabled(db.session(), workflow, True, stepline.handlers)
        return workflow.id


def make_hook(
    app: Flask,
    config: dict[str, Any] | None = None,
    steps: list[dict[str, Any]] | None = None,
    *,
    enabled: bool = True,
    user_id: int | None = None,
) -> Hook:
    """An enabled webhook workflow (its token issued by enabling it)."""
    trigger = {"type": "webhook", "config": config or {}}
    workflow_id = make_workflow(app, trigger, steps, enabled=enabled, user_id=user_id)
    with app.app_context():
        found = db.session.get(Workflow, workflow_id)
        assert found is not None and found.trigger is not None
        if not found.trigger.webhook_token:
            from app.services.webhooks import receiver

            receiver.ensure_token(db.session(), found)
        return Hook(workflow_id, found.user_id, str(found.trigger.webhook_token))


def trigger_row(app: Flask, workflow_id: int) -> Trigger:
    with app.app_context():
        row = db.session.scalars(select(Trigger).where(Trigger.workflow_id == workflow_id)).one()
        db.session.expunge(row)
        return row


def executions_of(app: Flask, workflow_id: int) -> list[Execution]:
    with app.app_context():
        rows = db.session.scalars(
            select(Execution).where(Execution.workflow_id == workflow_id).order_by(Execution.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.02)


def wait_final(
    app: Flask, workflow_id: int, count: int = 1, timeout: float = 20.0
) -> list[Execution]:
    """The workflow's executions once `count` of them exist and all are final."""

    def done() -> bool:
        found = executions_of(app, workflow_id)
        return len(found) >= count and all(e.status in FINAL for e in found)

    wait_until(done, timeout, f"{count} final executions of workflow {workflow_id}")
    return executions_of(app, workflow_id)
