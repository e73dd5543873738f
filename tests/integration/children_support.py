"""Workflows and runs for the run_workflow tests (tests/integration/test_run_workflow*.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.engine.children import ChildRequest
from app.extensions import db
from app.models import Execution, ExecutionStep, Workflow
from app.services.executions import lifecycle
from tests.engine_harness import Engine


def call(workflow_id: int, *, wait: bool = True, **config: Any) -> dict[str, Any]:
    return {
        "key": "call",
        "name": "Call the child",
        "type": "run_workflow",
        "config": {
            "workflow_id": workflow_id,
            "data": {"n": "{{ trigger.n }}", "from": "parent"},
            "wait": wait,
            **config,
        },
    }


def doubler(engine: Engine, user_id: int, name: str = "Doubler") -> int:
    return engine.workflow(
        {
            "name": name,
            "steps": [
                {"key": "first", "type": "transform", "config": {"fields": {"seen": "yes"}}},
                {
                    "key": "double",
                    "type": "transform",
                    "config": {"fields": {"doubled": "{{ trigger.n * 2 }}"}},
                },
            ],
        },
        user_id,
    )


def parent(engine: Engine, user_id: int, *steps: dict[str, Any]) -> int:
    return engine.workflow({"name": "Parent", "steps": list(steps)}, user_id)


def children_of(engine: Engine, execution_id: int) -> list[Execution]:
    with engine.app.app_context():
        rows = db.session.scalars(
            select(Execution).where(Execution.parent_execution_id == execution_id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def step(engine: Engine, execution_id: int, key: str) -> ExecutionStep:
    return next(s for s in engine.steps(execution_id) if s.action_key == key)


def request_for(engine: Engine, execution_id: int, workflow_id: int) -> ChildRequest:
    run = engine.execution(execution_id)
    return ChildRequest(
        parent_execution_id=execution_id,
        position=0,
        frame="",
        user_id=run.user_id,
        workflow_id=workflow_id,
        data={"n": 3},
    )


def slow_workflow(engine: Engine, user_id: int) -> int:
    """A workflow that waits an hour after its first step (it stays live for the test)."""
    return engine.workflow(
        {
            "name": "Slow",
            "steps": [
                {"key": "made", "type": "transform", "config": {"fields": {"made": 1}}},
                {"key": "later", "type": "delay", "config": {"amount": 1, "unit": "hours"}},
                {"key": "then", "type": "transform", "config": {"fields": {"made": 2}}},
            ],
        },
        user_id,
    )


def waiting_parent(engine: Engine, user_id: int) -> tuple[int, Execution]:
    """A parent run whose step waits for a slow child; the run and the child."""
    run_id = engine.trigger(parent(engine, user_id, call(slow_workflow(engine, user_id))), {"n": 1})
    engine.wait_for(lambda: step(engine, run_id, "call").status == "waiting")
    (child,) = children_of(engine, run_id)
    return run_id, child


def held_run(engine: Engine, workflow_id: int, data: dict[str, Any]) -> int:
    """A run of the workflow whose first doorbell is held back (nothing runs it yet)."""
    with engine.app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        return lifecycle.start(
            db.session(),
            workflow,
            data,
            send=lambda *a: None,
            settings=engine.container.settings,
        ).id
