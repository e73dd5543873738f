"""Retention (app/services/executions/retention.py): old final executions are deleted in short
batches, oldest first, each its own transaction, exactly those created before the cutoff; the
scheduler prunes a large backlog a bounded time per pass; on PostgreSQL a batch in progress
never blocks a webhook's insert."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, insert, select, text

from app.extensions import container, db
from app.models import Execution, ExecutionStep, User
from app.models.base import utcnow
from app.scheduler import Scheduler
from app.services.executions import retention
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec

DAYS = 30


def _owner_and_workflow(app: Flask) -> tuple[int, int]:
    user = User(email=f"keeper-{uuid.uuid4().hex[:8]}@example.com", name="")
    user.set_password("x" * 12, "scrypt:1024:8:1")
    db.session.add(user)
    db.session.commit()
    spec = WorkflowSpec.model_validate({"name": "kept", "steps": []})
    stepline = container(app)
    workflow = crud.create_workflow(
        db.session(), user.id, spec, stepline.secrets, stepline.handlers
    )
    return user.id, workflow.id


def _seed(app: Flask, ages_days: Sequence[float], status: str = "completed") -> list[int]:
    """Executions created `age` days ago (one step run each), in the given order."""
    user_id, workflow_id = _owner_and_workflow(app)
    now = utcnow()
    rows = []
    for age in ages_days:
        execution = Execution(
            workflow_id=workflow_id,
            user_id=user_id,
            status=status,
            trigger_type="webhook",
            trigger_data={},
            snapshot={},
            workflow_version=1,
            created_at=now - timedelta(days=age),
        )
        execution.steps.append(
            ExecutionStep(position=0, action_key="a", action_type="log", status="completed")
        )
        rows.append(execution)
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


def _ids() -> set[int]:
    found = set(db.session.scalars(select(Execution.id)).all())
    db.session.rollback()
    return found


def test_pruning_deletes_exactly_the_old_final_executions_in_batches_oldest_first(
    app: Flask,
) -> None:
    with app.app_context():
        # Given 23 final executions older than the retention (seeded out of age order), two
        # just inside it, newer ones, and an old one still running
        old_ages = [DAYS + 1 + (n * 7) % 23 for n in range(23)]
        old = _seed(app, old_ages)
        kept = _seed(app, [DAYS - 0.01, DAYS - 1, 1, 0])
        (stuck,) = _seed(app, [DAYS + 50], status="running")
        commits: list[int] = []

        def count(connection: object) -> None:
            commits.append(1)

        event.listen(db.engine, "commit", count)

        # When retention prunes in batches of 5
        batches: list[Sequence[int]] = []
        deleted = retention.prune(
            db.session(), timedelta(days=DAYS), batch=5, on_batch=batches.append
        )
        event.remove(db.engine, "commit", count)

        # Then exactly the old final ones are gone, with their step runs, in 5 transactions
        # of at most 5, the oldest first
        assert deleted == len(old) == 23
        assert _ids() == {*kept, stuck}
        remaining_steps = db.session.scalars(select(ExecutionStep.execution_id)).all()
        assert set(remaining_steps) == {*kept, stuck}
        assert [len(ids) for ids in batches] == [5, 5, 5, 5, 3]
        assert len(commits) >= len(batches)
        age_of = dict(zip(old, old_ages, strict=True))
        order = [age_of[i] for ids in batches for i in ids]
        assert order == sorted(order, reverse=True)  # oldest (largest age) first
        # And a second pass finds nothing
        assert retention.prune(db.session(), timedelta(days=DAYS), batch=5) == 0


def test_the_scheduler_prunes_a_backlog_over_several_bounded_passes(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        # Given 12 old executions and a clock that moves one second per reading
        old = _seed(app, [DAYS + 1 + n for n in range(12)])
        ticks = iter(range(10**6))
        scheduler = Scheduler(container(app), send=lambda *a, **k: None, clock=lambda: next(ticks))
        monkeypatch.setattr(retention, "BATCH", 5)  # the scheduler uses the module's size
        monkeypatch.setattr("app.scheduler.RETENTION_PASS_SECONDS", 1.5)

        # When the retention job runs: one batch fits in each pass's budget
        first = scheduler.prune()
        db.session.rollback()
        left_after_first = len(_ids() & set(old))

        # Then each pass deleted one batch and left the rest for the next pass
        assert first == 5 and left_after_first == 7
        assert scheduler.prune() == 5
        assert scheduler.prune() == 2
        db.session.rollback()
        assert _ids() & set(old) == set()


# PostgreSQL only: SQLite has one write lock per file (a batch holds it for its length only).
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_batch_in_progress_never_blocks_a_webhooks_insert(app: Flask, backend: str) -> None:
    with app.app_context():
        # Given a prune batch deleting old executions, its transaction still open
        old = _seed(app, [DAYS + 5] * 50)
        pruning = container(app).session_factory()
        retention._delete(pruning, old)

        # When an execution is inserted meanwhile, giving up on any lock after 1 second
        user_id, workflow_id = _owner_and_workflow_of(old[0])
        with db.engine.connect() as other:
            other.execute(text("SET lock_timeout = '1s'"))
            other.execute(
                insert(Execution).values(
                    workflow_id=workflow_id,
                    user_id=user_id,
                    status="pending",
                    trigger_type="webhook",
                    trigger_data={},
                    snapshot={},
                    workflow_version=1,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
            other.commit()

        # Then it went through; the batch commits after it
        pruning.commit()
        pruning.close()
        assert len(_ids()) == 1


def _owner_and_workflow_of(execution_id: int) -> tuple[int, int]:
    row = db.session.execute(
        select(Execution.user_id, Execution.workflow_id).where(Execution.id == execution_id)
    ).one()
    db.session.rollback()
    return int(row[0]), int(row[1])
