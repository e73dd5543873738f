"""Retention: delete finished executions older than a cutoff."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.models import Execution, ExecutionStatus, ExecutionStep
from app.models.base import utcnow

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
        session.execute(
            update(Execution).where(Execution.rerun_of_id.in_(ids)).values(rerun_of_id=None)
        )
        session.execute(delete(ExecutionStep).where(ExecutionStep.execution_id.in_(ids)))
        session.execute(delete(Execution).where(Execution.id.in_(ids)))
        session.commit()
        deleted += len(ids)
