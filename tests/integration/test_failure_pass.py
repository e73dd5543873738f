"""The failure handling pass itself, on both backends: two schedulers running it at once
handle each failed run once (one error run each, each failure counted once), and a failed run
whose workflow has no `on_failure` is only marked handled."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update

from app.config import settings_of
from app.extensions import container, db
from app.models import Execution, User, Workflow
from app.models.base import utcnow
from app.services.executions import failure_handling, lifecycle
from tests.failure_support import ERROR_WORKFLOW, add_credential, failing, notices_of, runs_of
from tests.google_support import make_workflow

RUNS = 12


def _user(app: Flask) -> int:
    with app.app_context():
        user = User(email="ops@example.com", name="")
        user.set_password("x" * 12, "scrypt:1024:8:1")
        db.session.add(user)
        db.session.commit()
        return user.id


def _failed_runs(app: Flask, workflow_id: int, count: int) -> list[int]:
    """Runs of the workflow recorded as failed (no worker runs here: nothing is sent)."""
    ids = []
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        for n in range(count):
            started = lifecycle.start(
                db.session(), workflow, {"n": n}, send=lambda *a: None, settings=settings_of(app)
            )
            ids.append(started.id)
        db.session.execute(
            update(Execution)
            .where(Execution.id.in_(ids))
            .values(status="failed", error="boom", finished_at=utcnow(), lease_expires_at=None)
        )
        db.session.commit()
    return ids


def _pass(app: Flask, **kwargs: Any) -> failure_handling.Handled:
    return failure_handling.handle_failed(
        container(app).session_factory,
        send=lambda *a: None,
        settings=settings_of(app),
        now=utcnow(),
        **kwargs,
    )


def test_two_schedulers_handle_each_failed_run_once(app: Flask) -> None:
    # Given 12 failed runs of a workflow with an error workflow and a Slack notice
    user = _user(app)
    error_workflow = make_workflow(app, user, ERROR_WORKFLOW, enable=False)
    slack = add_credential(app, user, "slack", {"webhook_url": "https://hooks.example/x"})
    spec = failing("Busy", {"workflow_id": error_workflow, "slack": {"credential_id": slack}})
    workflow_id = make_workflow(app, user, spec, enable=False)
    failed = _failed_runs(app, workflow_id, RUNS)
    # When two schedulers run the pass at once, in batches of 5, until nothing is left
    done: list[failure_handling.Handled] = []
    start = threading.Barrier(2)

    def scheduler() -> None:
        start.wait()
        while (handled := _pass(app, limit=5)).runs:
            done.append(handled)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then each failed run was handled once: one error run each, each failure counted once
    assert sum(h.runs for h in done) == RUNS
    assert sum(h.error_runs for h in done) == RUNS
    error_runs = runs_of(app, error_workflow)
    assert sorted(r.trigger_data["execution"]["id"] for r in error_runs) == failed
    assert notices_of(app, workflow_id)["slack"].pending == RUNS
    assert notices_of(app, workflow_id)["slack"].latest_execution_id == failed[-1]


def test_a_failure_without_on_failure_is_only_marked_handled(app: Flask) -> None:
    # Given a failed run of a workflow without on_failure
    user = _user(app)
    workflow_id = make_workflow(app, user, failing("Plain"), enable=False)
    (failed,) = _failed_runs(app, workflow_id, 1)
    # When the pass runs
    assert _pass(app) == failure_handling.Handled(runs=1, error_runs=0)
    # Then it is marked handled, nothing else happened, and the next pass finds nothing
    with app.app_context():
        row = db.session.get(Execution, failed)
        assert row is not None and row.failure_handled_at is not None
        assert db.session.scalar(select(func.count()).select_from(Execution)) == 1
    assert notices_of(app, workflow_id) == {}
    assert _pass(app) == failure_handling.Handled()
