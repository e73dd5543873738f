"""Parent and child runs as the execution page links them: a child run says which run (and
step) called it; a `run_workflow` step says which run it started."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.program import Program
from app.models import Execution, Workflow


@dataclass(frozen=True)
class RunLink:
    """Another run of the same user: its id, workflow name and status."""

    execution_id: int
    workflow_name: str
    status: str


@dataclass(frozen=True)
class ParentLink(RunLink):
    """The run whose step started this one, and that step's name."""

    step_name: str = ""


def parent_of(session: Session, execution: Execution) -> ParentLink | None:
    """The run (of the same owner) whose `run_workflow` step started `execution`, if any."""
    if execution.parent_execution_id is None:
        return None
    row = session.execute(
        select(Execution.status, Execution.snapshot, Workflow.name)
        .join(Workflow, Workflow.id == Execution.workflow_id)
        .where(
            Execution.id == execution.parent_execution_id,
            Execution.user_id == execution.user_id,
        )
    ).first()
    if row is None:  # deleted since (retention): the page says nothing of it
        return None
    step_name = ""
    program = Program((row.snapshot or {}).get("actions") or [])
    if execution.parent_position is not None and execution.parent_position < len(program):
        action = program.flat[execution.parent_position]
        step_name = str(action.get("name") or action.get("key") or "")
    return ParentLink(execution.parent_execution_id, row.name, row.status, step_name)


def children_of(session: Session, execution: Execution) -> dict[tuple[int, str], RunLink]:
    """The runs `execution`'s steps started, by the step run (position, frame) that started
    each (at most one per step run)."""
    rows = session.execute(
        select(
            Execution.id,
            Execution.status,
            Execution.parent_position,
            Execution.parent_frame,
            Workflow.name,
        )
        .join(Workflow, Workflow.id == Execution.workflow_id)
        .where(
            Execution.parent_execution_id == execution.id,
            Execution.user_id == execution.user_id,
        )
    ).all()
    return {
        (row.parent_position, row.parent_frame or ""): RunLink(row.id, row.name, row.status)
        for row in rows
        if row.parent_position is not None
    }
