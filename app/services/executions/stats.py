"""Dashboard figures: executions by status over the last 24 hours and 7 days, and per hour.

Each figure counts only the rows inside its created_at window, read through the covering
(user_id | workflow_id, created_at, id, status) indexes: never a COUNT(*) over the whole
table. The list polls them with its live rows, so what a poll counts again is bounded: the
current hour, and the rows that were still live when the earlier hours were counted.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, event, func, select
from sqlalchemy.orm import Session

from app.models import Execution, ExecutionStatus, Workflow
from app.models.base import utcnow
from app.services.executions.queries import id_among

HOURS = 24
WEEK_DAYS = 7
MAX_AGE = 300.0  # seconds a settled count is trusted (deletions are the only thing it misses)
DELETING = ("EXECUTIONS", "WORKFLOWS", "USERS")  # a DELETE from these drops executions
LIVE_LIMIT = 1000  # live rows re-read by id at most; beyond, the settled count is not kept
STATUSES = tuple(status.value for status in ExecutionStatus)
FINAL = tuple(status.value for status in ExecutionStatus.FINAL)
LIVE = tuple(status.value for status in ExecutionStatus.LIVE)


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

    @property
    def digest(self) -> str:
        """A short fingerprint of every figure: a page showing these sends it back with its
        poll, and is answered without them while they have not changed."""
        figures = [(b.start.isoformat(), sorted(b.by_status.items())) for b in self.hours]
        figures.append((self.week.since.isoformat(), sorted(self.week.by_status.items())))
        return hashlib.blake2b(repr(figures).encode(), digest_size=8).hexdigest()


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


def _counts(session: Session, *where: ColumnElement[bool]) -> dict[str, int]:
    """Executions by status among the rows `where` selects (every status present)."""
    by_status = _empty()
    stmt = select(Execution.status, func.count()).where(*where).group_by(Execution.status)
    for status, count in session.execute(stmt):
        by_status[status] = by_status.get(status, 0) + count
    return by_status


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Settled:
    """The figures of the rows created before `until` (the current hour's start) in the 7-day
    window: final rows counted (they never change status again), live ones kept as ids and
    creation hours, to be read again each time (they are few)."""

    until: datetime
    hours: dict[datetime, dict[str, int]]
    week: dict[str, int]
    live: tuple[tuple[int, datetime], ...]
    made: float = field(default_factory=time.monotonic)


def settle(
    session: Session, owner_id: int, until: datetime, workflow_id: int | None = None
) -> Settled:
    """Count the rows created in [until - 7 days, until): the expensive part of the figures
    (three range scans of the covering index), which `FiguresCache` keeps."""
    first = until - timedelta(hours=HOURS - 1)
    week_since = first - timedelta(days=WEEK_DAYS - 1)
    scope = [*_scope(owner_id, workflow_id), Execution.created_at < until]
    final = Execution.status.in_(FINAL)
    hour = _hour_of(session).label("hour")
    hours = {first + timedelta(hours=n): _empty() for n in range(HOURS - 1)}
    rows = session.execute(
        select(hour, Execution.status, func.count())
        .where(*scope, Execution.created_at >= first, final)
        .group_by(hour, Execution.status)
    )
    for value, status, count in rows:
        bucket = hours.get(_as_hour(value))
        if bucket is not None:
            bucket[status] = bucket.get(status, 0) + count
    week = _counts(session, *scope, Execution.created_at >= week_since, final)
    live = session.execute(
        select(Execution.id, Execution.created_at).where(
            *scope,
            Execution.created_at >= week_since,
            Execution.status.in_(LIVE),
        )
    ).all()
    return Settled(
        until, hours, week, tuple((row.id, _hour_floor(_as_hour(row.created_at))) for row in live)
    )


class FiguresCache:
    """Settled figures per (owner, workflow), each kept for one hour at most (the boundary
    moves every hour) and `max_age` seconds (rows deleted meanwhile, by retention or with
    their workflow, would otherwise still count). One per app; thread-safe."""

    def __init__(self, max_age: float = MAX_AGE, size: int = 512) -> None:
        self.max_age = max_age
        self.size = size
        self._entries: dict[tuple[int, int | None], Settled] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int | None], until: datetime) -> Settled | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry.until != until or time.monotonic() - entry.made > self.max_age:
            return None
        return entry

    def put(self, key: tuple[int, int | None], entry: Settled) -> None:
        if len(entry.live) > LIVE_LIMIT:
            return  # too many live rows to read again by id: count them afresh each time
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = entry
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def watch(self, engine: Engine) -> None:
        """Forget everything when `engine` deletes executions (retention, a workflow or an
        account deleted): deleted rows are the one change settled figures cannot see. A
        deletion by another process is seen within `max_age`."""
        event.listen(engine, "before_cursor_execute", self._on_statement)

    def _on_statement(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        head = statement.lstrip()[:60].upper()
        if head.startswith("DELETE") and any(table in head for table in DELETING):
            self.clear()


def activity(
    session: Session,
    owner_id: int,
    *,
    workflow_id: int | None = None,
    now: datetime | None = None,
    cache: FiguresCache | None = None,
) -> Activity:
    """The figures the executions page shows above its list, exact at every call.

    The windows start on an hour (the day: the current hour and the 23 before it; the week:
    the day and the 6 days before it), so the rows created before the current hour only
    change by their live ones finishing: their final rows come from `cache` (computed
    again each hour), the live ones are read by id, and the current hour is counted afresh
    (one short range scan of the index). Without a cache, everything is counted here."""
    current = _hour_floor(now or utcnow())
    key = (owner_id, workflow_id)
    settled = cache.get(key, current) if cache is not None else None
    if settled is None:
        settled = settle(session, owner_id, current, workflow_id)
        if cache is not None:
            cache.put(key, settled)
    hours = {start: dict(by_status) for start, by_status in settled.hours.items()}
    week = dict(settled.week)
    now_hour = _counts(session, *_scope(owner_id, workflow_id), Execution.created_at >= current)
    hours[current] = now_hour
    ids = [execution_id for execution_id, _ in settled.live]
    statuses: dict[int, str] = {}
    if ids:
        stmt = select(Execution.id, Execution.status).where(
            id_among(session, ids), Execution.user_id == owner_id
        )
        statuses = {row.id: row.status for row in session.execute(stmt)}
    for execution_id, created_hour in settled.live:
        status = statuses.get(execution_id)
        if status is None:
            continue  # deleted meanwhile
        week[status] = week.get(status, 0) + 1
        if created_hour in hours:
            hours[created_hour][status] = hours[created_hour].get(status, 0) + 1
    for status, count in now_hour.items():
        week[status] = week.get(status, 0) + count
    buckets = [HourBucket(start, hours[start]) for start in sorted(hours)]
    day = _empty()
    for bucket in buckets:
        for status, count in bucket.by_status.items():
            day[status] = day.get(status, 0) + count
    week_since = buckets[0].start - timedelta(days=WEEK_DAYS - 1)
    return Activity(buckets, Counts(day, buckets[0].start), Counts(week, week_since))
