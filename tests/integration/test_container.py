"""One composition root per app: two apps in one process each send to their own broker and run
their own runner (no process-wide runtime to switch), and the worker entry point builds its own
container and hands its broker to Dramatiq."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from app import create_app
from app.broker import QUEUE, RUN_STEP
from app.extensions import container, db, embedded_worker
from app.models import Workflow
from app.services.executions import lifecycle
from tests.hooks_support import close_app, executions_of, make_workflow, wait_final

ROOT = Path(__file__).resolve().parents[2]
LOG_STEP = [{"key": "say", "type": "log", "config": {"message": "hello"}}]


@pytest.fixture
def two_apps(app_config: dict[str, object]) -> Iterator[tuple[Flask, Flask]]:
    """Two apps on one database, their workers not started."""
    first = create_app({**app_config, "QUEUE_PREFIX": "stepline-first"})
    second = create_app({**app_config, "QUEUE_PREFIX": "stepline-second"})
    yield first, second
    for app in (first, second):
        container(app).broker.flush_all()
        close_app(app)


def _start(app: Flask, workflow_id: int) -> int:
    stepline = container(app)
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        execution = lifecycle.start(
            db.session(), workflow, {}, send=stepline.doorbell.send, settings=stepline.settings
        )
        return execution.id


def test_each_app_sends_to_its_own_broker_and_runs_its_own_runner(
    two_apps: tuple[Flask, Flask],
) -> None:
    first, second = two_apps
    # Given two apps built one after the other, each with a container of its own
    assert container(first) is not container(second)
    assert container(first).broker is not container(second).broker
    for app in two_apps:
        assert RUN_STEP in container(app).broker.actors
    workflow_id = make_workflow(first, {"type": "manual", "config": {}}, LOG_STEP)

    # When the first app (built before the second: no "current" app to switch) starts an
    # execution
    _start(first, workflow_id)

    # Then its message waits on its own broker only
    assert container(first).doorbell.queue_depth() == 1
    assert container(second).doorbell.queue_depth() == 0
    # and the second app's worker, polling every 10 ms for half a second, does not run it
    embedded_worker(second).start()
    time.sleep(0.5)
    (waiting,) = executions_of(first, workflow_id)
    assert waiting.status == "pending"
    assert container(first).broker.queues[QUEUE].qsize() == 1
    # while the first app's worker does
    embedded_worker(first).start()
    (done,) = wait_final(first, workflow_id)
    assert done.status == "completed"


def test_the_worker_entry_point_gives_dramatiq_its_containers_broker(
    tmp_path: Path, database_url: str
) -> None:
    # Given a worker process's environment
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STEPLINE_")},
        "DATABASE_URL": database_url,
        "SECRET_KEY": "entry-point",
        "STEPLINE_SECRET_KEYS": Fernet.generate_key().decode(),
        "STEPLINE_INSTANCE_PATH": str(tmp_path),
    }
    env.pop("REDIS_URL", None)
    script = (
        "import dramatiq, app.tasks as t;"
        "b = dramatiq.get_broker();"
        f"print(b is t.container.broker, {RUN_STEP!r} in b.actors, type(b).__name__)"
    )

    # When `dramatiq app.tasks` would import the module
    found = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )

    # Then Dramatiq's global broker is the container's, with the step actor declared on it
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["True", "True", "StubBroker"]
