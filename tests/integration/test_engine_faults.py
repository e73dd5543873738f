"""Crash survival with real processes on SQLite: a worker killed mid-step, Redis emptied.

Redis and real `dramatiq app.tasks` worker processes (SQLite is shared between processes through
its file), plus a `flask scheduler` process whose recovery pass re-sends what was lost. The same
faults, harder (kill -9 again and again, Redis restarted as well as emptied), run on PostgreSQL
in tests/faults.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from app.models import Base
from tests.conftest import create_database
from tests.engine_harness import Engine, engine_fixture

LEASE = 3


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    tmp = tmp_path_factory.mktemp("faults")
    url = create_database("sqlite", tmp)
    schema = create_engine(url)
    Base.metadata.create_all(schema)
    schema.dispose()
    yield from engine_fixture("sqlite", url, tmp, mode="redis", lease=LEASE)


def _wait_for_file(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_worker_killed_mid_step_execution_completes_once(engine: Engine, tmp_path: Path) -> None:
    # Given a step that is running (and would run for a minute) on the only worker
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(
        {
            "name": "crash",
            "steps": [
                {
                    "key": "slow",
                    "type": "test_effect",
                    "config": {"journal": str(journal), "sleep_first_attempt": 60},
                    "retry": {"attempts": 3, "backoff": {"type": "fixed", "delay": 0.1}},
                },
                {"key": "after", "type": "log", "config": {"message": "{{ steps.slow.attempt }}"}},
            ],
        }
    )
    execution_id = engine.trigger(workflow_id)
    _wait_for_file(Path(str(journal) + ".started"))

    # When the worker is killed with SIGKILL and a new one starts
    killed_at = time.monotonic()
    engine.kill_worker(engine.workers[0])
    engine.start_worker()

    # Then the execution completes, once, within the lease + 30 s
    (execution,) = engine.wait(execution_id, timeout=LEASE + 30)
    assert execution.status == "completed"
    assert time.monotonic() - killed_at < LEASE + 30
    slow, after = engine.steps(execution_id)
    assert slow.attempts == 2
    assert "worker running this step stopped" in slow.attempt_log[0]["error"]
    assert (after.output or {})["message"] == "2"
    assert after.attempts == 1
    finished = [
        line
        for line in journal.read_text().splitlines()
        if line.startswith(f"{execution_id}:slow ")
    ]
    assert len(finished) == 1 and "attempt=2" in finished[0]


def test_redis_emptied_while_executions_wait_all_complete(engine: Engine, tmp_path: Path) -> None:
    # Given executions whose messages sit in Redis (no worker is running)
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(
        {
            "name": "queued",
            "steps": [
                {"key": "effect", "type": "test_effect", "config": {"journal": str(journal)}}
            ],
        }
    )
    for worker in list(engine.workers):
        engine.stop_worker(worker)
    ids = [engine.trigger(workflow_id) for _ in range(5)]

    # When this test's Redis keys are all deleted, then a worker starts again
    assert engine.flush_namespace() > 0
    engine.start_worker()

    # Then recovery re-sends every execution and each step runs exactly once
    executions = engine.wait(*ids, timeout=LEASE + 30)
    assert [e.status for e in executions] == ["completed"] * 5
    lines = journal.read_text().splitlines()
    for execution_id in ids:
        assert sum(line.startswith(f"{execution_id}:effect ") for line in lines) == 1
