"""Faults while runs wait (issue 21): 200 runs parked in `wait_for_call` steps, then every
worker and the scheduler stopped, Redis emptied, new processes started (two schedulers). A
waiting run holds no message, so nothing is lost: each run called resumes exactly once (a
second call is refused), and each one whose wait timed out ends once, whichever scheduler's
pass saw it first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.engine_harness import Engine
from tests.faults.conftest import LEASE
from tests.faults.support import effect_step, effects, wait_until
from tests.redis_server import RedisServer

CALLED = 150
TIMED_OUT = 50


def _spec(name: str, journal: Path, **wait: object) -> dict[str, object]:
    return {
        "name": name,
        "steps": [
            {"key": "hold", "type": "wait_for_call", "config": wait},
            effect_step(
                journal, marker="{{ steps.hold.body.n if 'body' in steps.hold else 'late' }}"
            ),
        ],
    }


def test_waiting_runs_survive_restarts_and_an_emptied_redis(
    make_engine: Callable[..., Engine], redis_server: RedisServer, tmp_path: Path
) -> None:
    # Given 150 runs waiting for a call (a day) and 50 whose wait times out after 6 s
    engine = make_engine()
    journal = tmp_path / "effects.log"
    user = engine.user()
    called_wf = engine.workflow(_spec("called", journal), user)
    late_spec = _spec(
        "late", journal, timeout_amount=0.1, timeout_unit="minutes", on_timeout="continue"
    )
    late_wf = engine.workflow(late_spec, user)
    called = [engine.trigger(called_wf, {"n": n}) for n in range(CALLED)]
    late = [engine.trigger(late_wf) for _ in range(TIMED_OUT)]
    everyone = called + late
    wait_until(
        lambda: _count(engine, everyone, "waiting") == len(everyone), 120, "every run to wait"
    )

    # When every worker and the scheduler stop, Redis is emptied, and new ones start (two
    # schedulers, whose passes race for the same timed-out waits)
    for process in list(engine.processes):
        if process.poll() is None and process not in engine.workers:
            process.terminate()
            process.wait(timeout=30)
    for worker in list(engine.workers):
        engine.stop_worker(worker)
    redis_server.client().flushall()
    engine.start_worker(threads=4)
    engine.start_scheduler()
    engine.start_scheduler()

    # and each called run's URL is called twice
    client = engine.app.test_client()
    refused = 0
    for n, execution_id in enumerate(called):
        hold = next(s for s in engine.steps(execution_id) if s.action_key == "hold")
        url = (hold.output or {})["resume_url"]
        path = url[url.index("/resume/") :]
        assert client.post(path, json={"n": n}).status_code == 200
        refused += client.post(path, json={"n": -1}).status_code == 409

    # Then every run completes once: the called ones with their call, the others on timeout
    finished = engine.wait(*everyone, timeout=LEASE + 120)
    assert [e.status for e in finished] == ["completed"] * len(everyone), {
        e.error for e in finished
    }
    assert refused == CALLED
    for n, execution_id in enumerate(called):
        assert len(effects(journal, execution_id)) == 1  # the step after the wait ran once
        assert _output(engine, execution_id, "work")["marker"] == str(n)
    for execution_id in late:
        assert len(effects(journal, execution_id)) == 1
        assert _output(engine, execution_id, "work")["marker"] == "late"
        hold = next(s for s in engine.steps(execution_id) if s.action_key == "hold")
        assert hold.output == {"timed_out": True}
        assert [line["ended_by"] for line in hold.attempt_log] == ["wait", "worker"]


def _count(engine: Engine, ids: list[int], status: str) -> int:
    return sum(engine.execution(i).status == status for i in ids)


def _output(engine: Engine, execution_id: int, key: str) -> dict[str, object]:
    found = next(s for s in engine.steps(execution_id) if s.action_key == key)
    return dict(found.output or {})
