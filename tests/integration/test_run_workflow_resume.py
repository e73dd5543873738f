"""A child run's end resumes its parent's waiting step, whichever way it comes (both
backends, real workers and scheduler): a retried start finds the child it made; a child that
ended before its parent waited resumes it at once; a cancelled child fails the step at once; a
timed-out wait fails it while the child goes on; the scheduler resumes a parent whose child's
end was missed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Execution, ExecutionStep
from app.models.base import utcnow
from app.services.executions import lifecycle
from tests.engine_harness import Engine, engine_fixture
from tests.integration.children_support import (
    call,
    children_of,
    doubler,
    held_run,
    parent,
    request_for,
    step,
    waiting_parent,
)


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("child-resume"))


def test_a_retried_start_finds_the_child_it_made(engine: Engine) -> None:
    # Given a parent run whose step has not run yet (its first doorbell is held back)
    user = engine.user()
    child_workflow = doubler(engine, user)
    parent_workflow = parent(engine, user, call(child_workflow, wait=False))
    run_id = held_run(engine, parent_workflow, {"n": 3})
    starter = engine.container.runner.executor.children
    assert starter is not None

    # When three attempts of that step start its child at once (a retry racing a redelivery)
    found: list[Any] = []

    def start() -> None:
        found.append(starter(request_for(engine, run_id, child_workflow)))

    racers = [threading.Thread(target=start) for _ in range(3)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    # and then the step itself runs (its doorbell rings now)
    engine.container.doorbell.send(run_id, 0, 1, 0.0)
    (run,) = engine.wait(run_id)

    # Then there is one child: one start made it, the others and the step found it
    assert run.status == "completed"
    (child,) = children_of(engine, run_id)
    assert sorted(f.created for f in found) == [False, False, True]
    assert {f.execution_id for f in found} == {child.id}
    output = step(engine, run_id, "call").output
    assert output is not None and output["execution_id"] == child.id


def test_the_scheduler_resumes_a_parent_whose_childs_end_was_missed(engine: Engine) -> None:
    # Given a parent waiting for a child that waits an hour after its first step
    user = engine.user()
    run_id, child = waiting_parent(engine, user)
    engine.wait_for(lambda: step(engine, child.id, "later").status == "completed")

    # When the child ends without its end resuming the parent (a crash between the two)
    with engine.app.app_context():
        now = utcnow()
        db.session.execute(
            update(Execution)
            .where(Execution.id == child.id)
            .values(status="completed", finished_at=now, updated_at=now, lease_expires_at=None)
        )
        db.session.commit()

    # Then the scheduler's pass resumes the parent with the child's last output
    (run,) = engine.wait(run_id)
    assert run.status == "completed", run.error
    output = step(engine, run_id, "call").output
    assert output is not None
    assert output["child_execution_id"] == child.id
    assert output["waited_seconds"] == 3600  # the delay step's: the last one that completed


def test_cancelling_the_child_fails_the_waiting_step_at_once(engine: Engine) -> None:
    user = engine.user()
    run_id, child = waiting_parent(engine, user)

    with engine.app.app_context():
        found = db.session.get(Execution, child.id)
        assert found is not None
        stepline = engine.container
        lifecycle.cancel(
            db.session(), found, send=stepline.doorbell.send, settings=stepline.settings
        )
    resumed = step(engine, run_id, "call").status  # the cancel resumed it before answering

    (run,) = engine.wait(run_id)
    assert resumed != "waiting"
    assert run.status == "failed"
    called = step(engine, run_id, "call")
    assert called.error == (
        f"The called workflow “Slow” failed (run #{child.id}): Cancelled by a user."
    )


def test_a_timed_out_wait_fails_the_step_and_the_child_goes_on(engine: Engine) -> None:
    user = engine.user()
    run_id, child = waiting_parent(engine, user)

    with engine.app.app_context():  # its deadline (a day) has passed
        db.session.execute(
            update(ExecutionStep)
            .where(ExecutionStep.execution_id == run_id, ExecutionStep.action_key == "call")
            .values(next_retry_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    (run,) = engine.wait(run_id)
    assert run.status == "failed"
    called = step(engine, run_id, "call")
    assert called.error == "The called workflow did not end within 1 day; its run goes on."
    assert engine.execution(child.id).status in ("pending", "running")


def test_a_child_that_ended_before_its_parent_waited_resumes_it(engine: Engine) -> None:
    # Given a child run that ended before its parent's step ran (as when the child is quick and
    # the parent's record of its wait comes late)
    user = engine.user()
    child_workflow = doubler(engine, user)
    parent_workflow = parent(engine, user, call(child_workflow))
    run_id = held_run(engine, parent_workflow, {"n": 3})
    starter = engine.container.runner.executor.children
    assert starter is not None
    made = starter(request_for(engine, run_id, child_workflow))
    (child,) = engine.wait(made.execution_id)
    assert child.status == "completed"

    # When the parent's step runs, finds that child and waits for it
    engine.container.doorbell.send(run_id, 0, 1, 0.0)

    # Then its wait ends at once with the child's output
    (run,) = engine.wait(run_id)
    assert run.status == "completed", run.error
    assert step(engine, run_id, "call").output == {"doubled": 6, "child_execution_id": child.id}
