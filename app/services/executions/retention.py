"""Retention: delete finished executions older than a cutoff, or one of them on request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.models import Execution, ExecutionStatus, ExecutionStep
from app.models.base import utcnow
from app.services.errors import ConflictError

BATCH = 1000


def prune(session: Session, older_than: timedelta) -> int:
    """Delete final executions created before now - `older_than`; return how many."""
    cutoff = utcnow() - older_than
    deleted = 0
    while True:
        ids = session.scalars(
            select(Execution.id)
            .where(
                Execution.created_at < cutoff,
                Execution.status.in_(ExecutionStatus.FINAL),
            )
            .limit(BATCH)
        ).all()
        if not ids:
            return deleted
        _delete(session, ids)
        session.commit()
        deleted += len(ids)


def delete_execution(session: Session, execution: Execution) -> None:
    """Delete one final execution with its steps (re-runs of it stay, unlinked); a live one
    is a ConflictError: cancel it first."""
    if execution.status not in ExecutionStatus.FINAL:
        raise ConflictError(
            f"Execution {execution.id} is still {execution.status}; cancel it before deleting it."
        )
    _delete(session, [execution.id])
    session.commit()


def _delete(session: Session, ids: Sequence[int]) -> None:
    session.execute(
        update(Execution).where(Execution.rerun_of_id.in_(ids)).values(rerun_of_id=None)
    )
    session.execute(delete(ExecutionStep).where(ExecutionStep.execution_id.in_(ids)))
    session.execute(delete(Execution).where(Execution.id.in_(ids)))
