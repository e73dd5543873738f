"""The ledger on PostgreSQL: the hot paths as one statement each.

A claim, and the record of a successful step that ends the run or hands straight on to the
next one, are each a single statement (data-modifying CTEs) sent straight to psycopg in
autocommit mode (app.models.pg_autocommit): one round trip instead of four or five. Each later
part of a statement runs only if the earlier one matched, exactly as the portable ledger's
separate statements do. Everything else (a failure, a retry, a delay, a stop, the end of a
time slice) is rare and takes the portable ledger's transaction.

Here the runner chains pure steps (no effect but their output): they run back to back and are
recorded together with the step that ends the chain, in one statement. A crash before that
statement runs the chain again, which changes nothing outside. For the same reason the claim
of a pure step stores nothing (it reads the step): the record of its chain takes it from
`pending`, under the conditions the claim would have checked.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from sqlalchemy import Engine

from app.engine.attempts import (
    UNCLAIMED,
    Advance,
    Claim,
    Finish,
    Move,
    Next,
    Run,
    StepRecord,
    build_run,
    earlier_attempts,
    open_entry,
)
from app.engine.ledger import flow, sql
from app.engine.ledger.portable import PortableLedger, dropped
from app.models import ExecutionStatus, pg_autocommit
from app.models.base import utcnow

# The statuses of a live execution, spelt out for the PostgreSQL text below.
_LIVE = "({})".format(", ".join(f"'{status}'" for status in ExecutionStatus.LIVE))

# Claim the step at (position, frame) for `attempt` as sql.claim_step and sql.mark_running do,
# unless its action type is one of `pure` (a JSON array): such a step is only read. A pure step
# has no effect but its output, so nothing needs to be stored before it runs: the record of
# its chain (below) takes it from `pending` under the same conditions the claim checks, and a
# duplicate or stale message's record matches nothing. That leaves one write per message for a
# run of pure steps, not two. A step found but not claimed and not pure lost a race: dropped.
claim_pg = pg_autocommit.prepare(
    f"""
    WITH step AS (
        SELECT s.id, s.attempt_log, s.resume_data,
            s.action_type IN (SELECT jsonb_array_elements_text(CAST(%(pure)s AS jsonb))) AS pure
        FROM execution_steps AS s
        WHERE s.execution_id = %(execution_id)s AND s.position = %(position)s
            AND s.frame = %(frame)s AND s.attempts = %(previous_attempts)s
            AND s.status = 'pending'
            AND EXISTS (
                SELECT FROM executions AS e
                WHERE e.id = %(execution_id)s AND e.position = %(position)s
                    AND e.frame = %(frame)s AND e.status IN {_LIVE}
            )
    ), claimed AS (
        UPDATE execution_steps AS s
        SET status = 'running', attempts = %(attempt)s, next_retry_at = NULL,
            started_at = COALESCE(s.started_at, %(now)s),
            attempt_log = COALESCE(s.attempt_log, '[]'::jsonb)
                || jsonb_build_array(CAST(%(attempt_entry)s AS jsonb))
        WHERE s.id = (SELECT step.id FROM step WHERE NOT step.pure)
            AND s.status = 'pending' AND s.attempts = %(previous_attempts)s
        RETURNING s.id, s.attempt_log
    ), marked AS (
        UPDATE executions
        SET status = 'running', updated_at = %(now)s, lease_expires_at = %(lease)s,
            started_at = COALESCE(started_at, %(now)s)
        WHERE id = %(execution_id)s AND EXISTS (SELECT FROM claimed)
        RETURNING id
    )
    SELECT step.id, step.pure, claimed.id IS NOT NULL AS claimed,
        COALESCE(claimed.attempt_log, step.attempt_log) AS attempt_log, step.resume_data,
        e.snapshot, e.trigger_data, e.workflow_id, e.user_id, e.dry_run, e.parent_execution_id
    FROM step LEFT JOIN claimed ON true JOIN executions AS e ON e.id = %(execution_id)s
    """
)
load_outputs_pg = pg_autocommit.prepare(sql.load_outputs)

# Record a chain of successful steps (`steps`, a JSON array of their records): the claimed step
# `step_id` (only while this claim owns it) and the steps after it that ran in the same message
# without a claim of their own (pure steps, still `pending`, only if the claimed step was
# recorded). Then either move the execution on to `position` and claim that step, or complete
# the execution. PostgreSQL text (`%(name)s` parameters): the portable ledger records step by step.
_RECORD_CHAIN = """
    WITH v AS (
        SELECT * FROM jsonb_to_recordset(CAST(%(steps)s AS jsonb)) AS v(
            n integer, position integer, frame text, attempt integer, input jsonb,
            output jsonb, attempt_log jsonb, started_at timestamptz, finished_at timestamptz
        )
    ), recorded AS (
        UPDATE execution_steps AS s
        SET status = 'completed', attempts = v.attempt,
            started_at = COALESCE(s.started_at, v.started_at), input = v.input,
            output = v.output, error = NULL, attempt_log = v.attempt_log,
            finished_at = v.finished_at, next_retry_at = NULL
        FROM v
        WHERE v.n = 0 AND s.execution_id = %(execution_id)s
            AND s.position = %(first_position)s AND s.frame = %(first_frame)s AND CASE
                WHEN %(step_id)s = 0 THEN  -- a pure step the claim only read
                    s.status = 'pending' AND s.attempts = v.attempt - 1 AND EXISTS (
                        SELECT FROM executions AS e
                        WHERE e.id = %(execution_id)s AND e.position = %(first_position)s
                            AND e.frame = %(first_frame)s AND e.status IN {live}
                    )
                ELSE s.id = %(step_id)s AND s.status = 'running' AND s.attempts = v.attempt
            END
        RETURNING s.id, s.position, s.output
    ), chained AS (
        UPDATE execution_steps AS s
        SET status = 'completed', attempts = v.attempt, started_at = v.started_at,
            input = v.input, output = v.output, error = NULL, attempt_log = v.attempt_log,
            finished_at = v.finished_at, next_retry_at = NULL
        FROM v
        WHERE s.execution_id = %(execution_id)s AND s.position = v.position
            AND s.frame = v.frame AND v.n > 0 AND s.status = 'pending'
            AND EXISTS (SELECT FROM recorded)
        RETURNING s.id, s.position, s.output
    )
