"""Bulk re-run: the failed executions matching a dashboard filter, counted, confirmed, re-run.

Only failures that have not been re-run yet are candidates, so confirming twice (a double
click, a second tab) re-runs each failure once, and a large set can be worked through in
batches of BULK_LIMIT. The confirmation names the newest execution it counted (`up_to`):
failures that arrive after the user read the count are not part of what they confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, aliased

from app.engine.runner import Send
from app.models import Execution, Workflow
from app.services.executions import lifecycle as execution_service
from app.services.executions.queries import NEWEST_FIRST, DashboardFilter
from app.services.workflows.crud import get_workflow
from app.settings import Settings

BULK_LIMIT = 500


@dataclass(frozen=True)
class BulkPlan:
    """What a confirmation shows: how many failures would be re-run, up to which id."""

    count: int
    up_to: int | None
    more: bool  # over BULK_LIMIT: this batch re-runs the oldest BULK_LIMIT of them


def _not_rerun() -> Any:
    rerun = aliased(Execution)
    return ~exists().where(rerun.rerun_of_id == Execution.id)


def _already_rerun(session: Session, execution_id: int) -> bool:
    rerun = select(Execution.id).where(Execution.rerun_of_id == execution_id).limit(1)
    return session.scalar(rerun) is not None


def _candidates(owner_id: int, filter: DashboardFilter, up_to: int) -> Select[int, int]:
    stmt = select(Execution.id, Execution.workflow_id)
    # Failed dry runs are not re-run in bulk (a re-run of one is a dry run again; their own
    # page re-runs them one by one).
    return filter.apply(stmt, owner_id).where(
        Execution.status == "failed",
        Execution.id <= up_to,
        Execution.dry_run.is_(False),
        _not_rerun(),
    )


def plan(session: Session, owner_id: int, filter: DashboardFilter) -> BulkPlan:
    """Count the failures a bulk re-run of `filter` would re-run now (up to BULK_LIMIT + 1)."""
    newest = session.scalar(
        filter.apply(select(Execution.id), owner_id).order_by(*NEWEST_FIRST).limit(1)
    )
    if newest is None:
        return BulkPlan(0, None, False)
    capped = _candidates(owner_id, filter, newest).limit(BULK_LIMIT + 1).subquery()
    count = session.scalar(select(func.count()).select_from(capped)) or 0
    return BulkPlan(min(count, BULK_LIMIT), newest, count > BULK_LIMIT)


def rerun_failed(
    session: Session,
    owner_id: int,
    filter: DashboardFilter,
    *,
    up_to: int,
    from_failed: bool,
    send: Send,
    settings: Settings,
) -> list[int]:
    """Re-run the confirmed failures (oldest first, at most BULK_LIMIT); return the new ids.

    Each re-run is its own transaction (services.executions.lifecycle.rerun commits and enqueues).
    A candidate is locked and checked again first, so two concurrent bulk re-runs never
    re-run one failure twice (PostgreSQL; SQLite serialises writers anyway)."""
    candidates = session.execute(
        _candidates(owner_id, filter, up_to)
        .order_by(Execution.created_at, Execution.id)
        .limit(BULK_LIMIT)
    ).all()
    session.rollback()
    workflows: dict[int, Workflow] = {}
    started: list[int] = []
    for execution_id, workflow_id in candidates:
        execution = session.scalar(
            select(Execution)
            .where(Execution.id == execution_id, Execution.status == "failed")
            .with_for_update()
        )
        # A statement of its own after the lock: it sees a re-run committed meanwhile.
        if execution is None or _already_rerun(session, execution_id):
            session.rollback()
            continue
        if workflow_id not in workflows:
            workflows[workflow_id] = get_workflow(session, workflow_id, owner_id)
        new = execution_service.rerun(
            session,
            execution,
            workflows[workflow_id],
            send=send,
            settings=settings,
            from_failed=from_failed,
        )
        started.append(new.id)
    return started
