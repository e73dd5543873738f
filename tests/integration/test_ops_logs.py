"""Structured logs end to end: the engine's lines carry execution_id and step_key as fields."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import broker as brokers
from app.config import settings_of
from app.extensions import container, db
from app.models import Execution, User
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.conftest import TEST_PASSWORD_HASH


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def _entries(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _start(app: Flask, steps: list[dict[str, Any]]) -> int:
    with app.app_context():
        user = User(email=f"{uuid.uuid4().hex[:10]}@example.com", name="")
        user.set_password("x" * 12, TEST_PASSWORD_HASH)
        db.session.add(user)
        db.session.commit()
        secrets = container(app).secrets
        spec = WorkflowSpec.model_validate({"name": "logged", "steps": steps})
        workflow = crud.create_workflow(db.session(), user.id, spec, secrets, container().handlers)
        execution = lifecycle.start(
            db.session(), workflow, {}, send=container(app).doorbell.send, settings=settings_of(app)
        )
        return execution.id


def _wait_final(app: Flask, execution_id: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        with app.app_context():
            status = db.session.scalar(select(Execution.status).where(Execution.id == execution_id))
        if status in ("completed", "failed", "cancelled"):
            return
        assert time.monotonic() < deadline, f"execution {execution_id} is still {status}"
        time.sleep(0.05)


def test_a_step_logs_json_with_its_execution_id_and_step_key(
    app: Flask, client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the embedded worker and a workflow whose step writes to the worker log
    client.get("/healthz")
    execution_id = _start(
        app, [{"key": "announce", "type": "log", "config": {"message": "hello {{ 6 * 7 }}"}}]
    )

    # When the execution runs
    _wait_final(app, execution_id)

    # Then its line on stderr is JSON with the execution id and step key as fields
    entries = _entries(capsys.readouterr().err)
    (line,) = [e for e in entries if e["message"] == "log step: hello 42"]
    assert line["logger"] == "app.engine.step"
    assert line["level"] == "INFO"
    assert line["execution_id"] == execution_id
    assert line["step_key"] == "announce"


def test_a_worker_process_configures_logs_when_it_boots(
    app: Flask, root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a broker with the app's middleware, in a process where logging.basicConfig ran
    root.handlers[:] = [logging.StreamHandler()]
    broker = brokers.build(container(app).settings)  # no REDIS_URL: a StubBroker

    # When Dramatiq boots the worker process
    broker.emit_after("process_boot")
    logging.getLogger("app.engine.runner").warning("booted", extra={"execution_id": 1})

    # Then its lines are JSON, once each (basicConfig's plain handler was replaced)
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    (entry,) = _entries(err)
    assert entry["message"] == "booted" and entry["execution_id"] == 1
