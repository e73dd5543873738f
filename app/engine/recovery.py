"""Recovery: re-ring the doorbell of executions whose lease expired without progress.

A waiting run (app.engine.waits) holds no message: its lease lasts past its step's deadline,
and a lease that expires anyway only renews it (the scheduler's pass times the wait out).

Delivery is at least once, but a message can still be lost (the embedded broker restarted,
Redis emptied, a worker killed mid-step). Every live execution carries `lease_expires_at`;
a pass finds those past it: a `pending` step is re-sent; a `running` step whose worker died
counts as a failed attempt and retries under its rules. Each pass first renews the lease
conditionally, so two passes at once act once; a duplicate message is a no-op anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.engine.runner import Runner, ring
from app.models import Execution, ExecutionStatus, ExecutionStep, StepStatus
from app.models.base import rowcount, utcnow

log = logging.getLogger(__name__)


def recover(
    session_factory: Callable[[], Session],
    runner: Runner,
    lease: timedelta,
    *,
    now: datetime | None = None,
    limit: int = 500,
) -> int:
    """Re-send the current step of up to `limit` stalled executions; return how many."""
    now = now or utcnow()
    sent = 0
    with session_factory() as session:
        stalled = session.execute(
            select(Execution.id, Execution.position, Execution.frame)
            .where(Execution.lease_expires_at < now, Execution.status.in_(ExecutionStatus.LIVE))
            .order_by(Execution.lease_expires_at)
            .limit(limit)
        ).all()
        for execution_id, position, frame in stalled:
            step = session.execute(
                select(
                    ExecutionStep.status, ExecutionStep.attempts, ExecutionStep.action_key
                ).where(
                    ExecutionStep.execution_id == execution_id,
                    ExecutionStep.position == position,
                    ExecutionStep.frame == frame,
                )
            ).first()
            renewed = rowcount(
                session.execute(
                    update(Execution)
                    .where(Execution.id == execution_id, Execution.lease_expires_at < now)
                    .values(lease_expires_at=now + lease)
                )
            )
            session.commit()
            if renewed != 1 or step is None or step.status not in StepStatus.LIVE:
                continue
            if step.status == StepStatus.WAITING:  # healthy; its deadline is waits.time_out_due's
                continue
            log.info(
                "recovering execution %s at step %s (was %s)",
                execution_id,
                position,
                step.status,
                extra={"execution_id": execution_id, "step_key": step.action_key},
            )
            if step.status == "pending":  # its message was lost
                ring(runner.send, execution_id, position, step.attempts + 1, 0.0, frame)
            else:  # its worker died mid-step
                runner.recover_lost(execution_id, position, frame)
            sent += 1
    return sent
