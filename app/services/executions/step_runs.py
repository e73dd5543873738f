"""The last runs of one step of a workflow, for the editor's step panel.

Only the workflow's latest executions are looked at (RECENT_EXECUTIONS), so that the panel's
query stays small for a step that rarely runs or was just added: it reads the newest rows of
`ix_executions_workflow_id_created`, then their steps by the (execution, position) key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Execution, ExecutionStep

RECENT_EXECUTIONS = 200
SHOWN = 5


@dataclass(frozen=True)
class StepRun:
    """One run of the step: its execution, how it ended, when and how long."""

    execution_id: int
    step_id: int
    status: str
    execution_status: str
    trigger_type: str
    workflow_version: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def last_runs(
    session: Session, owner_id: int, workflow_id: int, key: str, limit: int = SHOWN
) -> list[StepRun]:
    """The step's latest runs, newest first, among the workflow's latest executions (the
    caller has checked that the workflow is the owner's; the owner is checked again)."""
    recent = (
        select(Execution.id)
        .where(Execution.workflow_id == workflow_id, Execution.user_id == owner_id)
        .order_by(Execution.created_at.desc(), Execution.id.desc())
        .limit(RECENT_EXECUTIONS)
        .subquery()
    )
    rows = session.execute(
        select(
            Execution.id,
            ExecutionStep.id.label("step_id"),
            ExecutionStep.status,
            Execution.status.label("execution_status"),
            Execution.trigger_type,
            Execution.workflow_version,
            Execution.created_at,
            ExecutionStep.started_at,
            ExecutionStep.finished_at,
        )
        .join(recent, recent.c.id == Execution.id)
        .join(ExecutionStep, ExecutionStep.execution_id == Execution.id)
        .where(ExecutionStep.action_key == key)
        .order_by(Execution.created_at.desc(), Execution.id.desc())
        .limit(limit)
    ).all()
    return [
        StepRun(
            execution_id=row.id,
            step_id=row.step_id,
            status=row.status,
            execution_status=row.execution_status,
            trigger_type=row.trigger_type,
            workflow_version=row.workflow_version,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )
        for row in rows
    ]
