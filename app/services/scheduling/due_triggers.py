"""Claiming due triggers so that several schedulers never handle one twice.

A trigger is due when its workflow is enabled and `next_run_at` has passed. On PostgreSQL a
scheduler locks the row it takes (`FOR UPDATE SKIP LOCKED`, so others move on to other rows);
on SQLite, where writers are serialized anyway, the claim is the conditional UPDATE that moves
`next_run_at` from the value the scheduler read. Either way the move commits with whatever the
scheduler does for the trigger, or not at all.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import Trigger, Workflow
from app.models.base import rowcount


@dataclass(frozen=True)
class Due:
    """A due trigger as the claim read it."""

    trigger_id: int
    workflow_id: int
    type: str
    config: dict[str, Any]
    next_run_at: datetime


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def next_due(
    session: Session, now: datetime, types: Collection[str], skip: Collection[int] = ()
) -> Due | None:
    """The most overdue trigger of `types` (locked on PostgreSQL until the transaction ends)."""
    due = (
        select(Trigger.id, Trigger.workflow_id, Trigger.type, Trigger.config, Trigger.next_run_at)
        .join(Workflow, Workflow.id == Trigger.workflow_id)
        .where(
            Trigger.type.in_(types),
            Trigger.next_run_at <= now,
            Workflow.enabled.is_(True),
        )
        .order_by(Trigger.next_run_at)
        .limit(1)
    )
    if skip:
        due = due.where(Trigger.id.not_in(skip))
    if _postgresql(session):
        due = due.with_for_update(of=Trigger, skip_locked=True)
    row = session.execute(due).first()
    if row is None:
        session.rollback()
        return None
    return Due(row.id, row.workflow_id, row.type, dict(row.config), row.next_run_at)


def advance(session: Session, due: Due, next_run_at: datetime | None) -> bool:
    """Move the trigger's `next_run_at` on, if no other scheduler did first; True when ours."""
    moved = session.execute(
        update(Trigger)
        .where(Trigger.id == due.trigger_id, Trigger.next_run_at == due.next_run_at)
        .values(next_run_at=next_run_at)
    )
    if rowcount(moved) != 1:
        session.rollback()
        return False
    return True


def lock_trigger(session: Session, trigger_id: int) -> None:
    """Serialize work on one trigger across schedulers (PostgreSQL; SQLite's first write in a
    transaction takes the database's write lock instead)."""
    if _postgresql(session):
        session.execute(select(Trigger.id).where(Trigger.id == trigger_id).with_for_update())
