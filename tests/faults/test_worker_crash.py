"""Workers that die or stall mid-step (SECURITY.md "Durability"): `kill -9` again and again,
and a worker frozen past Dramatiq's heartbeat while another one takes its message."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.engine_harness import Engine
from tests.faults.conftest import LEASE
from tests.faults.support import (
    effect_step,
    effects,
    holder,
    log_entries,
    started,
    wait_until,
)

KILL_ROUNDS = 3


def test_workers_killed_mid_step_again_and_again_every_execution_ends_once(
    make_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    # Given two workers and a workflow whose first attempt at its effect runs for a minute
    engine = make_engine()
    engine.start_worker(threads=2)
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(
        {
            "name": "crash",
            "steps": [
                effect_step(journal, sleep_first_attempt=60),
                {"key": "after", "type": "log", "config": {"message": "{{ steps.work.attempt }}"}},
            ],
        }
    )

    # When, three times over, two executions start and the workers running their steps are
    # killed with SIGKILL (a fresh worker started first each time)
    ids: list[int] = []
    killed = 0
    last_kill = time.monotonic()
    for _ in range(KILL_ROUNDS):
        wave = [engine.trigger(workflow_id) for _ in range(2)]
        ids += wave

        def wave_started(wave: list[int] = wave) -> bool:
            return set(wave) <= set(started(journal))

        wait_until(wave_started, LEASE + 30, "steps to start")
        pids = {started(journal)[execution_id] for execution_id in wave}
        engine.start_worker(threads=2)
        for worker in {holder(engine, pid) for pid in pids}:
            engine.kill_worker(worker)
            killed += 1
        last_kill = time.monotonic()

    # Then every execution reaches one final state, completed, within the lease + 30 s
    finished = engine.wait(*ids, timeout=LEASE + 30)
    assert time.monotonic() - last_kill < LEASE + 30
    assert killed >= KILL_ROUNDS
    assert [e.status for e in finished] == ["completed"] * len(ids)
    for execution_id in ids:
        work, after = engine.steps(execution_id)
        # the killed attempt counts as failed and the step re-ran under its retry rules
        assert work.attempts >= 2
        assert "worker running this step stopped" in work.attempt_log[0]["error"]
        assert (after.output or {})["message"] == str(work.attempts)
        # the effect finished exactly once, on the attempt that completed
        (line,) = effects(journal, execution_id)
        assert f"attempt={work.attempts} " in line

    # And the workers' JSON lines carry the execution id and step key of each step
    entries = log_entries(engine)
    for execution_id in ids:
        assert any(
            e.get("execution_id") == execution_id
            and e.get("step_key") == "after"
            and e["message"].startswith("log step:")
            for e in entries
        ), execution_id


def test_a_stalled_worker_whose_message_is_redelivered_runs_the_effect_once(
    make_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    # Given a worker running a step (lease long enough to outlast the stall) and a second
    # worker configured to take over a silent worker's messages after one second, as
    # Dramatiq's own tests force it
    engine = make_engine(lease=20)
    (stalled,) = engine.workers
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(
        {"name": "stall", "steps": [effect_step(journal, sleep_first_attempt=3)]}
    )
    execution_id = engine.trigger(workflow_id)
    wait_until(lambda: execution_id in started(journal), 30, "the step to start")

    # When the worker is frozen (SIGSTOP) past its heartbeat, the second worker receives the
    # same message, and then the first one resumes (SIGCONT)
    os.killpg(stalled.pid, signal.SIGSTOP)
    try:
        engine.start_worker(
            env={
                "STEPLINE_BROKER_HEARTBEAT_TIMEOUT": "1000",
                "STEPLINE_BROKER_MAINTENANCE_CHANCE": "1000000",
                "STEPLINE_LOG_LEVEL": "DEBUG",
            }
        )
        wait_until(
            lambda: any(
                e["message"].startswith("dropped stale message")
                and e.get("execution_id") == execution_id
                for e in log_entries(engine)
            ),
            30,
            "the second worker to receive the message",
        )
    finally:
        os.killpg(stalled.pid, signal.SIGCONT)

    # Then the claim made the second delivery a no-op: the effect ran once, on attempt 1
    (execution,) = engine.wait(execution_id, timeout=30)
    assert execution.status == "completed"
    (step,) = engine.steps(execution_id)
    assert step.attempts == 1
    (line,) = effects(journal, execution_id)
    assert f"pid={stalled.pid}" not in line  # written by the worker process, not its parent
    assert line.split("pid=")[1] == str(started(journal)[execution_id])
