"""The runner's SQL, built once: Core statements with bind parameters.

Building SQLAlchemy expressions costs more CPU than running them on the hot path, so each
statement here is constructed at import and executed with a parameter dict. Every UPDATE is
conditional on the state the caller expects; its row count tells whether the caller still
owns the step (a stale or duplicate message matches nothing).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, func, or_, select, true, update

from app.models import Execution, ExecutionStatus, ExecutionStep, direct


def params(values: dict[str, Any]) -> dict[str, Any]:
    """Bind values for these statements (their parameters are prefixed: SQLAlchemy reserves
    column names for an UPDATE's own SET values)."""
    return {f"p_{key}": value for key, value in values.items()}


E = cast(Table, Execution.__table__)
S = cast(Table, ExecutionStep.__table__)

# Claim a pending step for attempt :attempt if the execution is live and at :position.
claim_step = (
    update(S)
    .where(
        S.c.execution_id == bindparam("p_execution_id"),
        S.c.position == bindparam("p_position"),
        S.c.attempts == bindparam("p_previous_attempts"),
        S.c.status == "pending",
        exists()
        .where(
            E.c.id == bindparam("p_execution_id"),
            E.c.position == bindparam("p_position"),
            # spelt out rather than IN (...): app.models.direct compiles this statement once
            or_(*(E.c.status == status for status in ExecutionStatus.LIVE)),
        )
        .correlate(None),
    )
    .values(
        status="running",
        attempts=bindparam("p_attempt"),
        next_retry_at=None,
        started_at=func.coalesce(S.c.started_at, bindparam("p_now")),
    )
    .returning(S.c.id, S.c.attempt_log)
)

# What a message needs to know about its execution.
RUN_COLUMNS = (E.c.snapshot, E.c.trigger_data, E.c.workflow_id, E.c.user_id)

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

load_outputs = select(S.c.action_key, S.c.output).where(
    S.c.execution_id == bindparam("p_execution_id"), S.c.status == "completed"
)

load_running_step = select(S.c.id, S.c.attempts, S.c.started_at, S.c.attempt_log, S.c.input).where(
    S.c.execution_id == bindparam("p_execution_id"),
    S.c.position == bindparam("p_position"),
    S.c.status == "running",
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
        updated_at=bindparam("p_now"),
        lease_expires_at=bindparam("p_lease"),
    )
)

touch = (
    update(E)
    .where(E.c.id == bindparam("p_execution_id"), E.c.status == "running")
    .values(updated_at=bindparam("p_now"), lease_expires_at=bindparam("p_lease"))
)

claim_next = (
    update(S)
    .where(S.c.execution_id == bindparam("p_execution_id"), S.c.position == bindparam("p_position"))
    .values(status="running", attempts=1, started_at=bindparam("p_now"))
    .returning(S.c.id)
)

wake_next_at = (
    update(S)
    .where(S.c.execution_id == bindparam("p_execution_id"), S.c.position == bindparam("p_position"))
    .values(next_retry_at=bindparam("p_wake_at"))
)

skip_rest = (
    update(S)
    .where(
        S.c.execution_id == bindparam("p_execution_id"),
        S.c.position > bindparam("p_position"),
        S.c.status == "pending",
    )
    .values(status="skipped")
)

finish = (
    update(E)
    .where(E.c.id == bindparam("p_execution_id"), E.c.status == "running")
    .values(
        status=bindparam("p_status"),
        error=bindparam("p_error"),
        finished_at=bindparam("p_now"),
        updated_at=bindparam("p_now"),
        lease_expires_at=None,
        position=bindparam("p_position"),
    )
)


# PostgreSQL: the hot paths as one statement each (data-modifying CTEs), sent straight to the
# driver in autocommit mode (app.models.direct), so that a claim or the record of a step costs
# one round trip instead of four or five. Each later part runs only if the earlier one matched,
# exactly as the separate statements above do.

# claim_step + mark_running (their `p_` parameters).
_claimed = claim_step.cte("claimed")
_marked = mark_running.where(exists(select(_claimed.c.id))).cte("marked")
claim_pg = direct.prepare(
    select(
        _claimed.c.id,
        _claimed.c.attempt_log,
        *[_marked.c[column.name] for column in RUN_COLUMNS],
    ).select_from(_claimed.join(_marked, true()))
)
load_outputs_pg = direct.prepare(load_outputs)

# Record a chain of successful steps (`steps`, a JSON array of their records): the claimed step
# `step_id` (only while this claim owns it) and the steps after it that ran in the same message
# without a claim of their own (pure steps, still `pending`, only if the claimed step was
# recorded). Then either move the execution on to `position` and claim that step, or complete
# the execution. PostgreSQL text (`%(name)s` parameters): the SQLite path records step by step.
_RECORD_CHAIN = """
    WITH v AS (
        SELECT * FROM jsonb_to_recordset(CAST(%(steps)s AS jsonb)) AS v(
            position integer, attempt integer, input jsonb, output jsonb, attempt_log jsonb,
            started_at timestamptz, finished_at timestamptz
        )
    ), recorded AS (
        UPDATE execution_steps AS s
        SET status = 'completed', input = v.input, output = v.output, error = NULL,
            attempt_log = v.attempt_log, finished_at = v.finished_at, next_retry_at = NULL
        FROM v
        WHERE s.id = %(step_id)s AND s.status = 'running' AND s.attempts = %(attempt)s
            AND v.position = %(claimed_position)s
        RETURNING s.id
    ), chained AS (
        UPDATE execution_steps AS s
        SET status = 'completed', attempts = v.attempt, started_at = v.started_at,
            input = v.input, output = v.output, error = NULL, attempt_log = v.attempt_log,
            finished_at = v.finished_at, next_retry_at = NULL
        FROM v
        WHERE s.execution_id = %(execution_id)s AND s.position = v.position
            AND v.position > %(claimed_position)s AND s.status = 'pending'
            AND EXISTS (SELECT FROM recorded)
        RETURNING s.id
    )
"""

record_and_continue_pg = direct.prepare(
    _RECORD_CHAIN
    + """
    , advanced AS (
        UPDATE executions
        SET position = %(position)s, updated_at = %(now)s, lease_expires_at = %(lease)s
        WHERE id = %(execution_id)s AND status = 'running' AND EXISTS (SELECT FROM recorded)
        RETURNING id
    ), claimed_next AS (
        UPDATE execution_steps
        SET status = 'running', attempts = 1, started_at = %(now)s
        WHERE execution_id = %(execution_id)s AND position = %(position)s
            AND EXISTS (SELECT FROM advanced)
        RETURNING id
    )
    SELECT (SELECT count(*) FROM recorded) AS recorded,
        (SELECT count(*) FROM advanced) AS advanced,
        (SELECT id FROM claimed_next) AS next_step_id
    """
)

record_and_finish_pg = direct.prepare(
    _RECORD_CHAIN
    + """
    , finished AS (
        UPDATE executions
        SET status = 'completed', error = NULL, finished_at = %(now)s, updated_at = %(now)s,
            lease_expires_at = NULL, position = %(position)s
        WHERE id = %(execution_id)s AND status = 'running' AND EXISTS (SELECT FROM recorded)
        RETURNING id
    )
    SELECT (SELECT count(*) FROM recorded) AS recorded,
        (SELECT count(*) FROM finished) AS finished
    """
)
