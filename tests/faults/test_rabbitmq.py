"""RabbitMQ as the broker (STEPLINE_BROKER_URL=amqp://…, no Redis anywhere): executions run end
to end through a real `dramatiq app.tasks` worker, delayed messages (a delay step, inside a
loop too, whose messages carry the frame) arrive, the queue's depth is read for back-pressure,
and after the test's queues are purged or deleted while executions wait, recovery re-sends
every doorbell and each execution completes once. Each test's queues carry a prefix of its own
(tests/rabbitmq.py) and are deleted at the end (Engine.close)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from tests import rabbitmq
from tests.engine_harness import Engine
from tests.faults.conftest import LEASE
from tests.faults.support import effect_step, effects, journal_lines, wait_until
from tests.integration.test_flow_loops import loop, out, step

COUNT = 4


@pytest.fixture
def make_engine(fault_database: str, tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    """An engine on this test's database and RabbitMQ: the app in the test process, one
    worker and one scheduler process; its queues are deleted when it closes."""
    engines: list[Engine] = []

    def make(**settings: Any) -> Engine:
        settings.setdefault("lease", LEASE)
        engine = Engine("postgresql", fault_database, tmp_path, mode="rabbitmq", **settings)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()
        assert rabbitmq.ready_counts(engine.namespace) == {}  # nothing of this test is left


def test_an_execution_runs_end_to_end_on_rabbitmq_with_delays_and_loops(
    make_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    # Given an engine whose broker is RabbitMQ
    engine = make_engine()
    assert isinstance(engine.container.broker, RabbitmqBroker)
    journal = tmp_path / "effects.log"

    # When an execution runs transforms, a delay step, and a loop whose iterations wait on a
    # delay (their messages carry the frame, the fourth argument)
    execution_id = engine.start_tree(
        [
            step("shape", "transform", {"fields": {"n": "{{ trigger.n }}"}}),
            step("pause", "delay", {"amount": 1, "unit": "seconds"}),
            loop(
                "each",
                "{{ trigger.items }}",
                [
                    step("wait", "delay", {"amount": 0.2, "unit": "seconds"}),
                    effect_step(journal, marker="{{ loop.item }}"),
                ],
            ),
            step("done", "transform", {"fields": {"total": "{{ steps.shape.n + 1 }}"}}),
        ],
        {"n": 41, "items": ["a", "b", "c"]},
    )
    (finished,) = engine.wait(execution_id, timeout=60)

    # Then it completes: the delay held the run back, each iteration ran its effect once
    assert finished.status == "completed", finished.error
    history = {run.action_key + run.frame: run for run in engine.history(execution_id)}
    pause, after = history["pause"], history["each"]
    assert pause.finished_at is not None and after.started_at is not None
    assert (after.started_at - pause.started_at).total_seconds() >= 1.0  # type: ignore[operator]
    assert [item["marker"] for item in out(after)["items"]] == ["a", "b", "c"]
    iterations = [line for line in journal_lines(journal) if line.startswith(f"{execution_id}:")]
    assert len(iterations) == 3, iterations
    assert out(history["done"]) == {"total": 42}


def test_queue_depth_counts_ready_and_delayed_messages_on_rabbitmq(
    make_engine: Callable[..., Engine],
) -> None:
    # Given an engine on RabbitMQ with no worker running
    engine = make_engine(MAX_QUEUE_DEPTH=3)
    for worker in list(engine.workers):
        engine.stop_worker(worker)
    doorbell = engine.container.doorbell
    assert doorbell.queue_depth() == 0

    # When two steps are rung now and one later (a delayed message)
    doorbell.send(10**9, 0, 1)
    doorbell.send(10**9 + 1, 0, 1, frame="0.1")
    doorbell.send(10**9 + 2, 0, 1, delay=60)

    # Then the depth counts all three, and admission sees the queue full
    wait_until(lambda: doorbell.queue_depth() == 3, 10, "RabbitMQ to count the messages")
    counts = rabbitmq.ready_counts(engine.namespace)
    assert counts[f"{engine.namespace}.steps"] == 2
    assert counts[f"{engine.namespace}.steps.DQ"] == 1
    assert engine.container.fresh_admission().queue_full()


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
        engine.stop_worker(worker)  # its unacknowledged delayed messages go back to .DQ
    queued = [engine.trigger(queued_flow) for _ in range(COUNT)]
    return delayed, queued


def _all_complete_once(engine: Engine, journal: Path, ids: list[int]) -> None:
    finished = engine.wait(*ids, timeout=LEASE + 30)
    assert [e.status for e in finished] == ["completed"] * len(ids)
    for execution_id in ids:
        assert len(effects(journal, execution_id)) == 1, execution_id


@pytest.mark.parametrize("emptied", ["purged", "deleted"])
def test_rabbitmq_queues_emptied_while_executions_wait_every_execution_completes(
    emptied: str, make_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    # Given executions waiting in RabbitMQ, queued and delayed, and no worker running
    engine = make_engine()
    journal = tmp_path / "effects.log"
    delayed, queued = _queued_and_delayed(engine, journal)
    counts = rabbitmq.ready_counts(engine.namespace)
    assert counts[f"{engine.namespace}.steps"] >= COUNT
    assert counts[f"{engine.namespace}.steps.DQ"] >= COUNT

    # When the test's queues lose every message (purged, or deleted with their messages),
    # and then a worker starts (declaring the queues again if they are gone)
    if emptied == "purged":
        assert rabbitmq.purge(engine.namespace) >= 2 * COUNT
    else:
        rabbitmq.delete(engine.namespace)
    assert sum(rabbitmq.ready_counts(engine.namespace).values()) == 0
    engine.start_worker()

    # Then recovery re-sends every execution and each runs its effect once
    _all_complete_once(engine, journal, delayed + queued)
