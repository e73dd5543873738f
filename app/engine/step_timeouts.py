"""Attempts past their step's time limit: recovery records them as timed out, and the step's
retry rules decide what follows (as for a lost worker).

The action's own I/O normally ends by the step's deadline (app.net.deadline.step_limit), and
the worker records the timeout itself. This pass is for an action that does not stop: a step
still `running` past its attempt's start plus its limit (app.engine.time_limits) plus a grace
is recorded failed ("The step took longer than its limit of 30 s.", ended by `time_limit`)
and retried under its rules. The worker still running it (until Dramatiq's time limit
interrupts it, app.broker.StepTimeLimit) finds its claim gone when it ends and records nothing.

Candidates are cheap to find: a running step's execution was last updated when the step was
claimed (its claim marks the execution running; nothing else writes `updated_at` while the
step runs), so only executions `running` and unchanged for longer than the shortest possible
limit are read, through the (status, updated_at) index.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, select

from app.engine import time_limits
from app.engine.attempts import Outcome, attempt_started_at
from app.engine.doorbell import Send, ring
from app.engine.errors import ActionError
from app.engine.ledger import sql
from app.engine.program import Program
from app.engine.runner import Runner, decide
from app.models import ExecutionStatus, StepStatus

log = logging.getLogger(__name__)

E, S = sql.E, sql.S

# No attempt can time out sooner than this after its claim: the shortest limit plus its grace.
SHORTEST = timedelta(seconds=1 + time_limits.MIN_GRACE_SECONDS)

_candidates = (
    select(
        E.c.id,
        E.c.position,
        E.c.frame,
        E.c.snapshot,
        S.c.attempts,
        S.c.attempt_log,
        S.c.started_at,
    )
    .select_from(
        E.join(
            S,
            and_(
                S.c.execution_id == E.c.id,
                S.c.position == E.c.position,
                S.c.frame == E.c.frame,
            ),
        )
    )
    .where(
        E.c.status == ExecutionStatus.RUNNING,
        E.c.updated_at < bindparam("p_before"),
        S.c.status == StepStatus.RUNNING,
    )
    .order_by(E.c.updated_at)
    .limit(bindparam("p_limit"))
)


def timed_out_error(limit: float) -> ActionError:
    """The (retryable) error of an attempt that ran past its step's limit."""
    return ActionError(
        f"The step took longer than its limit of {time_limits.duration_text(limit)}."
    )


def time_out_steps(
    runner: Runner,
    now: datetime,
    default_limit: float,
    send: Send | None = None,
    *,
    limit: int = 100,
) -> int:
    """Record every attempt still running past its step's limit (plus grace) as timed out,
    and ring (`send`, else the runner's) for its retry when its rules allow one; return how
    many were ended."""
    ended = 0
    with runner.engine.connect() as connection:
        rows = connection.execute(_candidates, {"p_before": now - SHORTEST, "p_limit": limit}).all()
    for row in rows:
        started = attempt_started_at(row.attempt_log, row.attempts, row.started_at)
        action = Program(row.snapshot["actions"]).flat[row.position]
        settings = time_limits.workflow_settings(row.snapshot)
        step_limit = time_limits.step_limit(action, settings, default_limit)
        allowed = timedelta(seconds=step_limit + time_limits.grace(step_limit))
        if started + allowed < now and _time_out(
            runner, send or runner.send, row.id, row.position, row.frame, row.attempts, step_limit
        ):
            ended += 1
    return ended


def _time_out(
    runner: Runner,
    send: Send,
    execution_id: int,
    position: int,
    frame: str,
    attempt: int,
    limit: float,
) -> bool:
    """End attempt `attempt` of the step as timed out, if it is still the one running."""
    found = runner.ledger.running(execution_id, position, frame)
    if found is None or found[0].attempt != attempt:
        return False  # it ended meanwhile (or another attempt runs now)
    claim, stored_input = found
    log.info(
        "step %s of execution %s took longer than its limit; ending attempt %s",
        position,
        execution_id,
        attempt,
        extra={"execution_id": execution_id},
    )
    outcome = Outcome(input=stored_input, error=timed_out_error(limit), ended_by="time_limit")
    step, move = decide(claim, outcome, keep_going=False)
    upcoming = runner.ledger.record([step], move)
    if upcoming is not None:
        ring(
            send,
            execution_id,
            upcoming.position,
            upcoming.attempt,
            upcoming.delay,
            upcoming.frame,
        )
    return True
