"""The ledger's portable SQL, built once: Core statements with bind parameters.

Every backend runs these (the PostgreSQL ledger folds the hot ones into single statements,
app.engine.ledger.postgres). Building SQLAlchemy expressions costs more CPU than running them on
the hot path, so each statement here is constructed at import and executed with a parameter
dict. Every UPDATE is
conditional on the state the caller expects; its row count tells whether the caller still
owns the step (a stale or duplicate message matches nothing).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    JSON,
    Connection,
    String,
    Table,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.models import Execution, ExecutionStatus, ExecutionStep


def params(values: dict[str, Any]) -> dict[str, Any]:
    """Bind values for these statements (their parameters are prefixed: SQLAlchemy reserves
    column names for an UPDATE's own SET values)."""
    return {f"p_{key}": value for key, value in values.items()}


E = cast(Table, Execution.__table__)
S = cast(Table, ExecutionStep.__table__)


class json_append(FunctionElement[Any]):
    """`json_append(array, entry)`: the JSON array with `entry` (JSON text) added at its end,
    in one statement on either backend."""

    type = JSON()
    name = "json_append"
    inherit_cache = True


@compiles(json_append, "postgresql")
def _json_append_pg(element: json_append, compiler: SQLCompiler, **kw: Any) -> str:
    array, entry = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"COALESCE({array}, '[]'::jsonb) || jsonb_build_array(CAST({entry} AS jsonb))"


@compiles(json_append, "sqlite")
def _json_append_sqlite(element: json_append, compiler: SQLCompiler, **kw: Any) -> str:
    array, entry = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"json_insert(COALESCE({array}, '[]'), '$[#]', json({entry}))"


# The open line of a claimed attempt (app.engine.attempts.open_entry), as JSON text.
_attempt_entry = bindparam("p_attempt_entry", type_=String())

# Claim a pending step for attempt :attempt if the execution is live and at :position; the
# attempt's open line joins the attempt log (returned with it).
claim_step = (
    update(S)
    .where(
        S.c.execution_id == bindparam("p_execution_id"),
        S.c.position == bindparam("p_position"),
        S.c.frame == bindparam("p_frame"),
        S.c.attempts == bindparam("p_previous_attempts"),
        S.c.status == "pending",
        exists()
        .where(
            E.c.id == bindparam("p_execution_id"),
            E.c.position == bindparam("p_position"),
            E.c.frame == bindparam("p_frame"),
            # spelt out rather than IN (...): app.models.pg_autocommit compiles it once
            or_(*(E.c.status == status for status in ExecutionStatus.LIVE)),
        )
        .correlate(None),
    )
    .values(
        status="running",
        attempts=bindparam("p_attempt"),
        next_retry_at=None,
        started_at=func.coalesce(S.c.started_at, bindparam("p_now")),
        attempt_log=json_append(S.c.attempt_log, _attempt_entry),
    )
    .returning(S.c.id, S.c.attempt_log, S.c.resume_data)
)

# What a message needs to know about its execution.
# `parent_execution_id`: a child run's end resumes its parent (app.engine.children), and the
# runner learns whether a run has one from the row it loads anyway.
RUN_COLUMNS = (
    E.c.snapshot,
    E.c.trigger_data,
    E.c.workflow_id,
    E.c.user_id,
    E.c.dry_run,
    E.c.parent_execution_id,
)

mark_running = (
    update(E)
    .where(E.c.id == bindparam("p_execution_id"))
    .values(
        status="running",
        updated_at=bindparam("p_now"),
        lease_expires_at=bindparam("p_lease"),
        started_at=func.coalesce(E.c.started_at, bindparam("p_now")),
    )
    .returning(*RUN_COLUMNS)
)

load_execution = select(*RUN_COLUMNS).where(E.c.id == bindparam("p_execution_id"))

# The frames whose rows a step sees (app.engine.program.frame_prefixes), spelt out as four
# parameters (a frame has at most three loops around it; repeat the last to fill them).
FRAMES = tuple(f"p_frame{n}" for n in range(4))
_seen_frame = S.c.frame.in_([bindparam(name) for name in FRAMES])

load_outputs = select(S.c.action_key, S.c.output).where(
    S.c.execution_id == bindparam("p_execution_id"), S.c.status == "completed", _seen_frame
)

# The lists of the loops around a step (their rendered `items`).
load_loop_inputs = select(S.c.position, S.c.frame, S.c.input).where(
    S.c.execution_id == bindparam("p_execution_id"),
    S.c.action_type == "loop",
    S.c.status == "completed",
    _seen_frame,
)

# The step runs inside a loop's iterations (frame LIKE '<loop frame>.<position>.%').
load_iterations = select(S.c.position, S.c.frame, S.c.status, S.c.output).where(
    S.c.execution_id == bindparam("p_execution_id"), S.c.frame.like(bindparam("p_prefix"))
)

count_runs = (
    select(func.count()).select_from(S).where(S.c.execution_id == bindparam("p_execution_id"))
)

close_loop = (
    update(S)
    .where(
        S.c.execution_id == bindparam("p_execution_id"),
        S.c.position == bindparam("p_position"),
        S.c.frame == bindparam("p_frame"),
    )
    .values(
        output=bindparam("p_output"),
        status=bindparam("p_status"),
        error=bindparam("p_error"),
    )
)

skip_step = (
    update(S)
    .where(
        S.c.execution_id == bindparam("p_execution_id"),
        S.c.position == bindparam("p_position"),
        S.c.frame == bindparam("p_frame"),
        S.c.status == "pending",
    )
    .values(status="skipped")
)

load_running_step = select(S.c.id, S.c.attempts, S.c.started_at, S.c.attempt_log, S.c.input).where(
    S.c.execution_id == bindparam("p_execution_id"),
    S.c.position == bindparam("p_position"),
    S.c.frame == bindparam("p_frame"),
    S.c.status == "running",
)

load_running_steps = select(S.c.id, S.c.attempts, S.c.attempt_log, S.c.input).where(
    S.c.execution_id == bindparam("p_execution_id"), S.c.status == "running"
)

# Record an attempt's outcome, only if this claim still owns the step.
record_step = (
    update(S)
    .where(
        S.c.id == bindparam("p_step_id"),
        S.c.status == "running",
        S.c.attempts == bindparam("p_attempt"),
    )
    .values(
        status=bindparam("p_status"),
        output=bindparam("p_output"),
        error=bindparam("p_error"),
        input=bindparam("p_input"),
        attempt_log=bindparam("p_attempt_log"),
        finished_at=bindparam("p_finished_at"),
        next_retry_at=bindparam("p_next_retry_at"),
    )
)

advance = (
    update(E)
    .where(E.c.id == bindparam("p_execution_id"), E.c.status == "running")
    .values(
        position=bindparam("p_position"),
        frame=bindparam("p_frame"),
        updated_at=bindparam("p_now"),
        lease_expires_at=bindparam("p_lease"),
    )
)

# A step that waits (app.engine.waits) parks its run: no message, its lease past the deadline.
park = (
    update(E)
    .where(E.c.id == bindparam("p_execution_id"), E.c.status == "running")
    .values(status="waiting", updated_at=bindparam("p_now"), lease_expires_at=bindparam("p_lease"))
)

touch = (
    update(E)
    .where(E.c.id == bindparam("p_execution_id"), E.c.status == "running")
    .values(updated_at=bindparam("p_now"), lease_expires_at=bindparam("p_lease"))
)

claim_next = (
    update(S)
    .where(
        S.c.execution_id == bindparam("p_execution_id"),
        S.c.position == bindparam("p_position"),
        S.c.frame == bindparam("p_frame"),
    )
    .values(
        status="running",
        attempts=1,
        started_at=bindparam("p_now"),
        attempt_log=json_append(S.c.attempt_log, _attempt_entry),
    )
    .returning(S.c.id)
)

wake_next_at = (
    update(S)
    .where(
        S.c.execution_id == bindparam("p_execution_id"),
        S.c.position == bindparam("p_position"),
        S.c.frame == bindparam("p_frame"),
    )
    .values(next_retry_at=bindparam("p_wake_at"))
)

# Every step still pending when a run ends early (later steps, later iterations).
skip_rest = (
    update(S)
    .where(S.c.execution_id == bindparam("p_execution_id"), S.c.status == "pending")
    .values(status="skipped")
)

# A run that ends with a failed step (one that continued on error, or the one that failed it)
# ends with `has_errors` set, in the statement that ends it.
any_step_failed = (
    exists()
    .where(S.c.execution_id == bindparam("p_execution_id"), S.c.status == "failed")
    .correlate(None)
)

# A cancelled run's flag (its running step, if any, ended as failed by the cancel).
note_errors = (
    update(E).where(E.c.id == bindparam("p_execution_id")).values(has_errors=any_step_failed)
)

finish = (
    update(E)
    .where(E.c.id == bindparam("p_execution_id"), E.c.status == "running")
    .values(
        status=bindparam("p_status"),
        has_errors=any_step_failed,
        error=bindparam("p_error"),
        finished_at=bindparam("p_now"),
        updated_at=bindparam("p_now"),
        lease_expires_at=None,
        position=bindparam("p_position"),
    )
)

# Whoever ends a run tells the web processes waiting for it (wait-mode webhooks), in the
# transaction that ends it: PostgreSQL delivers a NOTIFY on commit, and only then. Elsewhere
# nothing is sent (waiters poll).
FINISHED_CHANNEL = "stepline_finished"
# A notice is the execution id, or, from the statement that completes a run (PostgreSQL's
# ledger), the id, a space and the run's last completed output as JSON when that fits: a
# notification's payload is at most 8000 bytes.
NOTICE_OUTPUT_BYTES = 7900
_notify_finished = select(func.pg_notify(FINISHED_CHANNEL, bindparam("p_id", type_=String())))


def notify_finished(connection: Connection, execution_id: int) -> None:
    """Announce the end of `execution_id` on FINISHED_CHANNEL (PostgreSQL only), delivered
    when the caller's transaction commits."""
    if connection.dialect.name == "postgresql":
        connection.execute(_notify_finished, {"p_id": str(execution_id)})
