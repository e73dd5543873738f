"""Redis restarted or emptied while executions wait in it (SECURITY.md "Durability"): the
database is the source of truth, so recovery re-sends every lost doorbell and each committed
execution finishes, its effect once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

from tests.engine_harness import Engine
from tests.faults.conftest import LEASE
from tests.faults.support import effect_step, effects, wait_until
from tests.redis_server import RedisServer

COUNT = 4


def _queued_and_delayed(engine: Engine, journal: Path) -> tuple[list[int], list[int]]:
    """Executions whose next message is delayed (after a delay step), then executions whose
    first message waits in the queue; no worker runs when this returns."""
    delayed_flow = engine.workflow(
        {
            "name": "delayed",
            "steps": [
                {"key": "pause", "type": "delay", "config": {"amount": 2, "unit": "seconds"}},
                effect_step(journal),
            ],
        }
    )
    queued_flow = engine.workflow({"name": "queued", "steps": [effect_step(journal)]})
    delayed = [engine.trigger(delayed_flow) for _ in range(COUNT)]
    wait_until(
        lambda: all(engine.execution(i).position == 1 for i in delayed),
        30,
        "the delay steps to complete",
    )
    for worker in list(engine.workers):
        engine.stop_worker(worker)
    queued = [engine.trigger(queued_flow) for _ in range(COUNT)]
    return delayed, queued


def _all_complete_once(engine: Engine, journal: Path, ids: list[int]) -> None:
    finished = engine.wait(*ids, timeout=LEASE + 30)
    assert [e.status for e in finished] == ["completed"] * len(ids)
    for execution_id in ids:
        assert len(effects(journal, execution_id)) == 1, execution_id


def test_redis_restarted_without_its_data_every_execution_completes(
    make_engine: Callable[..., Engine], redis_server: RedisServer, tmp_path: Path
) -> None:
    # Given executions waiting in Redis, queued and delayed, and no worker running
    engine = make_engine()
    journal = tmp_path / "effects.log"
    delayed, queued = _queued_and_delayed(engine, journal)
    assert cast(int, redis_server.client().dbsize()) > 0

    # When Redis restarts with nothing persisted (every connection dropped, every message
    # gone), and then a worker starts
    redis_server.restart()
    assert redis_server.client().dbsize() == 0
    engine.start_worker()

    # Then the scheduler, reconnected, re-sends them all and each runs its effect once
    _all_complete_once(engine, journal, delayed + queued)


def test_redis_emptied_while_executions_wait_every_execution_completes(
    make_engine: Callable[..., Engine], redis_server: RedisServer, tmp_path: Path
) -> None:
    # Given executions waiting in Redis, queued and delayed, and no worker running
    engine = make_engine()
    journal = tmp_path / "effects.log"
    delayed, queued = _queued_and_delayed(engine, journal)

    # When every key is deleted (this test's own redis-server), and then a worker starts
    redis_server.client().flushall()
    engine.start_worker()

    # Then recovery re-sends every execution and each runs its effect once
    _all_complete_once(engine, journal, delayed + queued)
