"""Failure notifications with a storm limit: at most one per workflow and channel every
`notify_every_minutes`, the next one counting the failures since.

A failed run adds to its channels' `pending` (`add`, in the transaction that stamps it handled).
`deliver_due` sends the notices whose `due_at` has passed: each is claimed first by a
conditional UPDATE (so two schedulers send it once), sent outside any transaction, then
recorded: sent (`pending` minus what it told of, `due_at` one interval on) or failed (logged,
tried again after a back-off, given up after MAX_ATTEMPTS). A send never raises out of here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, case, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models import Execution, FailureNotice, Workflow
from app.models.base import rowcount
from app.services.executions import failure_channels, failure_details, failure_messages
from app.services.executions.failure_channels import EMAIL, SLACK, NoticeNotSentError, Senders
from app.services.workflows.failure_spec import OnFailure

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # sends of one notice before it is given up (logged)
BACKOFF = timedelta(minutes=1)  # after the first failed send; doubled after each
BATCH = 20  # notices per delivery pass
CLAIM_MARGIN = timedelta(seconds=30)  # a claim outlives the outbound timeout by this much


def on_failure_of(settings: dict[str, Any] | None) -> OnFailure | None:
    """A workflow's stored `settings.on_failure`, or None (none, or no longer valid)."""
    raw = (settings or {}).get("on_failure")
    if not raw:
        return None
    try:
        return OnFailure.model_validate(raw)
    except ValidationError:
        log.warning("on_failure settings no longer valid; ignored")
        return None


def channels_of(on_failure: OnFailure) -> list[str]:
    return [name for name, on in ((EMAIL, on_failure.email), (SLACK, on_failure.slack)) if on]


def add(session: Session, workflow_id: int, execution_id: int, channel: str, now: datetime) -> None:
    """One more failure to tell of on `channel` (not committed: the caller's transaction)."""
    table = FailureNotice.__table__
    assert isinstance(table, Table)
    postgresql = session.get_bind().dialect.name == "postgresql"
    statement = (pg_insert if postgresql else sqlite_insert)(table).values(
        workflow_id=workflow_id,
        channel=channel,
        pending=1,
        latest_execution_id=execution_id,
        first_pending_at=now,
        attempts=0,
    )
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.workflow_id, table.c.channel],
        set_={
            "pending": table.c.pending + 1,
            "latest_execution_id": case(
                (
                    or_(
                        table.c.latest_execution_id.is_(None),
                        new.latest_execution_id > table.c.latest_execution_id,
                    ),
                    new.latest_execution_id,
                ),
                else_=table.c.latest_execution_id,
            ),
            "first_pending_at": case(
                (table.c.pending == 0, new.first_pending_at), else_=table.c.first_pending_at
            ),
        },
    )
    session.execute(statement)


def _due_clause(now: datetime) -> Any:
    return (FailureNotice.pending > 0) & or_(
        FailureNotice.due_at.is_(None), FailureNotice.due_at <= now
    )


def any_due(session: Session, now: datetime) -> bool:
    """Whether some notice may go out now (a light query for every scheduler pass)."""
    return bool(session.scalar(select(exists().where(_due_clause(now)))))


@dataclass(frozen=True)
class _Claimed:
    workflow_id: int
    channel: str
    user_id: int
    on_failure: OnFailure
    message: failure_messages.Message
    count: int
    attempts: int


def _claim(session: Session, notice: FailureNotice, hold: timedelta, now: datetime) -> bool:
    """Hold the notice for this sender (`due_at` pushed past the send), if it is still due."""
    claimed = rowcount(
        session.execute(
            update(FailureNotice)
            .where(
                FailureNotice.workflow_id == notice.workflow_id,
                FailureNotice.channel == notice.channel,
                _due_clause(now),
            )
            .values(due_at=now + hold)
        )
    )
    session.commit()
    return claimed == 1


def _prepare(
    session: Session, notice: FailureNotice, workflow: Workflow, senders: Senders, now: datetime
) -> _Claimed | None:
    on_failure = on_failure_of(workflow.settings)
    if on_failure is None or notice.channel not in channels_of(on_failure):
        # The channel was turned off since: nothing to tell on it any more.
        session.execute(
            update(FailureNotice)
            .where(
                FailureNotice.workflow_id == notice.workflow_id,
                FailureNotice.channel == notice.channel,
            )
            .values(pending=0, attempts=0, due_at=None)
        )
        session.commit()
        return None
    hold = timedelta(seconds=senders.settings.outbound_timeout_seconds) * 2 + CLAIM_MARGIN
    count = notice.pending
    if not _claim(session, notice, hold, now):
        return None
    execution = (
        session.get(Execution, notice.latest_execution_id) if notice.latest_execution_id else None
    )
    failure = (
        failure_details.failure_of(session, execution, senders.settings) if execution else None
    )
    message = failure_messages.compose(
        senders.settings,
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        failure=failure,
        count=count,
        last_sent_at=notice.last_sent_at,
        first_pending_at=notice.first_pending_at,
        every_minutes=on_failure.notify_every_minutes,
    )
    return _Claimed(
        workflow.id, notice.channel, workflow.user_id, on_failure, message, count, notice.attempts
    )