""".replace("{live}", _LIVE)

record_and_continue_pg = pg_autocommit.prepare(
    _RECORD_CHAIN
    + """
    , advanced AS (
        UPDATE executions
        SET status = 'running', position = %(position)s, frame = %(frame)s,
            updated_at = %(now)s, lease_expires_at = %(lease)s,
            started_at = COALESCE(started_at, %(started_at)s)
        WHERE id = %(execution_id)s AND status IN {live} AND EXISTS (SELECT FROM recorded)
        RETURNING id
    ), claimed_next AS (
        UPDATE execution_steps
        SET status = 'running', attempts = 1, started_at = %(now)s,
            attempt_log = jsonb_build_array(CAST(%(next_entry)s AS jsonb))
        WHERE execution_id = %(execution_id)s AND position = %(position)s
            AND frame = %(frame)s AND EXISTS (SELECT FROM advanced)
        RETURNING id
    )
    SELECT (SELECT count(*) FROM recorded) AS recorded,
        (SELECT count(*) FROM advanced) AS advanced,
        (SELECT id FROM claimed_next) AS next_step_id
    """.replace("{live}", _LIVE)
)

# Record a chain that ends the run: complete the execution and, when somebody may wait for its
# end (`waited`), notify on sql.FINISHED_CHANNEL (PostgreSQL delivers the notification when the
# statement commits). A notification costs about 0.1 ms of CPU in PostgreSQL and the web
# processes' listeners; only a webhook in wait mode is waited for.
_FINISH = (
    _RECORD_CHAIN
    + """
    , finished AS (
        UPDATE executions
        SET status = 'completed', error = NULL, finished_at = %(now)s, updated_at = %(now)s,
            lease_expires_at = NULL, position = %(position)s,
            started_at = COALESCE(started_at, %(started_at)s),
            has_errors = EXISTS (
                SELECT FROM execution_steps
                WHERE execution_id = %(execution_id)s AND status = 'failed'
            )
        WHERE id = %(execution_id)s AND status IN {live} AND EXISTS (SELECT FROM recorded)
        RETURNING id
    )""".replace("{live}", _LIVE)
)
# The notice carries what a waiter answers, the run's last completed output (as the waiter's
# own read, receiver._LAST_OUTPUT, finds it: this statement's steps and the others), after the
# id and a space, when it fits in a notification (sql.NOTICE_OUTPUT_BYTES); else only the id.
record_and_finish_pg = pg_autocommit.prepare(
    _FINISH
    + """
    , last_output AS (
        SELECT o.output::text AS text FROM (
            SELECT position, output FROM recorded
            UNION ALL SELECT position, output FROM chained
            UNION ALL SELECT s.position, s.output FROM execution_steps AS s
            WHERE s.execution_id = %(execution_id)s AND s.status = 'completed'
                AND s.id NOT IN (SELECT id FROM recorded)
                AND s.id NOT IN (SELECT id FROM chained)
        ) AS o
        ORDER BY o.position DESC LIMIT 1
    ), notified AS (
        SELECT pg_notify('{channel}', CASE
            WHEN octet_length(o.text) <= {max} THEN f.id::text || ' ' || o.text
            ELSE f.id::text
        END) FROM finished AS f LEFT JOIN last_output AS o ON true
    )
    SELECT (SELECT count(*) FROM recorded) AS recorded,
        (SELECT count(*) FROM finished) AS finished,
        (SELECT count(*) FROM notified) AS notified
    """.replace("{max}", str(sql.NOTICE_OUTPUT_BYTES)).replace("{channel}", sql.FINISHED_CHANNEL)
)
record_and_finish_quietly_pg = pg_autocommit.prepare(
    _FINISH
    + """
    SELECT (SELECT count(*) FROM recorded) AS recorded,
        (SELECT count(*) FROM finished) AS finished
    """
)


def waited(snapshot: dict[str, Any]) -> bool:
    """Whether a request may wait for the end of a run of `snapshot`: its trigger is a webhook
    answering in wait mode (app.services.webhooks.receiver.wait_for). Other ends (a failure, a
    cancel) always notify; a waiter that hears nothing reads the row at its fallback poll."""
    trigger = snapshot.get("trigger") or {}
    config = trigger.get("config") or {}
    return trigger.get("type") == "webhook" and config.get("response_mode") == "wait"


class PostgresLedger(PortableLedger):
    """Claims and the common records as single autocommit statements; the rest as the
    portable ledger does them. Records chains of pure steps."""

    records_chains = True

    def __init__(
        self, engine: Engine, lease: timedelta, limits: flow.Limits, pure: Sequence[str] = ()
    ) -> None:
        super().__init__(engine, lease, limits)
        self.pure = json.dumps(sorted(pure))  # the action types whose claim only reads

    def claim(
        self, execution_id: int, position: int, attempt: int, run: Run | None, frame: str = ""
    ) -> Claim | None:
        if frame:  # inside a loop: the portable claim loads what the iteration sees
            return super().claim(execution_id, position, attempt, run, frame)
        with pg_autocommit.cursor(self.engine) as cursor:
            row, now = self._claim(cursor, execution_id, position, attempt, self.pure)
            if row is None:
                return None
            if run is None:
                outputs: dict[str, Any] = {}
                if position > 0:  # only steps before `position` can have completed
                    ids = sql.params({"execution_id": execution_id, **flow.frame_values("")})
                    outputs = dict(load_outputs_pg.execute(cursor, ids).fetchall())
                run = build_run(execution_id, row, outputs)
        step_id = row.id if row.claimed else UNCLAIMED
        earlier = earlier_attempts(row.attempt_log, attempt)
        return Claim(run, position, attempt, step_id, now, earlier, resume=row.resume_data)

    def _claim(
        self, cursor: Any, execution_id: int, position: int, attempt: int, pure: str
    ) -> tuple[Any, datetime]:
        """The claim statement's row (None when the message is stale, or lost the step to
        another message) and the time it claimed at. Steps of the types in `pure` (a JSON
        array) are only read."""
        now = utcnow()
        values = {
            "execution_id": execution_id,
            "position": position,
            "frame": "",
            "previous_attempts": attempt - 1,
            "attempt": attempt,
            "now": now,
            "lease": now + self.lease,
            "attempt_entry": json.dumps(open_entry(attempt, now)),
            "pure": pure,
        }
        row = claim_pg.execute(cursor, values).fetchone()
        if row is None or not (row.pure or row.claimed):
            dropped(execution_id, position, attempt)
            return None, now
        return row, now

    def hold(self, step: StepRecord) -> StepRecord | None:
        """`step` with its claim stored, if the claim only read it (a pure step that is not
        recorded as part of a chain: it failed, was skipped, or the run does not go straight
        on); None when the message lost the step meanwhile."""
        claim = step.claim
        if claim.step_id != UNCLAIMED:
            return step
        with pg_autocommit.cursor(self.engine) as cursor:
            row, _ = self._claim(
                cursor, claim.run.execution_id, claim.position, claim.attempt, "[]"
            )
        if row is None:
            return None
        return dataclasses.replace(step, claim=dataclasses.replace(claim, step_id=row.id))

    def record(self, steps: Sequence[StepRecord], move: Move) -> Next | None:
        """Successful steps (the claimed one and the pure steps run after it) that end the run
        or hand straight on to the next step: one statement. Otherwise the chain before the
        last step (if any) is recorded so, claiming that step, which is then recorded as the
        portable ledger records it."""
        if all(step.completed for step in steps) and _in_one_statement(move):
            return self._record_chain(steps, move)
        *chain, last = steps
        if chain:
            step_to = Advance(last.claim.position, 0.0, claim=True, frame=last.claim.frame)
            moved = self._record_chain(chain, step_to)
            if moved is None or moved.claimed_step_id is None:
                return None
            claim = dataclasses.replace(last.claim, step_id=moved.claimed_step_id)
            last = dataclasses.replace(last, claim=claim)
        else:
            held = self.hold(last)
            if held is None:
                return None
            last = held
        return self.record_one(last, move)

    def _record_chain(self, steps: Sequence[StepRecord], move: Finish | Advance) -> Next | None:
        first = steps[0].claim
        now = steps[-1].ended_at
        rows = [
            {
                "n": n,
                "position": step.claim.position,
                "frame": step.claim.frame,
                "attempt": step.claim.attempt,
                "input": step.input,
                "output": step.output,
                "attempt_log": step.attempt_log,
                "started_at": step.claim.started_at.isoformat(),
                "finished_at": step.ended_at.isoformat(),
            }
            for n, step in enumerate(steps)
        ]
        params = {
            "steps": json.dumps(rows),
            "step_id": first.step_id,
            "first_position": first.position,
            "first_frame": first.frame,
            "execution_id": first.run.execution_id,
            "position": move.position,
            "now": now,
            "started_at": first.started_at,
        }
        if isinstance(move, Finish):
            finish = (
                record_and_finish_pg if waited(first.run.snapshot) else record_and_finish_quietly_pg
            )
            row = pg_autocommit.one(self.engine, finish, params)
        else:
            params["lease"] = now + self.lease
            params["frame"] = move.frame
            params["next_entry"] = json.dumps(open_entry(1, now))
            row = pg_autocommit.one(self.engine, record_and_continue_pg, params)
        if row.recorded != 1:
            return None  # recovery took the step over after our lease expired
        if isinstance(move, Finish) or row.advanced != 1:  # finished, or cancelled meanwhile
            return None
        return Next(move.position, 1, 0.0, row.next_step_id, move.frame)


def _in_one_statement(move: Move) -> TypeGuard[Finish | Advance]:
    """Whether the move has a single-statement form: the execution completes (no step left,
    nothing to skip) or this message claims the next step at once."""
    if isinstance(move, Finish):
        return (
            move.status == ExecutionStatus.COMPLETED and move.skip_after is None and move.flow.plain
        )
    return isinstance(move, Advance) and move.claim and move.delay <= 0 and move.flow.plain
