"""Helpers of the Google tests: the OAuth flow driven through the test client against the fake
Google, workflows built through the services, rows read back, a database dump."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, select, update

from app.config import settings_of
from app.engine.runner import Send
from app.extensions import container, db
from app.google import scopes
from app.models import Connection, Execution, ExecutionStep, User, Workflow
from app.models.base import utcnow
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.conftest import csrf_token

T = TypeVar("T")
ALL_SERVICES = [service.key for service in scopes.SERVICES]
FINAL = ("completed", "failed", "cancelled")


def start_connect(client: FlaskClient, services: list[str] | None = None, account: str = "") -> str:
    """Press "Connect Google": the URL of Google's consent page the app redirects to."""
    response = client.post(
        "/connections/google",
        data={
            "csrf_token": csrf_token(client, "/connections"),
            "services": services or ALL_SERVICES,
            "account": account,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def consent(authorize_url: str) -> str:
    """The browser at Google's consent page: where the fake sends it back (path and query)."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def connect(
    client: FlaskClient, services: list[str] | None = None, account: str = ""
) -> tuple[int, str]:
    """The whole flow; the callback's status and where it sent the user."""
    callback = consent(start_connect(client, services, account))
    response = client.get(callback)
    return response.status_code, response.headers.get("Location", "")


def connections_of(app: Flask, email: str) -> list[Connection]:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        rows = db.session.scalars(
            select(Connection).where(Connection.user_id == user.id).order_by(Connection.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def user_id(app: Flask, email: str) -> int:
    with app.app_context():
        return int(db.session.scalars(select(User.id).where(User.email == email)).one())


def make_workflow(app: Flask, owner_id: int, spec: dict[str, Any], *, enable: bool = True) -> int:
    """A workflow built through the services (enabled: its trigger registers)."""
    with app.app_context():
        secrets = container(app).secrets
        workflow = crud.create_workflow(
            db.session(), owner_id, WorkflowSpec.model_validate(spec), secrets, container().handlers
        )
        if enable:
            crud.set_enabled(db.session(), workflow, True, container().handlers)
        return workflow.id


def executions_of(app: Flask, workflow_id: int) -> list[Execution]:
    with app.app_context():
        rows = db.session.scalars(
            select(Execution).where(Execution.workflow_id == workflow_id).order_by(Execution.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def steps_of(app: Flask, execution_id: int) -> list[ExecutionStep]:
    with app.app_context():
        rows = db.session.scalars(
            select(ExecutionStep)
            .where(ExecutionStep.execution_id == execution_id)
            .order_by(ExecutionStep.position)
        ).all()
        db.session.expunge_all()
        return list(rows)


def wait_for(probe: Callable[[], T | None], timeout: float = 15.0, what: str = "it") -> T:
    """Poll `probe` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def poll_now(app: Flask, send: Send | None = None) -> int:
    """One scheduler pass over the due polling triggers (the scheduler's job), a poll interval
    from now; the executions it starts are only recorded unless `send` is given."""
    from app.services.scheduling import polls  # the scheduler's polling job

    current = container(app)
    later = utcnow() + timedelta(seconds=current.settings.google_poll_interval + 1)
    return polls.poll_due(
        current.session_factory,
        triggers=current.handlers.triggers,
        send=send or (lambda *message: None),
        settings=current.settings,
        secrets=current.secrets,
        now=later,
    )


def dump_database(app: Flask) -> str:
    """Every row of every table as text (what a database dump would show)."""
    with app.app_context():
        meta = MetaData()
        meta.reflect(bind=db.engine)
        lines = []
        with db.engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(table.select()):
                    lines.append(f"{table.name}: {tuple(row)!r}")
        return "\n".join(lines)


def gmail_spec(
    connection_id: int, query: str = "", steps: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "name": "New mail",
        "trigger": {
            "type": "google.gmail_new_message",
            "config": {"connection_id": connection_id, "query": query},
        },
        "steps": steps
        or [
            {
                "key": "note",
                "type": "transform",
                "config": {"fields": {"s": "{{ trigger.subject }}"}},
            }
        ],
    }


def run(app: Flask, workflow_id: int, data: dict[str, Any]) -> int:
    """Start an execution of the workflow (as its trigger would); its id. The app's embedded
    worker (started by the first request) runs it."""
    with app.app_context():
        workflow = crud.get_workflow(db.session(), workflow_id, _owner(app, workflow_id))
        execution = lifecycle.start(
            db.session(),
            workflow,
            data,
            send=container(app).doorbell.send,
            settings=settings_of(app),
        )
        return execution.id


def _owner(app: Flask, workflow_id: int) -> int:
    return int(db.session.scalars(select(Workflow.user_id).where(Workflow.id == workflow_id)).one())


def wait_final(app: Flask, execution_id: int, timeout: float = 20.0) -> Execution:
    """The execution once it has reached a final state."""

    def probe() -> Execution | None:
        with app.app_context():
            row = db.session.get(Execution, execution_id)
            db.session.expunge_all()
            return row if row is not None and row.status in FINAL else None

    return wait_for(probe, timeout, f"execution {execution_id} to finish")


def set_connection(app: Flask, connection_id: int, **values: Any) -> None:
    """Change a connection's row directly (an expired token, another owner, a status)."""
    with app.app_context():
        db.session.execute(
            update(Connection).where(Connection.id == connection_id).values(**values)
        )
        db.session.commit()
