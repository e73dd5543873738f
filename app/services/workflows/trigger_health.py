"""Trigger health: a workflow may expect a run at least every N minutes (a webhook that a sender
should call daily, say); an enabled workflow past that with no run is overdue.

The expectation lives in the trigger's config (`expect_every_minutes`) and is mirrored into
`Trigger.expect_every_seconds` while the workflow is enabled, so that the overdue ones are
found with one query. The clock starts at the last run of the trigger's own kind, or at the
workflow's last change (enabling counts) when it has not run since. A trigger whose handler
reports a problem (`problem()`: a Google poll that keeps failing) is unhealthy too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.engine.registry import TriggerRegistry
from app.models import Execution, Trigger, Workflow
from app.models.base import utcnow


@dataclass(frozen=True)
class Health:
    """What a page shows about a workflow's trigger health."""

    expected_every: timedelta | None
    last_run_at: datetime | None
    overdue: bool
    message: str


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def _problem(trigger: Trigger | None, triggers: TriggerRegistry) -> str | None:
    if trigger is None or trigger.type not in triggers:
        return None
    return triggers.get(trigger.type).problem(trigger)


def _assess(
    workflow: Workflow, last_run_at: datetime | None, now: datetime, triggers: TriggerRegistry
) -> Health:
    trigger = workflow.trigger
    every = trigger.expect_every_seconds if trigger is not None else None
    problem = _problem(trigger, triggers) if workflow.enabled else None
    if problem:  # the trigger itself reports why it cannot fire (a stalled poll, say)
        return Health(timedelta(seconds=every) if every else None, last_run_at, True, problem)
    if not workflow.enabled or not every:
        return Health(None, last_run_at, False, "")
    expected = timedelta(seconds=every)
    since = max(last_run_at, workflow.updated_at) if last_run_at else workflow.updated_at
    if now - since <= expected:
        return Health(expected, last_run_at, False, "")
    quiet = "No run" if last_run_at is None else f"No run for {_duration(now - last_run_at)}"
    message = f"{quiet}; expected at least every {_duration(expected)}."
    return Health(expected, last_run_at, True, message)


def _last_runs(session: Session, workflows: Iterable[Workflow]) -> dict[int, datetime]:
    """Each workflow's last run started by its trigger (a backward index scan per workflow)."""
    ids = [w.id for w in workflows]
    if not ids:
        return {}
    latest = (
        select(Execution.created_at)
        .where(Execution.workflow_id == Workflow.id, Execution.trigger_type == Trigger.type)
        .order_by(Execution.created_at.desc())
        .limit(1)
        .correlate(Workflow, Trigger)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Workflow.id, latest)
        .join(Trigger, Trigger.workflow_id == Workflow.id)
        .where(Workflow.id.in_(ids))
    ).all()
    return {workflow_id: at for workflow_id, at in rows if at is not None}


def health(
    session: Session, workflow: Workflow, triggers: TriggerRegistry, now: datetime | None = None
) -> Health:
    """The workflow's trigger health (for its page and the workflow list)."""
    return health_of(session, [workflow], triggers, now)[workflow.id]


def health_of(
    session: Session,
    workflows: Iterable[Workflow],
    triggers: TriggerRegistry,
    now: datetime | None = None,
) -> dict[int, Health]:
    """Health of several workflows with one query (a list page): workflow id → Health."""
    listed = list(workflows)
    last = _last_runs(session, [w for w in listed if w.enabled])
    moment = now or utcnow()
    return {w.id: _assess(w, last.get(w.id), moment, triggers) for w in listed}


def overdue(
    session: Session, owner_id: int, triggers: TriggerRegistry, now: datetime | None = None
) -> list[Workflow]:
    """The user's enabled workflows that are overdue or whose trigger reports a problem (the
    health section), oldest id first."""
    polling = [handler.type for handler in triggers if handler.polling]
    watched = session.scalars(
        select(Workflow)
        .join(Workflow.trigger)
        .where(
            Workflow.user_id == owner_id,
            Workflow.enabled.is_(True),
            or_(Trigger.expect_every_seconds.is_not(None), Trigger.type.in_(polling)),
        )
        .options(selectinload(Workflow.trigger))
        .order_by(Workflow.id)
    ).all()
    assessed = health_of(session, watched, triggers, now)
    return [w for w in watched if assessed[w.id].overdue]
