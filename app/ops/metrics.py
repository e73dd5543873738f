"""Prometheus figures, read from the database at scrape time.

Why the database rather than counters: it is the source of truth that every process (web,
any number of workers on any host, the scheduler) already writes, so the figures are the
same whichever web process is scraped, survive restarts, and cost the runner's hot path
nothing. To stay cheap they cover a recent window (METRICS_WINDOW_SECONDS, 5 minutes by
default) and are read through indexes: executions by (status, updated_at), their steps by
(execution_id, position). Hence gauges over the window, not ever-growing counters:
`stepline_executions_finished{status="failed"}` is "failed in the last 5 minutes".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from app.models import Execution, ExecutionStatus, ExecutionStep, StepStatus
from app.models.base import utcnow
from app.settings import Settings

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUSES = tuple(status.value for status in ExecutionStatus)
# Step durations, in seconds (the last bucket, +Inf, is implied).
BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True)
class Durations:
    """One action type's step durations: cumulative counts per bucket, total, sum."""

    buckets: list[int]
    count: int
    total_seconds: float


@dataclass(frozen=True)
class Figures:
    window_seconds: float
    started: int
    finished: dict[str, int]
    completed_with_errors: int
    live: dict[str, int]
    overdue: int
    durations: dict[str, Durations]
    queue_depth: int | None
    waiting: dict[str, int] = field(default_factory=dict)  # waiting steps, by action type
    waits_overdue: int = 0  # waiting steps past their deadline, not timed out yet


def _count_by_status(session: Session, statuses: tuple[str, ...], *where: Any) -> dict[str, int]:
    """One indexed count per status (status = :s AND ...), sent as one UNION ALL."""
    parts = [
        select(literal(status).label("status"), func.count().label("n"))
        .select_from(Execution)
        .where(Execution.status == status, *where)
        for status in statuses
    ]
    rows = session.execute(union_all(*parts)).all()
    return {status: int(count) for status, count in rows}


