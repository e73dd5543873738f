"""Two real `flask scheduler` processes on one database: each schedule slot fires once.

Both database backends run here with Redis, a real `dramatiq app.tasks` worker and two
scheduler processes, each passing every 0.1 s. PostgreSQL claims rows with FOR UPDATE SKIP
LOCKED, SQLite with a conditional UPDATE; the unique (trigger, slot) record backs both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import container, db
from app.models import Execution, ScheduleSlot, Trigger, Workflow
from app.models.base import utcnow
from app.services.workflows import crud
from tests.engine_harness import Engine, engine_fixture
from tests.hooks_support import wait_until

SCHEDULES = 30


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(
        backend, database_url, tmp_path_factory.mktemp("schedulers"), mode="redis"
    )


def _every_minute(engine: Engine) -> list[int]:
    ids = []
    for n in range(SCHEDULES):
        spec = {
            "name": f"every minute {n}",
            "trigger": {"type": "schedule", "config": {"cron": "* * * * *", "overlap": "allow"}},
            "steps": [{"key": "note", "type": "log", "config": {"message": "{{ trigger.cron }}"}}],
        }
        ids.append(engine.workflow(spec))
    with engine.app.app_context():
        for workflow_id in ids:
            workflow = db.session.get(Workflow, workflow_id)
            assert workflow is not None
            crud.set_enabled(db.session(), workflow, True, container().handlers)
    return ids


def _make_all_due(engine: Engine, ids: list[int]) -> None:
    with engine.app.app_context():
        now = utcnow()
        db.session.execute(
            update(Trigger)
            .where(Trigger.workflow_id.in_(ids))
            .values(next_run_at=now - timedelta(seconds=1))
        )
        db.session.commit()

    def all_advanced() -> bool:
        with engine.app.app_context():
            waiting = db.session.scalar(
                select(func.count())
                .select_from(Trigger)
                .where(Trigger.workflow_id.in_(ids), Trigger.next_run_at <= now)
            )
            return waiting == 0

    wait_until(all_advanced, 30, "both schedulers to handle every due trigger")


def test_two_scheduler_processes_fire_each_slot_once(engine: Engine) -> None:
    # Given two scheduler processes (the harness started one) and 30 every-minute schedules
    engine.start_scheduler()
    ids = _every_minute(engine)

    # When every trigger is made due at once, three times over (the same minute's slot each
    # time, unless a minute passes meanwhile)
    for _ in range(3):
        _make_all_due(engine, ids)

    # Then each (trigger, slot) has exactly one execution and one fired-slot record
    with engine.app.app_context():
        executions = db.session.execute(
            select(Execution.id, Execution.workflow_id, Execution.trigger_data).where(
                Execution.workflow_id.in_(ids)
            )
        ).all()
        fired = db.session.scalar(
            select(func.count())
            .select_from(ScheduleSlot)
            .join(Trigger, Trigger.id == ScheduleSlot.trigger_id)
            .where(Trigger.workflow_id.in_(ids), ScheduleSlot.status == "fired")
        )
    per_slot = Counter((e.workflow_id, e.trigger_data["scheduled_at"]) for e in executions)
    assert set(per_slot.values()) == {1}
    assert {workflow_id for workflow_id, _ in per_slot} == set(ids)
    assert fired == len(executions)
    assert len(executions) <= 2 * SCHEDULES  # at most one minute boundary in a few seconds
    # and the worker runs them all
    finished = engine.wait(*(e.id for e in executions), timeout=60)
    assert {e.status for e in finished} == {"completed"}
