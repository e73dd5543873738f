"""Faults in the middle of a loop (issue 20): workers killed mid-iteration under load, and
Redis emptied while iterations wait. Every iteration's effect happens, the loop's output is
complete and in order, and each execution ends once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.engine_harness import Engine
from tests.faults.conftest import LEASE
from tests.faults.support import effect_step, holder, journal_lines, started, wait_until
from tests.integration.test_flow_loops import loop, out, step
from tests.redis_server import RedisServer

ITEMS = 6
EXECUTIONS = 4
SLOW_ITERATION = 2


def _iteration_effects(journal: Path, execution_id: int) -> dict[int, list[str]]:
    """The finished runs of the loop's effect step, by iteration index."""
    found: dict[int, list[str]] = {}
    for line in journal_lines(journal):
        key = line.split(" ", 1)[0]
        if key.startswith(f"{execution_id}:work@"):
            index = int(key.rsplit(".", 1)[1])
            found.setdefault(index, []).append(line)
    return found


def _loop_tree(journal: Path, **effect: Any) -> list[dict[str, Any]]:
    return [
        loop(
            "each",
            "{{ trigger.items }}",
            [
                step("shape", "transform", {"fields": {"n": "{{ loop.item }}"}}),
                effect_step(journal, marker="{{ steps.shape.n }}", **effect),
            ],
        ),
        step("after", "log", {"message": "{{ steps.each.count }}"}),
    ]


def _complete_and_in_order(engine: Engine, journal: Path, ids: list[int]) -> None:
    finished = engine.wait(*ids, timeout=LEASE + 60)
    assert [e.status for e in finished] == ["completed"] * len(ids), [e.error for e in finished]
    for execution_id in ids:
        history = engine.history(execution_id)
        loop_output = out(history[0])
        assert loop_output["count"] == ITEMS and loop_output["failed"] == 0
        assert [item["marker"] for item in loop_output["items"]] == [str(n) for n in range(ITEMS)]
        runs = _iteration_effects(journal, execution_id)
        assert sorted(runs) == list(range(ITEMS)), execution_id  # every iteration, at least once
        assert all(len(lines) == 1 for lines in runs.values()), runs  # here: exactly once
        assert out(history[-1])["message"] == str(ITEMS)


def test_workers_killed_mid_iteration_under_load_every_iteration_runs(
    make_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    # Given two workers running loops of 6 items whose effect, in iteration 2, first runs for
    # a minute; several executions at once
    engine = make_engine()
    engine.start_worker(threads=2)
    journal = tmp_path / "effects.log"
    tree = _loop_tree(
        journal, sleep_first_attempt=f"{{{{ 60 if loop.index == {SLOW_ITERATION} else 0 }}}}"
    )
    ids = [engine.start_tree(tree, {"items": list(range(ITEMS))}) for _ in range(EXECUTIONS)]
    wait_until(lambda: set(ids) <= set(started(journal)), LEASE + 60, "iteration 2 to start")

    # When every worker holding one of those iterations is killed with SIGKILL (a fresh
    # worker started first)
    pids = {started(journal)[execution_id] for execution_id in ids}
    engine.start_worker(threads=2)
    for worker in {holder(engine, pid) for pid in pids}:
        engine.kill_worker(worker)

    # Then each execution completes once, every iteration's effect ran, the loop's output is
    # complete and in order, and the killed iteration retried under its step's rules
    _complete_and_in_order(engine, journal, ids)
    for execution_id in ids:
        (killed,) = [
            s
            for s in engine.history(execution_id)
            if s.action_key == "work" and s.frame == f"0.{SLOW_ITERATION}"
        ]
        assert killed.attempts == 2
        assert "worker running this step stopped" in killed.attempt_log[0]["error"]


def test_redis_emptied_while_iterations_wait_every_loop_completes(
    make_engine: Callable[..., Engine], redis_server: RedisServer, tmp_path: Path
) -> None:
    # Given loops waiting in a delay inside an iteration, and no worker running
    engine = make_engine()
    journal = tmp_path / "effects.log"
    tree = _loop_tree(journal)
    tree[0]["steps"].insert(1, step("pause", "delay", {"amount": 1, "unit": "seconds"}))
    ids = [engine.start_tree(tree, {"items": list(range(ITEMS))}) for _ in range(EXECUTIONS)]
    wait_until(
        lambda: all(engine.execution(i).frame == "0.1" for i in ids),
        LEASE + 60,
        "the loops to reach iteration 1",
    )
    for worker in list(engine.workers):
        engine.stop_worker(worker)

    # When every key is deleted (this test's own redis-server), and then a worker starts
    redis_server.client().flushall()
    engine.start_worker()

    # Then recovery re-sends each run's doorbell in its iteration and every loop completes
    _complete_and_in_order(engine, journal, ids)