def _send(claimed: _Claimed, senders: Senders, key: str) -> None:
    on_failure = claimed.on_failure
    if claimed.channel == EMAIL and on_failure.email is not None:
        failure_channels.send_email(
            senders, claimed.user_id, on_failure.email, claimed.message, key
        )
    elif claimed.channel == SLACK and on_failure.slack is not None:
        failure_channels.send_slack(senders, claimed.user_id, on_failure.slack, claimed.message)


def _record(session: Session, claimed: _Claimed, error: str | None, now: datetime) -> None:
    where = (FailureNotice.workflow_id == claimed.workflow_id) & (
        FailureNotice.channel == claimed.channel
    )
    every = timedelta(minutes=claimed.on_failure.notify_every_minutes)
    if error is None:
        values: dict[str, Any] = {
            "pending": FailureNotice.pending - claimed.count,
            "last_sent_at": now,
            "due_at": now + every,
            "attempts": 0,
            "last_error": None,
        }
    elif claimed.attempts + 1 >= MAX_ATTEMPTS:
        log.error(
            "failure notice of workflow %s by %s given up after %d attempts: %s",
            claimed.workflow_id,
            claimed.channel,
            MAX_ATTEMPTS,
            error,
        )
        values = {
            "pending": FailureNotice.pending - claimed.count,
            "due_at": now + every,
            "attempts": 0,
            "last_error": error,
        }
    else:
        values = {
            "due_at": now + BACKOFF * (2**claimed.attempts),
            "attempts": claimed.attempts + 1,
            "last_error": error,
        }
    session.execute(update(FailureNotice).where(where).values(**values))
    session.commit()


def deliver_due(
    session_factory: Callable[[], Session],
    senders: Senders,
    now: datetime,
    limit: int = BATCH,
) -> int:
    """Send the notices that are due (up to `limit`), each claimed just before it is sent;
    the number sent. A failed send is logged and tried again on a later pass."""
    with session_factory() as session:
        due = session.execute(
            select(FailureNotice.workflow_id, FailureNotice.channel)
            .where(_due_clause(now))
            .order_by(FailureNotice.due_at)
            .limit(limit)
        ).all()
    sent = 0
    for workflow_id, channel in due:
        with session_factory() as session:
            found = session.execute(
                select(FailureNotice, Workflow)
                .join(Workflow, Workflow.id == FailureNotice.workflow_id)
                .where(FailureNotice.workflow_id == workflow_id, FailureNotice.channel == channel)
            ).first()
            claimed = _prepare(session, *found, senders, now) if found else None
        if claimed is not None:
            sent += _deliver(session_factory, senders, claimed, now)
    return sent


def _deliver(
    session_factory: Callable[[], Session], senders: Senders, claimed: _Claimed, now: datetime
) -> int:
    """Send one claimed notice and record how it went; 1 when it was sent."""
    error = None
    key = f"{claimed.workflow_id}:{claimed.channel}:{now.isoformat()}"
    try:
        _send(claimed, senders, key)
    except NoticeNotSentError as exc:
        error = str(exc)
    except Exception as exc:  # the notice's boundary: logged, tried again later
        log.exception("failure notice of workflow %s failed", claimed.workflow_id)
        error = f"{type(exc).__name__}: could not send the notice."
    if error is not None:
        log.warning(
            "failure notice of workflow %s by %s not sent: %s",
            claimed.workflow_id,
            claimed.channel,
            error,
        )
    with session_factory() as session:
        _record(session, claimed, error, now)
    return 0 if error else 1


class Courier:
    """Sends the due notices on a thread of its own, one delivery pass at a time, so that a
    slow mail server never holds up the scheduler's other jobs (recovery, schedules)."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        senders: Senders,
        clock: Callable[[], datetime],
    ) -> None:
        self.session_factory = session_factory
        self.senders = senders
        self.clock = clock
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def kick(self) -> bool:
        """Start a delivery pass unless one is under way; whether one started."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(
                target=self._deliver, name="stepline-failure-notices", daemon=True
            )
            self._thread.start()
            return True

    def _deliver(self) -> None:
        try:
            deliver_due(self.session_factory, self.senders, self.clock())
        except Exception:  # the thread's boundary: the next kick tries again
            log.exception("failure notices: delivery pass failed")

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
