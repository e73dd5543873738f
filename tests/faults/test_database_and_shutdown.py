"""PostgreSQL connections cut during a run, and workers stopped with SIGTERM under load
(SECURITY.md "Durability"): steps retry, every execution completes, none stays running, and a
graceful stop loses nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import func, select

from app.extensions import db
from app.models import Execution, ExecutionStep
from tests.conftest import PG_ADMIN_URL
from tests.engine_harness import Engine
from tests.faults.conftest import LEASE
from tests.faults.support import (
    all_final,
    effect_step,
    effects,
    journal_lines,
    log_entries,
    wait_until,
)

TEST_APP = "stepline-fault-test"
CUTS = 10  # the test process's own connections are spared


def _terminate_backends(database: str) -> int:
    """pg_terminate_backend() every connection to `database` except the test process's."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND application_name <> %s",
            (database, TEST_APP),
        ).fetchall()
    return len(rows)


def _live_rows(engine: Engine) -> tuple[int, int]:
    with engine.app.app_context():
        executions = db.session.scalar(
            select(func.count()).where(Execution.status.in_(("pending", "running")))
        )
        steps = db.session.scalar(select(func.count()).where(ExecutionStep.status == "running"))
        return int(executions or 0), int(steps or 0)


def test_database_connections_cut_during_a_run_every_execution_completes(
    make_engine: Callable[..., Engine], fault_database: str, tmp_path: Path
) -> None:
    # Given two workers running forty three-step executions
    engine = make_engine(
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_pre_ping": True,
            "connect_args": {"application_name": TEST_APP},
        }
    )
    engine.start_worker()
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(
        {
            "name": "cut",
            "steps": [
                {"key": "shape", "type": "transform", "config": {"fields": {"n": "1"}}},
                effect_step(journal, sleep_first_attempt=0.3),
                {"key": "after", "type": "log", "config": {"message": "done"}},
            ],
        }
    )
    ids = [engine.trigger(workflow_id) for _ in range(40)]

    # When every worker and scheduler connection to the database is terminated, again and
    # again, while the steps run
    database = fault_database.rsplit("/", 1)[1]
    terminated = 0
    for _ in range(CUTS):
        if all_final(engine, ids):
            break
        terminated += _terminate_backends(database)
        time.sleep(0.2)  # the fault's cadence: let work resume between two cuts

    # Then the steps retried: every execution completed within the lease + 30 s, and nothing
    # stays running
    assert terminated > 0
    finished = engine.wait(*ids, timeout=LEASE + 30)
    assert [e.status for e in finished] == ["completed"] * len(ids)
    assert _live_rows(engine) == (0, 0)
    for execution_id in ids:
        assert effects(journal, execution_id)  # at least once (a cut record re-runs a step)
    # and the cuts hit running work: transactions found their connection dead and re-ran
    retried = [
        e for e in log_entries(engine) if e["message"].startswith("database connection lost")
    ]
    attempts = [s.attempts for i in ids for s in engine.steps(i)]
    assert retried or max(attempts) > 1
    assert all(isinstance(e.get("execution_id"), int) for e in retried)


def test_workers_stopped_with_sigterm_under_load_lose_nothing(
    make_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    # Given two workers busy with forty executions whose effect takes half a second
    engine = make_engine()
    engine.start_worker()
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(
        {"name": "busy", "steps": [effect_step(journal, sleep_first_attempt=0.5)]}
    )
    ids = [engine.trigger(workflow_id) for _ in range(40)]
    wait_until(lambda: len(journal_lines(Path(f"{journal}.started"))) >= 4, 30, "work to start")

    # When each worker in turn is stopped with SIGTERM while steps run (a new one started)
    for worker in list(engine.workers):
        engine.start_worker()
        engine.stop_worker(worker)

    # Then in-flight steps finished and queued ones ran on the other workers: every
    # execution completed, each effect once, none cut short
    finished = engine.wait(*ids, timeout=LEASE + 30)
    assert [e.status for e in finished] == ["completed"] * len(ids)
    for execution_id in ids:
        assert len(effects(journal, execution_id)) == 1, execution_id
        (step,) = engine.steps(execution_id)
        assert step.attempts == 1, step.attempt_log
