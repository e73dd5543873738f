"""Steps that wait: the resume URL, resuming a waiting step, and timing waits out.

An action suspends its run by raising `app.engine.errors.Wait`: the runner records the step
`waiting` (its deadline in `next_retry_at`) and the execution `waiting`, with no message in
flight and no worker held (`ledger.portable`, `Park`). Whatever resumes it — a call to its
resume URL, a decision on the approval page, a child run's end, the owner, or its deadline
(`time_out_due`, the scheduler's pass) — does it here, with one conditional UPDATE of the step
from `waiting` to `pending` (storing what resumed it in `resume_data`) and of the execution
from `waiting` to `running`, then a doorbell. The step runs again, as its next attempt, and its
action reads `StepContext.resume`. A second resume matches nothing: a resume URL is single use.

The resume URL and its token: app.engine.resume_urls.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, bindparam, select, update

from app.engine.doorbell import Send, ring
from app.engine.ledger import sql
from app.engine.program import frame_iterations
from app.engine.resume_urls import WaitRef, resume_url
from app.models.base import rowcount, utcnow
from app.settings import Settings

if TYPE_CHECKING:
    from app.engine.attempts import Run

log = logging.getLogger(__name__)

TIMEOUTS_PER_PASS = 500


def offer_urls(settings: Settings, run: Run, frame: str) -> None:
    """Let templates read `steps.<key>.resume_url` of the waiting steps not run yet in this
    iteration (a step before it sends the URL, by email or Slack): each one of the program's
    resumable steps whose loops are the innermost ones of `frame` (or none) gets a stand-in
    output holding its URL until its own output replaces it."""
    iterations = frame_iterations(frame)
    program = run.program
    for position, loops in program.resumable_within([loop for loop, _ in iterations]):
        key = program.nodes[position].key
        if key in run.outputs:
            continue
        prefix = ".".join(f"{loop}.{index}" for loop, index in iterations[: len(loops)])
        url = resume_url(settings, WaitRef(run.execution_id, position, prefix))
        run.outputs[key] = {"resume_url": url}


def suspended(attempt_log: list[dict[str, Any]]) -> int:
    """How many attempt lines were waits (not counted against the step's retries)."""
    return sum(1 for entry in attempt_log if entry.get("ended_by") == "wait")


# -- resume -----------------------------------------------------------------------------------

_resume_step = (
    update(sql.S)
    .where(
        sql.S.c.execution_id == bindparam("p_execution_id"),
        sql.S.c.position == bindparam("p_position"),
        sql.S.c.frame == bindparam("p_frame"),
        sql.S.c.status == "waiting",
    )
    .values(status="pending", resume_data=bindparam("p_data"), next_retry_at=None)
    .returning(sql.S.c.attempts)
)

_wake_run = (
    update(sql.E)
    .where(sql.E.c.id == bindparam("p_execution_id"), sql.E.c.status == "waiting")
    .values(status="running", updated_at=bindparam("p_now"), lease_expires_at=bindparam("p_lease"))
)

_due = (
    select(sql.S.c.execution_id, sql.S.c.position, sql.S.c.frame)
    .where(sql.S.c.status == "waiting", sql.S.c.next_retry_at <= bindparam("p_now"))
    .order_by(sql.S.c.next_retry_at)
    .limit(bindparam("p_limit"))
)


def resume(
    engine: Engine,
    send: Send,
    ref: WaitRef,
    data: Mapping[str, Any],
    *,
    lease: timedelta,
    now: datetime | None = None,
) -> bool:
    """Resume the waiting step `ref` with `data` (its `resume_data`) and ring its doorbell;
    False when it is not waiting (resumed already, timed out, cancelled, or never waited)."""
    now = now or utcnow()
    ids = {"execution_id": ref.execution_id, "position": ref.position, "frame": ref.frame}
    with engine.connect() as connection:
        step = connection.execute(_resume_step, sql.params({**ids, "data": dict(data)})).first()
        if step is None:
            connection.rollback()
            return False
        woken = connection.execute(
            _wake_run,
            sql.params({"execution_id": ref.execution_id, "now": now, "lease": now + lease}),
        )
        if rowcount(woken) != 1:  # the run ended meanwhile (a time limit, a cancel)
            connection.rollback()
            return False
        connection.commit()
    # If this doorbell is lost, recovery re-rings the pending step when the lease expires.
    ring(send, ref.execution_id, ref.position, step.attempts + 1, 0.0, ref.frame)
    return True


def timeout_data(now: datetime) -> dict[str, Any]:
    """What a step that waited past its deadline is resumed with."""
    return {"kind": "timeout", "timed_out": True, "at": now.isoformat()}


def time_out_due(
    engine: Engine,
    send: Send,
    *,
    lease: timedelta,
    now: datetime | None = None,
    limit: int = TIMEOUTS_PER_PASS,
) -> int:
    """Resume every waiting step past its deadline (up to `limit`) with `timeout_data`; each
    one's action then fails or goes on with its default. Returns how many were resumed."""
    now = now or utcnow()
    with engine.connect() as connection:
        due = connection.execute(_due, sql.params({"now": now, "limit": limit})).all()
    resumed = 0
    for execution_id, position, frame in due:
        ref = WaitRef(execution_id, position, frame)
        if resume(engine, send, ref, timeout_data(now), lease=lease, now=now):
            log.info(
                "wait of step %s timed out",
                position,
                extra={"execution_id": execution_id, "position": position},
            )
            resumed += 1
    return resumed
