"""Runs past their time limit fail: the scheduler's pass over `executions.deadline_at`.

A run whose workflow sets `settings.time_limit_seconds` stores its deadline when it is created
(app.engine.time_limits.run_deadline). Past it, whatever the run is doing (running a step,
waiting for a retry, a delay, a call, an approval or a child run), it ends `failed` with the
step it was on: one conditional UPDATE from the live statuses (and the cursor it read), so it
races safely with a worker recording that step; then, in the same transaction, its pending and
waiting steps are skipped and the attempt of a step still running is ended (as a cancel ends
it), and wait-mode webhooks are told. A worker finishing that step later finds its claim gone
and records nothing; a queued message for the run matches nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, update

from app.engine import time_limits
from app.engine.ledger import sql
from app.engine.ledger.portable import end_running_attempt
from app.engine.program import Program
from app.models import ExecutionStatus, StepStatus
from app.models.base import rowcount
from app.models.deadlocks import again_after_deadlock

log = logging.getLogger(__name__)

E, S = sql.E, sql.S

# Live runs past their deadline, the earliest first. Spelt as the partial index's predicate
# (ix_executions_live_deadline: deadline set, status not final) so both databases use it.
_overdue = (
    select(E.c.id)
    .where(
        E.c.deadline_at.is_not(None),
        E.c.status.not_in(ExecutionStatus.FINAL),
        E.c.deadline_at < bindparam("p_now"),
    )
    .order_by(E.c.deadline_at)
    .limit(bindparam("p_limit"))
)

_load = select(
    E.c.status, E.c.position, E.c.frame, E.c.snapshot, E.c.created_at, E.c.deadline_at
).where(E.c.id == bindparam("p_execution_id"))

_current_step = select(S.c.status, S.c.attempts).where(
    S.c.execution_id == bindparam("p_execution_id"),
    S.c.position == bindparam("p_position"),
    S.c.frame == bindparam("p_frame"),
)

# The one statement that decides: only a live run still past its deadline, still at the step
# the error names, fails.
_fail = (
    update(E)
    .where(
        E.c.id == bindparam("p_execution_id"),
        E.c.status.in_(ExecutionStatus.LIVE),
        E.c.deadline_at < bindparam("p_now"),
        E.c.position == bindparam("p_position"),
        E.c.frame == bindparam("p_frame"),
    )
    .values(
        status=ExecutionStatus.FAILED,
        error=bindparam("p_error"),
        finished_at=bindparam("p_now"),
        updated_at=bindparam("p_now"),
        lease_expires_at=None,
    )
)

_has_errors = update(E).where(E.c.id == bindparam("p_execution_id")).values(has_errors=True)

_skip_rest = (
    update(S)
    .where(
        S.c.execution_id == bindparam("p_execution_id"),
        S.c.status.in_((StepStatus.PENDING, StepStatus.WAITING)),
    )
    .values(status=StepStatus.SKIPPED, next_retry_at=None)
)


def fail_overdue(engine: Engine, now: datetime, *, limit: int = 500) -> int:
    """Fail up to `limit` live runs past their time limit; return how many failed."""
    with engine.connect() as connection:
        ids = connection.execute(_overdue, {"p_now": now, "p_limit": limit}).scalars().all()
        connection.rollback()
        return sum(_fail_one(connection, execution_id, now) for execution_id in ids)


def _fail_one(connection: Connection, execution_id: int, now: datetime) -> bool:
    """Fail one run if it is still live and past its deadline (one transaction). When its
    cursor moves while the error is written, the UPDATE matches nothing and the run is read
    again (a run moving on that fast is caught on the next pass, if still live). The pass
    locks the run, then its steps, and a worker's record the other way round: when they meet,
    PostgreSQL ends one as a deadlock, and the pass reads the run again too."""
    for _ in range(3):
        failed = again_after_deadlock(
            lambda: _try_to_fail(connection, execution_id, now),
            connection.rollback,
            f"time limit of execution {execution_id}",
        )
        if failed is not None:
            return failed
    return False


def _try_to_fail(connection: Connection, execution_id: int, now: datetime) -> bool | None:
    """Whether the run failed now (True) or needs not (False); None: its cursor moved."""
    ids = {"execution_id": execution_id}
    run = connection.execute(_load, sql.params(ids)).first()
    if run is None or run.status not in ExecutionStatus.LIVE or not _past(run, now):
        connection.rollback()
        return False
    cursor = {**ids, "position": run.position, "frame": run.frame}
    step = connection.execute(_current_step, sql.params(cursor)).first()
    error = overdue_error(run, step)
    values = {**cursor, "now": now, "error": error}
    if rowcount(connection.execute(_fail, sql.params(values))) != 1:
        connection.rollback()
        return None
    connection.execute(_skip_rest, sql.params(ids))
    end_running_attempt(connection, execution_id, now, "time_limit", error)
    connection.execute(_has_errors, sql.params(ids))  # failed: no step need have
    sql.notify_finished(connection, execution_id)
    connection.commit()
    log.info(
        "execution %s failed: past its time limit",
        execution_id,
        extra={"execution_id": execution_id},
    )
    return True


def _past(run: Any, now: datetime) -> bool:
    return run.deadline_at is not None and run.deadline_at < now


def overdue_error(run: Any, step: Any) -> str:
    """The run's error: its limit, and the step it was on ("while on step “Send” (send)"),
    or waiting to start (a delay before it, its first message not yet due)."""
    limit = time_limits.run_limit(run.snapshot)
    if limit is None and run.deadline_at is not None:
        limit = round((run.deadline_at - run.created_at).total_seconds())
    text = f"The run exceeded its time limit of {time_limits.duration_text(limit or 0)}"
    flat = Program(run.snapshot.get("actions") or []).flat
    if not 0 <= run.position < len(flat):
        return f"{text}."
    action = flat[run.position]
    named = f"step “{action.get('name') or action['key']}” ({action['key']})"
    if step is not None and step.status == StepStatus.PENDING and not step.attempts:
        return f"{text} while waiting to start {named}."
    return f"{text} while on {named}."
