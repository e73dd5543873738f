"""Dashboard figures: executions by status over the last 24 hours and 7 days, and per hour.

Each figure counts only the rows inside its created_at window, read through the
(user_id | workflow_id, created_at) indexes: never a COUNT(*) over the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.models import Execution, ExecutionStatus, Workflow
from app.models.base import utcnow

HOURS = 24
STATUSES = tuple(status.value for status in ExecutionStatus)


@dataclass(frozen=True)
class Counts:
    """Executions by status in one window; every status is present (0 when none)."""

    by_status: dict[str, int]
    since: datetime

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class HourBucket:
    """Executions created in one hour [start, start + 1 h), by status."""

    start: datetime
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class Activity:
    """The hourly series of the last 24 hours (oldest first), and counts for 24 h and 7 days."""

    hours: list[HourBucket]
    day: Counts
    week: Counts

    @property
    def peak(self) -> int:
        return max((bucket.total for bucket in self.hours), default=0)


def _empty() -> dict[str, int]:
    return dict.fromkeys(STATUSES, 0)


def _scope(owner_id: int, workflow_id: int | None) -> list[ColumnElement[bool]]:
    """The owner's (or one workflow's) real runs: dry runs are never counted."""
    real = Execution.dry_run.is_(False)  # in the indexes below, after status
    if workflow_id is not None:
        # The owner is checked on the workflow, so the count reads the workflow's index only.
        owned = select(Workflow.id).where(Workflow.id == workflow_id, Workflow.user_id == owner_id)
        return [Execution.workflow_id == owned.scalar_subquery(), real]
    return [Execution.user_id == owner_id, real]


def _hour_of(session: Session) -> ColumnElement[Any]:
    """created_at truncated to its UTC hour, in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", Execution.created_at, "UTC")
    return func.strftime("%Y-%m-%dT%H:00:00", Execution.created_at)


def _as_hour(value: datetime | str) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def status_counts(
    session: Session, owner_id: int, since: datetime, workflow_id: int | None = None
) -> Counts:
    """Executions created since `since`, by status."""
    rows = session.execute(
        select(Execution.status, func.count())
        .where(*_scope(owner_id, workflow_id), Execution.created_at >= since)
        .group_by(Execution.status)
    ).all()
    by_status = _empty()
    for status, count in rows:
        by_status[status] = by_status.get(status, 0) + count
    return Counts(by_status, since)


def hourly(
    session: Session, owner_id: int, now: datetime, workflow_id: int | None = None
) -> list[HourBucket]:
    """The last 24 hours, oldest first; the last bucket is the current (partial) hour."""
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=HOURS - 1)
    hour = _hour_of(session).label("hour")
    rows = session.execute(
        select(hour, Execution.status, func.count())
        .where(*_scope(owner_id, workflow_id), Execution.created_at >= first)
        .group_by(hour, Execution.status)
    ).all()
    buckets = {first + timedelta(hours=n): _empty() for n in range(HOURS)}
    for value, status, count in rows:
        bucket = buckets.get(_as_hour(value))
        if bucket is not None:
            bucket[status] = bucket.get(status, 0) + count
    return [HourBucket(start, by_status) for start, by_status in buckets.items()]


def activity(
    session: Session,
    owner_id: int,
    *,
    workflow_id: int | None = None,
    now: datetime | None = None,
) -> Activity:
    """The figures the executions page shows above its list (two indexed range scans)."""
    now = now or utcnow()
    hours = hourly(session, owner_id, now, workflow_id)
    # The day's counts are the chart's buckets summed (23 to 24 hours): one scan serves both.
    day = _empty()
    for bucket in hours:
        for status, count in bucket.by_status.items():
            day[status] += count
    week = status_counts(session, owner_id, now - timedelta(days=7), workflow_id)
    return Activity(hours, Counts(day, hours[0].start), week)
