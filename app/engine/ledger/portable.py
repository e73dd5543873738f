"""The ledger on any database: each claim and each record is a short transaction of a few
Core statements (app.engine.ledger.sql) on one connection, committed before returning.

Every UPDATE is conditional on the state this message expects; when one matches nothing (a
stale or duplicate message, or recovery took the step over after the lease expired) the
transaction rolls back or stops there and the message ends.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from app.engine.attempts import (
    Claim,
    Finish,
    Move,
    Next,
    Park,
    Retry,
    Run,
    StepRecord,
    attempt_started_at,
    build_run,
    earlier_attempts,
    ended_entry,
    open_entry,
)
from app.engine.ledger import flow, sql
from app.models import ExecutionStatus, StepStatus
from app.models.base import rowcount, utcnow

log = logging.getLogger(__name__)


class PortableLedger:
    """Claims and records through SQLAlchemy Core connections (SQLite, and PostgreSQL off the
    hot path). It records one step at a time, so the runner forms no chains on it."""

    records_chains = False

    def __init__(self, engine: Engine, lease: timedelta, limits: flow.Limits) -> None:
        self.engine = engine
        self.lease = lease
        self.limits = limits  # a loop's final output, the step runs of an execution

    # -- claim ----------------------------------------------------------------------------

    def claim(
        self, execution_id: int, position: int, attempt: int, run: Run | None, frame: str = ""
    ) -> Claim | None:
        """Take the step at (`position`, `frame`) for `attempt` and mark the execution running;
        None when the message no longer matches the stored state. Loads the run when `run` is
        None."""
        now = utcnow()
        values = {
            "execution_id": execution_id,
            "position": position,
            "frame": frame,
            "previous_attempts": attempt - 1,
            "attempt": attempt,
            "now": now,
            "attempt_entry": json.dumps(open_entry(attempt, now)),
        }
        with self.engine.connect() as connection:
            claimed = connection.execute(sql.claim_step, sql.params(values)).first()
            if claimed is None:
                connection.rollback()
                dropped(execution_id, position, attempt)
                return None
            row = connection.execute(
                sql.mark_running,
                sql.params({"execution_id": execution_id, "now": now, "lease": now + self.lease}),
            ).one()
            if run is None:
                run = self.load_run(connection, execution_id, row, position, frame)
            connection.commit()
        earlier = earlier_attempts(claimed.attempt_log, attempt)
        return Claim(run, position, attempt, claimed.id, now, earlier, frame, claimed.resume_data)

    def load_run(
        self, connection: Connection, execution_id: int, row: Any, position: int, frame: str
    ) -> Run:
        """The run as a message at (`position`, `frame`) sees it: the outputs of the completed
        steps of its frame and the frames around it, the lists of the loops around it."""
        outputs = {}
        if position > 0 or frame:  # only steps before it can have completed
            values = sql.params({"execution_id": execution_id, **flow.frame_values(frame)})
            outputs = {key: out for key, out in connection.execute(sql.load_outputs, values)}
        run = build_run(execution_id, row, outputs)
        run.frame = frame  # the outputs loaded are this frame's
        flow.load_loops(connection, run, frame)
        run.enter(frame)
        return run

    def running(
        self, execution_id: int, position: int, frame: str = ""
    ) -> tuple[Claim, Any] | None:
        """The claim of the step left `running` at (`position`, `frame`) (its worker stopped),
        and the input it stored; None when the step is not running any more."""
        ids = {"execution_id": execution_id, "position": position, "frame": frame}
        with self.engine.connect() as connection:
            step = connection.execute(sql.load_running_step, sql.params(ids)).first()
            if step is None:
                return None
            row = connection.execute(
                sql.load_execution, sql.params({"execution_id": execution_id})
            ).one()
            run = self.load_run(connection, execution_id, row, position, frame)
        claim = Claim(
            run,
            position,
            step.attempts,
            step.id,
            attempt_started_at(step.attempt_log, step.attempts, step.started_at),
            earlier_attempts(step.attempt_log, step.attempts),
            frame,
        )
        return claim, step.input

    def hold(self, step: StepRecord) -> StepRecord | None:
        """Every claim here is stored: `step` as it is."""
        return step

    # -- record ---------------------------------------------------------------------------

    def record(self, steps: Sequence[StepRecord], move: Move) -> Next | None:
        """Store the attempt and move the execution on, in one transaction. Returns the step
        the message goes on with (claimed already when `Next.claimed_step_id` is set), or None
        when it ends: the execution finished, was cancelled, or the claim was lost."""
        if len(steps) != 1:
            raise ValueError("this ledger records one step at a time (records_chains is False)")
        return self.record_one(steps[0], move)

    def record_one(self, step: StepRecord, move: Move) -> Next | None:
        """`record` for a step this message holds a claim on (`step.claim.step_id`)."""
        claim = step.claim
        execution_id = claim.run.execution_id
        now = step.ended_at
        execution = {"execution_id": execution_id, "now": now}
        with self.engine.connect() as connection:
            if rowcount(connection.execute(sql.record_step, sql.params(_values(step)))) != 1:
                connection.rollback()  # recovery took the step over after our lease expired
                return None
            closed: dict[int, Any] = {}
            if not isinstance(move, Retry | Park) and not move.flow.plain:
                closed, failure = flow.apply(connection, claim, move.flow, self.limits)
                if failure is not None:
                    move = Finish(ExecutionStatus.FAILED, failure, claim.position, claim.position)
            upcoming = _move(connection, execution, move, self.lease)
            connection.commit()
        if isinstance(move, Retry):
            return Next(claim.position, claim.attempt + 1, move.delay, frame=claim.frame)
        if isinstance(move, Park):
            return None
        if upcoming is not None and closed:
            upcoming = dataclasses.replace(upcoming, closed=closed)
        return upcoming


def _move(
    connection: Connection, execution: dict[str, Any], move: Move, lease: timedelta
) -> Next | None:
    now = execution["now"]
    if isinstance(move, Park):
        lease_at = move.until + lease
        connection.execute(sql.park, sql.params({**execution, "lease": lease_at}))
        return None
    if isinstance(move, Retry):
        wake = now + timedelta(seconds=move.delay)
        connection.execute(sql.touch, sql.params({**execution, "lease": wake + lease}))
        return None
    if isinstance(move, Finish):
        if move.skip_after is not None:
            ids = {"execution_id": execution["execution_id"]}
            connection.execute(sql.skip_rest, sql.params(ids))
        values = {**execution, "status": move.status, "error": move.error}
        ended = connection.execute(sql.finish, sql.params({**values, "position": move.position}))
        if rowcount(ended) == 1:
            sql.notify_finished(connection, execution["execution_id"])
        return None
    wake = now + timedelta(seconds=move.delay)
    cursor = {"position": move.position, "frame": move.frame}
    moved = connection.execute(
        sql.advance, sql.params({**execution, **cursor, "lease": wake + lease})
    )
    if rowcount(moved) != 1:  # cancelled while the step ran: keep its result, stop
        return None
    next_step = {"execution_id": execution["execution_id"], **cursor}
    step_id = None
    if move.claim:
        entry = json.dumps(open_entry(1, now))
        step_id = connection.execute(
            sql.claim_next, sql.params({**next_step, "now": now, "attempt_entry": entry})
        ).scalar_one()
    elif move.delay > 0:
        connection.execute(sql.wake_next_at, sql.params({**next_step, "wake_at": wake}))
    return Next(move.position, 1, move.delay, step_id, move.frame)


CANCELLED_MID_STEP = "Cancelled by a user while this step ran; its action may have finished."


def end_running_attempt(
    connection: Connection,
    execution_id: int,
    now: datetime,
    ended_by: str = "cancel",
    error: str = CANCELLED_MID_STEP,
) -> None:
    """On cancel (or a run's time limit: `ended_by` "time_limit"): the attempt of the step
    running now ends here with `error`, so the step's log holds every attempt counted, and the
    run's `has_errors` is set as a finish sets it. Part of the caller's transaction. A worker
    finishing the step later finds its claim gone and records nothing (as after recovery)."""
    ids = {"execution_id": execution_id}
    for step in connection.execute(sql.load_running_steps, sql.params(ids)).all():
        started = attempt_started_at(step.attempt_log, step.attempts, now)
        entry = ended_entry(step.attempts, started, now, ended_by, error)
        values = {
            "step_id": step.id,
            "attempt": step.attempts,
            "status": StepStatus.FAILED,
            "input": step.input,
            "output": None,
            "error": error,
            "attempt_log": [*earlier_attempts(step.attempt_log, step.attempts), entry],
            "finished_at": now,
            "next_retry_at": None,
        }
        connection.execute(sql.record_step, sql.params(values))
    connection.execute(sql.note_errors, sql.params(ids))


def _values(step: StepRecord) -> dict[str, Any]:
    return {
        "step_id": step.claim.step_id,
        "attempt": step.claim.attempt,
        "status": step.status,
        "input": step.input,
        "output": step.output,
        "error": step.error,
        "attempt_log": step.attempt_log,
        "finished_at": step.finished_at,
        "next_retry_at": step.next_retry_at,
    }


def dropped(execution_id: int, position: int, attempt: int) -> None:
    """Log a message that no longer matches the stored state (harmless: it does nothing)."""
    log.debug(
        "dropped stale message %s/%s/%s",
        execution_id,
        position,
        attempt,
        extra={"execution_id": execution_id, "position": position},
    )