def _seconds(session: Session) -> ColumnElement[Any]:
    """A step's duration (first attempt's start to its end) in the database's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", ExecutionStep.finished_at - ExecutionStep.started_at)
    days = func.julianday(ExecutionStep.finished_at) - func.julianday(ExecutionStep.started_at)
    return days * 86400.0


def step_durations(session: Session, since: datetime) -> dict[str, Durations]:
    """Steps finished since `since`, by action type. Every such step's execution was updated
    after it (record and advance share one transaction), so the executions updated in the
    window, found by index, bound the steps read."""
    seconds = _seconds(session)
    columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in BUCKETS]
    recent = select(Execution.id).where(
        Execution.status.in_(STATUSES), Execution.updated_at >= since
    )
    rows = session.execute(
        select(ExecutionStep.action_type, func.count(), func.sum(seconds), *columns)
        .where(
            ExecutionStep.execution_id.in_(recent),
            ExecutionStep.finished_at >= since,
            ExecutionStep.started_at.is_not(None),
        )
        .group_by(ExecutionStep.action_type)
    ).all()
    found: dict[str, Durations] = {}
    for action_type, count, total, *cumulative in rows:
        found[action_type] = Durations(
            [int(c or 0) for c in cumulative], int(count), max(float(total or 0), 0.0)
        )
    return found


def waiting_steps(session: Session, now: datetime) -> tuple[dict[str, int], int]:
    """Steps waiting (for a call, a decision, a child run, a time), by action type, and how
    many of them are past their deadline (the scheduler's timeout pass is behind). Both read
    the partial index of waiting steps only."""
    is_waiting = ExecutionStep.status == StepStatus.WAITING
    rows = session.execute(
        select(ExecutionStep.action_type, func.count())
        .where(is_waiting)
        .group_by(ExecutionStep.action_type)
    ).all()
    overdue = session.scalar(
        select(func.count())
        .select_from(ExecutionStep)
        .where(is_waiting, ExecutionStep.next_retry_at < now)
    )
    return {str(action_type): int(count) for action_type, count in rows}, int(overdue or 0)


def collect(
    session: Session,
    settings: Settings,
    queue_depth: Callable[[], int | None],
    now: datetime | None = None,
) -> Figures:
    """Read every figure once (a handful of indexed queries and one queue length)."""
    now = now or utcnow()
    window = settings.metrics_window_seconds
    since = now - timedelta(seconds=window)
    # Started and finished count real runs; live, overdue and durations are the workers' load,
    # dry runs included.
    in_window = and_(Execution.updated_at >= since, Execution.dry_run.is_(False))
    finished = _count_by_status(session, ExecutionStatus.FINAL, in_window)
    # Created in the window implies updated in it: the status index bounds the rows read.
    started = sum(
        _count_by_status(session, STATUSES, and_(in_window, Execution.created_at >= since)).values()
    )
    with_errors = session.scalar(
        select(func.count())
        .select_from(Execution)
        .where(Execution.status == ExecutionStatus.COMPLETED, in_window, Execution.has_errors)
    )
    live = _count_by_status(session, ExecutionStatus.LIVE)
    overdue = session.scalar(
        select(func.count())
        .select_from(Execution)
        .where(Execution.lease_expires_at < now, Execution.status.in_(ExecutionStatus.LIVE))
    )
    waiting, waits_overdue = waiting_steps(session, now)
    try:
        depth = queue_depth()
    except Exception:  # an unreachable broker shows as a missing gauge; /readyz says why
        depth = None
    return Figures(
        window,
        started,
        finished,
        int(with_errors or 0),
        live,
        int(overdue or 0),
        step_durations(session, since),
        depth,
        waiting,
        waits_overdue,
    )


class _Figures(Collector):
    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        window = f"in the last {f.window_seconds:g} s"
        yield GaugeMetricFamily(
            "stepline_metrics_window_seconds", "Window of the windowed figures.", f.window_seconds
        )
        yield GaugeMetricFamily(
            "stepline_executions_started", f"Executions created {window}.", f.started
        )
        finished = GaugeMetricFamily(
            "stepline_executions_finished", f"Executions that ended {window}.", labels=["status"]
        )
        for status in ExecutionStatus.FINAL:
            finished.add_metric([status], f.finished.get(status, 0))
        yield finished
        yield GaugeMetricFamily(
            "stepline_executions_completed_with_errors",
            f"Executions that completed {window} although a step that continues on error "
            'failed (also counted in stepline_executions_finished{status="completed"}).',
            f.completed_with_errors,
        )
        live = GaugeMetricFamily(
            "stepline_executions_live", "Executions not final, by status.", labels=["status"]
        )
        for status in ExecutionStatus.LIVE:
            live.add_metric([status], f.live.get(status, 0))
        yield live
        yield GaugeMetricFamily(
            "stepline_executions_waiting",
            "Executions suspended until a call, a decision, a child run or a time (also "
            'counted in stepline_executions_live{status="waiting"}).',
            f.live.get(ExecutionStatus.WAITING, 0),
        )
        waiting = GaugeMetricFamily(
            "stepline_steps_waiting",
            "Steps waiting for a call, a decision, a child run or a time, by action type.",
            labels=["type"],
        )
        for action_type, count in sorted(f.waiting.items()):
            waiting.add_metric([action_type], count)
        yield waiting
        yield GaugeMetricFamily(
            "stepline_waits_overdue",
            "Waiting steps past their deadline that the scheduler has not timed out yet (more "
            "than a few for long: the scheduler is down or behind).",
            f.waits_overdue,
        )
        yield GaugeMetricFamily(
            "stepline_executions_overdue",
            "Live executions past their lease (recovery re-sends them).",
            f.overdue,
        )
        histogram = HistogramMetricFamily(
            "stepline_step_duration_seconds",
            f"Duration of steps that ended {window}, first attempt to end, by action type.",
            labels=["type"],
        )
        for action_type, durations in sorted(f.durations.items()):
            buckets = [
                (f"{bound:g}", count)
                for bound, count in zip(BUCKETS, durations.buckets, strict=True)
            ]
            buckets.append(("+Inf", durations.count))
            histogram.add_metric([action_type], buckets, durations.total_seconds)
        yield histogram
        if f.queue_depth is not None:
            yield GaugeMetricFamily(
                "stepline_queue_depth", "Messages in the step queue.", f.queue_depth
            )


def exposition(figures: Figures) -> bytes:
    """The figures in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(figures))
    return generate_latest(registry)
