"""Call another workflow (`run_workflow`), end to end on both backends (SQLite + the
in-process worker, PostgreSQL + Redis with worker and scheduler processes): a child run is
started with data from templates, linked to its parent step, one level deeper; without
waiting the step goes on with the child's id; waiting, the child's last output becomes the
step's output and its failure the step's failure; a workflow calling itself fails clearly at
the depth limit; a dry run starts a dry child; another user's workflow is refused. How the
parent is resumed: test_run_workflow_resume.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Execution, Workflow
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.engine_harness import Engine, engine_fixture
from tests.integration.children_support import call, children_of, doubler, parent, step


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("children"))


def test_not_waiting_the_step_goes_on_with_the_new_runs_id(engine: Engine) -> None:
    user = engine.user()
    child_workflow = doubler(engine, user)
    parent_workflow = parent(
        engine,
        user,
        call(child_workflow, wait=False),
        {"key": "after", "type": "log", "config": {"message": "{{ steps.call.execution_id }}"}},
    )

    (run,) = engine.wait(engine.trigger(parent_workflow, {"n": 21}))

    assert run.status == "completed"
    (child,) = children_of(engine, run.id)
    output = step(engine, run.id, "call").output
    assert output == {
        "execution_id": child.id,
        "status": "started",
        "child_execution_id": child.id,
        "workflow_id": child_workflow,
        "workflow": "Doubler",
        "note": "“Doubler” is not active; called, it runs its saved version anyway.",
    }
    assert (child.parent_position, child.parent_frame, child.depth) == (0, "", 1)
    assert child.trigger_type == "workflow"
    assert child.trigger_data == {"n": 21, "from": "parent"}
    (child,) = engine.wait(child.id)
    assert child.status == "completed"
    assert step(engine, child.id, "double").output == {"doubled": 42}


def test_waiting_the_childs_last_output_becomes_the_steps(engine: Engine) -> None:
    user = engine.user()
    child_workflow = doubler(engine, user)
    parent_workflow = parent(
        engine,
        user,
        call(child_workflow),
        {
            "key": "use",
            "type": "transform",
            "config": {"fields": {"got": "{{ steps.call.doubled }}"}},
        },
    )

    (run,) = engine.wait(engine.trigger(parent_workflow, {"n": 4}))

    assert run.status == "completed", run.error
    (child,) = children_of(engine, run.id)
    assert child.status == "completed"
    assert step(engine, run.id, "call").output == {"doubled": 8, "child_execution_id": child.id}
    assert step(engine, run.id, "use").output == {"got": 8}


def test_a_failed_child_fails_the_waiting_step(engine: Engine) -> None:
    user = engine.user()
    broken = engine.workflow(
        {
            "name": "Broken",
            "steps": [
                {
                    "key": "oops",
                    "type": "transform",
                    "config": {"fields": {"x": "{{ trigger.missing.deeper }}"}},
                }
            ],
        },
        user,
    )
    parent_workflow = parent(engine, user, call(broken))

    (run,) = engine.wait(engine.trigger(parent_workflow, {"n": 1}))

    assert run.status == "failed"
    (child,) = children_of(engine, run.id)
    assert child.status == "failed"
    called = step(engine, run.id, "call")
    assert called.status == "failed"
    assert called.error is not None
    assert called.error.startswith(f"The called workflow “Broken” failed (run #{child.id}): ")
    assert child.error is not None and child.error in called.error
    assert called.attempts == 2  # the start, then the resumed run that fails: no retry


def self_caller(engine: Engine, user_id: int) -> int:
    """A workflow that calls itself with n + 1 (and waits for itself), without an end."""
    workflow_id = engine.workflow({"name": "Recursive", "steps": []}, user_id)
    spec = {
        "name": "Recursive",
        "steps": [
            {
                "key": "again",
                "type": "run_workflow",
                "config": {"workflow_id": workflow_id, "data": {"n": "{{ trigger.n + 1 }}"}},
            }
        ],
    }
    with engine.app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        stepline = engine.container
        crud.update_workflow(
            db.session(),
            workflow,
            WorkflowSpec.model_validate(spec),
            stepline.secrets,
            stepline.handlers,
        )
    return workflow_id


def test_a_workflow_calling_itself_fails_clearly_at_the_depth_limit(engine: Engine) -> None:
    user = engine.user()
    workflow_id = self_caller(engine, user)

    (top,) = engine.wait(engine.trigger(workflow_id, {"n": 0}), timeout=60)

    assert top.status == "failed"
    with engine.app.app_context():
        runs = db.session.scalars(
            select(Execution).where(Execution.workflow_id == workflow_id).order_by(Execution.id)
        ).all()
        chain = [(r.id, r.depth, r.status, r.trigger_data, r.parent_execution_id) for r in runs]
    assert [depth for _, depth, *_ in chain] == [0, 1, 2, 3, 4, 5]
    assert all(status == "failed" for _, _, status, *_ in chain)
    assert [data["n"] for *_, data, _ in chain] == [0, 1, 2, 3, 4, 5]
    assert [p for *_, p in chain] == [None, *[run_id for run_id, *_ in chain[:-1]]]
    deepest = step(engine, chain[-1][0], "again")
    assert deepest.error is not None
    assert deepest.error.startswith("Workflows call each other more than 5 deep: ")
    assert f"“Recursive” (run #{chain[0][0]}) → " in deepest.error
    assert deepest.attempts == 1  # refused at once, not retried
    # Each parent failed with its child's failure, naming the child's run.
    assert "more than 5 deep" in (top.error or "")
    assert f"(run #{chain[1][0]})" in (top.error or "")


def test_a_dry_run_starts_a_dry_child(engine: Engine) -> None:
    user = engine.user()
    child_workflow = doubler(engine, user)
    parent_workflow = parent(engine, user, call(child_workflow, wait=False))

    (run,) = engine.wait(engine.trigger(parent_workflow, {"n": 2}, dry_run=True))

    assert run.status == "completed" and run.dry_run
    (child,) = children_of(engine, run.id)
    assert child.dry_run


def test_another_users_workflow_is_refused_when_the_step_runs(engine: Engine) -> None:
    owner, stranger = engine.user(), engine.user()
    theirs = doubler(engine, stranger)
    mine = parent(engine, owner, call(doubler(engine, owner), wait=False))
    with engine.app.app_context():  # named after saving (e.g. a template), checked again
        workflow = db.session.get(Workflow, mine)
        assert workflow is not None
        workflow.actions[0].config = {**workflow.actions[0].config, "workflow_id": theirs}
        db.session.commit()

    (run,) = engine.wait(engine.trigger(mine, {"n": 1}))

    assert run.status == "failed"
    called = step(engine, run.id, "call")
    assert called.error == f"Workflow {theirs} does not exist or is not yours."
    assert called.attempts == 1
    with engine.app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Execution).where(Execution.workflow_id == theirs)
        )
    assert count == 0
