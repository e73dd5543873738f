"""Retention: delete finished executions older than a cutoff, in short batches oldest first,
or one of them on request."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from app.models import Execution, ExecutionStatus, ExecutionStep
from app.models.base import utcnow
from app.models.executions import FINAL_SQL
from app.services.errors import ConflictError

# Executions deleted per transaction: each batch is short, so pruning a million rows never
# holds a lock for long (PostgreSQL: row locks on the old rows only, which ingress never
# waits for; SQLite: its write lock for one batch). The size is bench/retention.py's best:
# a new execution's commit waits for the WAL a batch wrote before it, so at 5,000 the
# ingress's p99 rose from 2 ms to 100-127 ms during a prune; at 500, to 11-16 ms. A million
# took about as long either way (43-48 s at 5,000, 33-48 s at 500).
BATCH = 500


def prune(
    session: Session,
    older_than: timedelta,
    *,
    batch: int | None = None,
    on_batch: Callable[[Sequence[int]], object] | None = None,
) -> int:
    """Delete final executions created before now - `older_than`, oldest first, `batch`
    (default BATCH) per transaction; return how many. `on_batch` hears the ids of each
    committed batch."""
    deleted, _ = prune_batches(session, utcnow() - older_than, batch=batch, on_batch=on_batch)
    return deleted


def prune_batches(
    session: Session,
    cutoff: datetime,
    *,
    batch: int | None = None,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_batch: Callable[[Sequence[int]], object] | None = None,
) -> tuple[int, bool]:
    """Delete final executions created before `cutoff` in batches (each found through the
    partial (created_at, id) index of final executions, oldest first, and committed on its
    own) until none is left or `clock()` passes `deadline`: (how many were deleted, whether
    none is left). `batch` defaults to BATCH."""
    size = batch or BATCH
    deleted = 0
    while deadline is None or clock() < deadline:
        ids = session.scalars(
            select(Execution.id)
            .where(Execution.created_at < cutoff, text(FINAL_SQL))  # the index's predicate
            .order_by(Execution.created_at, Execution.id)
            .limit(size)
        ).all()
        if not ids:
            return deleted, True
        _delete(session, ids)
        session.commit()
        deleted += len(ids)
        if on_batch is not None:
            on_batch(ids)
        if len(ids) < size:
            return deleted, True
    return deleted, False


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
